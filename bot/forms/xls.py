"""Reading the form from a legacy workbook: Excel 97-2003 `.xls` and WPS `.et` (both BIFF8 in OLE).

xlrd is pure Python and decodes BIFF strings (UTF-16 or the workbook's code page, GBK for Chinese
WPS files) itself; nothing runs, so macros never do. With `formatting_info` it reports merged areas:
the value stays in the top-left cell and the other cells of the area are read as empty, exactly as
openpyxl gives an .xlsx. Sheets are read on demand, each bounded by rows, columns and the budget.
"""

from __future__ import annotations

from bot.errors import FormUnreadable
from bot.forms.budget import FormBudget
from bot.forms.labels import Grid
from bot.forms.safezip import CORRUPT_DETAIL, ENCRYPTED_DETAIL
from bot.forms.xlsx import MAX_COLUMNS, MAX_SHEETS, best_sheet_values, bounded_row

XL_CELL_DATE = 3


def read_xls(data: bytes, *, max_rows: int, budget: FormBudget) -> dict[str, str]:
    """Raw label values of the sheet holding the form."""
    return best_sheet_values(xls_grids(data, max_rows=max_rows, budget=budget))


def xls_grids(data: bytes, *, max_rows: int, budget: FormBudget) -> list[Grid]:
    book = _open(data)
    try:
        return [_grid(book, book.sheet_by_index(i), max_rows, budget)
                for i in range(min(book.nsheets, MAX_SHEETS))]
    except FormUnreadable:
        raise
    except Exception:  # xlrd raises anything from XLRDError to struct.error on a broken record
        raise FormUnreadable("corrupt", CORRUPT_DETAIL) from None
    finally:
        book.release_resources()


def _open(data: bytes):
    import xlrd  # deferred: only .xls attachments need it

    try:
        return xlrd.open_workbook(file_contents=data, formatting_info=True, on_demand=True,
                                  logfile=_Quiet(), ragged_rows=True)
    except xlrd.biffh.XLRDError as exc:
        if "encrypted" in str(exc).lower():
            raise FormUnreadable("encrypted", ENCRYPTED_DETAIL) from None
        raise FormUnreadable("corrupt", CORRUPT_DETAIL) from None
    except Exception:
        raise FormUnreadable("corrupt", CORRUPT_DETAIL) from None


def _grid(book, sheet, max_rows: int, budget: FormBudget) -> Grid:
    grid: Grid = []
    for r in range(min(sheet.nrows, max_rows)):
        cells = sheet.row_slice(r, 0, min(sheet.row_len(r), MAX_COLUMNS))
        grid.append(bounded_row([_value(book, cell) for cell in cells], budget))
    return grid


def _value(book, cell):
    if cell.ctype == XL_CELL_DATE:
        import xlrd

        try:
            return xlrd.xldate.xldate_as_datetime(cell.value, book.datemode)
        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
            return cell.value
    if cell.value == "":
        return None
    return cell.value


class _Quiet:
    """xlrd writes warnings about odd records to a log file; a hostile file could fill it."""

    def write(self, _text: str) -> None:
        pass
