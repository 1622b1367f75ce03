"""Reading the registration form from a workbook (.xlsx, and .xlsm read as data: macros never run).

openpyxl in read-only mode streams the sheet (bounded memory on a 10,000-row sheet) and gives cached
values of formulas (`data_only`); it trusts the sheet's `<dimension>`, which WPS writes as `A1:A1`, so
the dimensions are reset before reading. Merged cells need no work: the top-left cell holds the value
and the others read as empty, which the value search skips.
"""

from __future__ import annotations

import io
import warnings

from bot.errors import FormUnreadable
from bot.forms.budget import FormBudget, budget_for
from bot.forms.labels import Grid, find_values, label_hits
from bot.forms.normalize import cell_text
from bot.forms.safezip import CORRUPT_DETAIL
from bot.forms.textguard import MAX_CELL

MAX_COLUMNS = 64  # a form is a few columns wide; ignore whatever sits far to the right
MAX_SHEETS = 50


def read_xlsx(stored: bytes, *, max_rows: int = 20000, budget: FormBudget | None = None) -> dict[str, str]:
    """Raw label values of the sheet that holds the form (the one with the most labels)."""
    return best_sheet_values(sheet_grids(stored, max_rows=max_rows, budget=budget))


def best_sheet_values(grids: list[Grid]) -> dict[str, str]:
    """The values of the grid with the most labels (the form may not be the first sheet)."""
    sheets = [(grid, label_hits(grid)) for grid in grids]
    grid, hits = max(sheets, key=lambda sheet: len(sheet[1]), default=([], {}))
    return find_values(grid, hits)


def sheet_grids(stored: bytes, *, max_rows: int, budget: FormBudget | None = None) -> list[Grid]:
    """Every worksheet as rows of cell texts; `stored` is a zip already checked by safezip."""
    budget = budget_for(budget)
    workbook = _load(stored)
    try:
        return [_grid(sheet, max_rows, budget) for sheet in workbook.worksheets[:MAX_SHEETS]]
    except FormUnreadable:
        raise
    except Exception:  # a malformed sheet part surfaces as anything from ParseError to KeyError
        raise FormUnreadable("corrupt", CORRUPT_DETAIL) from None
    finally:
        workbook.close()


def _load(stored: bytes):
    from openpyxl import load_workbook  # deferred: openpyxl takes ~100 ms to import

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Data Validation extension not supported" and the like
            return load_workbook(io.BytesIO(stored), read_only=True, data_only=True,
                                 keep_links=False, keep_vba=False)
    except Exception:  # openpyxl raises anything from KeyError to its own InvalidFileException
        raise FormUnreadable("corrupt", CORRUPT_DETAIL) from None


def _grid(sheet, max_rows: int, budget: FormBudget) -> Grid:
    # WPS writes <dimension ref="A1:A1">, and read-only iteration without bounds stops there; we
    # pass explicit bounds too, which also caps a hostile sheet at max_rows x MAX_COLUMNS
    sheet.reset_dimensions()
    grid: Grid = []
    rows = sheet.iter_rows(min_row=1, max_row=max_rows, max_col=MAX_COLUMNS, values_only=True)
    for values in rows:
        grid.append(bounded_row(values, budget))
    return grid


def bounded_row(values, budget: FormBudget) -> list[str]:
    """A row of cell texts, each cut to MAX_CELL, charged to the mail's cell and text budget.

    Thousands of cells may point at one long shared string: the cut comes before any copy is made.
    """
    row = []
    for value in values:
        if value is None:
            row.append("")
            continue
        text = value[:MAX_CELL] if isinstance(value, str) else cell_text(value)[:MAX_CELL]
        text = text.strip()
        budget.spend_cells()
        budget.spend_text(len(text))
        row.append(text)
    while row and not row[-1]:
        row.pop()
    return row
