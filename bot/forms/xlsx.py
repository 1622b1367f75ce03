"""Reading the registration form from a workbook (.xlsx, and .xlsm read as data: macros never run).

A form is read by calamine (python-calamine, Rust) when it is the size a form is; anything else is
streamed by openpyxl. calamine reads a form in ~0.3 ms, its checks included, where openpyxl takes
~3-7 ms (the largest single cost of reading a backlog), but it builds each sheet whole in memory:
a dense range from the first to the last cell, and a copy of a shared string for every cell that
names it. So it only gets workbooks whose sheets are small and stay within MAX_COLUMNS x FAST_ROWS
cells, whose shared strings times the cells that may name them stay small, and that hold nothing
it reads otherwise than openpyxl (error cells, which it reads as empty; shared strings kept
somewhere else than xl/sharedStrings.xml, which it does not look for). A number it cannot hold
exactly (an 18-digit credit code typed as a number), or any error of its own, sends the workbook
to openpyxl too. tests/test_forms_xlsx_fast.py holds both readers to the same grids. One known
difference is kept: the built-in Chinese date formats (numFmtId 27-36, 50-58, which Chinese Excel
and WPS write for 2024年3月18日) are dates to calamine and serial numbers to openpyxl; a form's date
reads the same either way when it is a whole day, since normalize_date takes a serial (a serial
with a time of day becomes a date only through calamine).

openpyxl in read-only mode streams the sheet (bounded memory on a 10,000-row sheet) and gives cached
values of formulas (`data_only`); it trusts the sheet's `<dimension>`, which WPS writes as `A1:A1`, so
the dimensions are reset before reading. Merged cells need no work in either reader: the top-left
cell holds the value and the others read as empty, which the value search skips.
"""

from __future__ import annotations

import io
import math
import re
import sys
import warnings
import zipfile
from contextlib import contextmanager

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
    sheets = fast_values(stored, max_rows)
    if sheets is not None:
        return [[bounded_row(row, budget) for row in rows] for rows in sheets]
    return _streamed_grids(stored, max_rows, budget)


def _streamed_grids(stored: bytes, max_rows: int, budget: FormBudget) -> list[Grid]:
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
    openpyxl = openpyxl_module()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Data Validation extension not supported" and the like
            return openpyxl.load_workbook(io.BytesIO(stored), read_only=True, data_only=True,
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


# -- the fast reader ---------------------------------------------------------------------------------

FAST_SHEET_BYTES = 2 * 2**20  # the worksheets' XML, together (a form's is 5-50 kB)
FAST_ROWS = 2000  # the last row a cell may be in (a form has ~40)
FAST_COPIES = 32 * 2**20  # bytes of shared-string copies calamine could make, at most
MIN_CELL_XML = 20  # bytes of the shortest cell that names a shared string: <c t="s"><v>0</v></c>
EXACT = 2**53  # a float this large may not be the number the sheet holds
SHARED_STRINGS = "xl/sharedstrings.xml"  # where calamine looks for them (case-insensitive)
WORKSHEETS = "xl/worksheets/"  # where calamine reads worksheets from (else it fails: openpyxl)

_CELL = re.compile(rb"<(?:[\w.-]+:)?c[\s/>]")
_CELL_REF = re.compile(rb"<(?:[\w.-]+:)?c(?=\s)[^>]*?\sr=[\"']([A-Za-z]{1,3})([0-9]{1,7})[\"']")
_ERROR_CELL = re.compile(rb"\st=[\"']e[\"']")
_OVERRIDE = re.compile(rb"<(?:[\w.-]+:)?Override\s[^>]*>")
_PART_NAME = re.compile(rb"\sPartName=[\"']([^\"']*)[\"']")


def fast_values(stored: bytes, max_rows: int) -> list[list[list]] | None:
    """Every worksheet's rows of raw values (None for an empty cell), read by calamine; None when
    the workbook is for openpyxl (see the module docstring)."""
    if not _fits_calamine(stored):
        return None
    try:
        return _calamine_sheets(stored, max_rows)
    except Exception:  # its own errors, or a value it cannot hold: openpyxl decides
        return None
    except BaseException as exc:  # a panic in the Rust code comes as pyo3's PanicException
        if type(exc).__name__ != "PanicException":
            raise
        return None


def _fits_calamine(stored: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(stored)) as package:
            infos = package.infolist()
            if not _shared_strings_where_calamine_looks(package):
                return False
            sheets = [i for i in infos if i.filename.lower().startswith(WORKSHEETS)]
            if sum(i.file_size for i in sheets) > FAST_SHEET_BYTES:
                return False
            shared = sum(i.file_size for i in infos if i.filename.lower() == SHARED_STRINGS)
            cells = 0
            for info in sheets:
                xml = package.read(info)
                if not _small_extent(xml):
                    return False
                cells += len(xml) // MIN_CELL_XML
            return cells * shared <= FAST_COPIES
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return False


def _shared_strings_where_calamine_looks(package: zipfile.ZipFile) -> bool:
    """openpyxl finds the shared strings by their content type, calamine only at one path: a
    workbook that keeps them elsewhere would lose its text (or read a stale part) in calamine."""
    try:
        types = package.read("[Content_Types].xml")
    except KeyError:
        return False
    for override in _OVERRIDE.findall(types):
        if b"sharedStrings+xml" in override:
            name = _PART_NAME.search(override)
            if name is None or name.group(1).lower() != b"/" + SHARED_STRINGS.encode():
                return False
    return True


def _small_extent(xml: bytes) -> bool:
    """Every cell names its place, inside MAX_COLUMNS x FAST_ROWS, and none is an error value.
    (calamine places a cell without `r` after the one before: left to openpyxl.)"""
    refs = _CELL_REF.findall(xml)
    if len(refs) != len(_CELL.findall(xml)) or _ERROR_CELL.search(xml):
        return False
    return all(int(row) <= FAST_ROWS and column_number(letters) <= MAX_COLUMNS for letters, row in refs)


def column_number(letters: bytes) -> int:
    """A column's number from its letters, either case (A is 1, Z 26, AA 27): what openpyxl's
    column_index_from_string gives for A to XFD, without importing openpyxl for it."""
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - 64
    return number


def openpyxl_module():
    """openpyxl, imported on first use: calamine reads the usual forms, so most workers never need
    it (~0.1 s of a worker's start). While it imports, numpy and PIL are hidden from it: it would
    load them only to accept numpy numbers as cell values and to load pictures, neither of which a
    read-only reader does (~14 MB less in a worker). Afterwards both import as usual (the OCR
    needs them)."""
    with _hidden("numpy", "PIL"):
        import openpyxl  # deferred: see above
    return openpyxl


@contextmanager
def _hidden(*names: str):
    """While inside, `import name` raises ImportError for each name not imported yet (a None entry
    in sys.modules); afterwards they import as usual."""
    hidden = [name for name in names if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


def _calamine_sheets(stored: bytes, max_rows: int) -> list[list[list]]:
    from python_calamine import CalamineWorkbook, SheetTypeEnum  # deferred, like openpyxl

    workbook = CalamineWorkbook.from_filelike(io.BytesIO(stored))
    try:
        kept = [i for i, meta in enumerate(workbook.sheets_metadata)
                if meta.typ == SheetTypeEnum.WorkSheet][:MAX_SHEETS]  # as openpyxl's worksheets
        return [[_row(values) for values in workbook.get_sheet_by_index(i)
                 .to_python(skip_empty_area=False, nrows=max_rows)] for i in kept]
    finally:
        workbook.close()


def _row(values: list) -> list:
    row = []
    for value in values[:MAX_COLUMNS]:
        if value == "":
            value = None  # calamine's empty cell
        elif isinstance(value, float) and (abs(value) >= EXACT or not math.isfinite(value)):
            raise ValueError("a number calamine may not hold exactly")
        row.append(value)
    return row
