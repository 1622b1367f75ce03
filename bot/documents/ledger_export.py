"""企业诉求台账 export: the .xlsx the office fills in, streamed with openpyxl's write-only mode.

This module owns the ledger file's layout: the ledger sheet (grey, locked bot columns; yellow, unlocked
admin columns with dropdowns), a hidden sheet of unit names for the dropdowns, and a very-hidden sheet
holding, per case number, a digest of each exported cell, which ledger_import.py compares against. It
also has the fast write-only cell helpers that publish.py shares (through ledger.py).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Iterable

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from .rows import LEDGER_COLUMNS, LedgerColumn, LedgerRow, clean_text

OUTCOMES = ("当场解决", "交办", "解释说明")
SHEET_TITLE = "企业诉求台账"
LISTS_SHEET = "_下拉选项"  # hidden: unit names for the dropdowns (an inline list is capped at 255 chars)
BASELINE_SHEET = "_导出核对"  # very hidden: case number -> digests of the exported cells
CO_SEPARATOR = "、"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MAX_CELL = 32767  # Excel's limit on the characters of one cell
_BOT_FILL = PatternFill("solid", start_color="E7E6E6", end_color="E7E6E6")
_ADMIN_FILL = PatternFill("solid", start_color="FFF2CC", end_color="FFF2CC")
_THIN = Side(style="thin", color="808080")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
DATE_FORMAT = 'yyyy"年"m"月"d"日"'  # 2027年1月22日, as every document writes a date


# ---------------------------------------------------------------- cells shared with publish.py

def text_cell(ws, value: object, style=None, risky_style=None):
    """A string cell that is never a formula: data type 's' set directly, bypassing openpyxl's '=' check.

    Text that a spreadsheet would take for a formula also gets the quote-prefix style, so it stays text
    when the clerk edits the cell in Excel or WPS.
    """
    text = clean_text(value)[:_MAX_CELL]
    cell = WriteOnlyCell(ws)
    if risky_style is not None and text.startswith(_FORMULA_START):
        cell._style = risky_style
    elif style is not None:
        cell._style = style
    cell._value = text
    cell.data_type = "s"
    return cell


def place_cells(cells, row_idx):
    """Stand-in for WriteOnlyWorksheet._values_to_row when a row holds only ready cells or None.

    openpyxl's own version first tries `cell.value = <Cell>` and pays for a ValueError (with a repr)
    plus a fresh cell per styled value: about half of the export time for 10,000 rows.
    """
    for col_idx, cell in enumerate(cells, 1):
        if cell is not None:
            cell.column = col_idx
            cell.row = row_idx
            yield cell


def fast_sheet(wb, title: str):
    sheet = wb.create_sheet(title)
    sheet._values_to_row = place_cells  # openpyxl 3.1 calls it per appended row
    return sheet


def style_of(ws, **attrs):
    """Register a style once and return its StyleArray, so each cell only shares it (fast path)."""
    cell = WriteOnlyCell(ws)
    for name, value in attrs.items():
        setattr(cell, name, value)
    return cell._style if cell._style is not None else StyleArray()


def quoted(style):
    """The same style with Excel's quotePrefix flag (text that looks like a formula)."""
    risky = style.__copy__()
    risky.quotePrefix = 1
    return risky


# ---------------------------------------------------------------- export

def export_ledger(rows: Iterable[LedgerRow], out_path: Path, *, unit_names: list[str],
                  outcome_choices: tuple[str, ...] = OUTCOMES, session_labels: list[str] = (),
                  author: str = "") -> int:
    """Stream the ledger to out_path; return the number of cases written. `session_labels` fill
    the 接待场次 dropdown; `author` (the office) goes into the file's properties."""
    wb = Workbook(write_only=True)
    set_properties(wb, SHEET_TITLE, author)
    ws = fast_sheet(wb, SHEET_TITLE)
    lists = fast_sheet(wb, LISTS_SHEET)
    lists.sheet_state = "hidden"
    baseline = fast_sheet(wb, BASELINE_SHEET)
    baseline.sheet_state = "veryHidden"
    _lay_out(ws)
    styles = _ColumnStyles(ws)
    ws.append([text_cell(ws, c.header, styles.header[i]) for i, c in enumerate(LEDGER_COLUMNS)])
    baseline.append([text_cell(baseline, "编号"), text_cell(baseline, "digests")])
    count = 0
    for row in rows:
        texts = [_display(c, getattr(row, c.attr)) for c in LEDGER_COLUMNS]
        ws.append(_data_cells(ws, row, texts, styles))
        baseline.append([text_cell(baseline, texts[0]), text_cell(baseline, _digests(texts))])
        count += 1
    last_row = count + 1
    ws.auto_filter.ref = f"A1:{get_column_letter(len(LEDGER_COLUMNS))}{last_row}"
    _add_validations(ws, lists, unit_names, list(session_labels), outcome_choices, last_row)
    _protect(ws)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out_path)
    return count


def _lay_out(ws) -> None:
    # Column widths, styles and panes go into the sheet header, so they must be set before the first
    # row. The column style covers the cells left empty (they are not written at all) and rows a
    # clerk adds: grey and locked for the bot's columns, yellow and unlocked for the admin's.
    for index, column in enumerate(LEDGER_COLUMNS, 1):
        dimension = ws.column_dimensions[get_column_letter(index)]
        dimension.width = column.width
        dimension.fill = _ADMIN_FILL if column.admin else _BOT_FILL
        dimension.protection = Protection(locked=not column.admin)
    ws.freeze_panes = "B2"  # header row and the case number stay visible
    # Printed: landscape A4, as wide as the page, the header row on every page.
    ws.page_setup.orientation, ws.page_setup.paperSize = "landscape", "9"  # 9: A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    ws.print_options.horizontalCentered = True


def set_properties(wb, title: str, author: str) -> None:
    """Document properties name the office, not the library that wrote the file."""
    wb.properties.creator = wb.properties.lastModifiedBy = author or title
    wb.properties.title = title


class _ColumnStyles:
    """One registered style per column (header, data, data-that-looks-like-a-formula)."""

    def __init__(self, ws):
        self.header, self.data, self.risky = [], [], []
        for column in LEDGER_COLUMNS:
            fill = _ADMIN_FILL if column.admin else _BOT_FILL
            self.header.append(style_of(ws, font=Font(bold=True), fill=fill, border=_BORDER, alignment=Alignment(
                horizontal="center", vertical="center", wrap_text=True)))
            data = style_of(
                ws, fill=fill, border=_BORDER,
                alignment=Alignment(vertical="top", wrap_text=column.kind in ("long", "list")),
                protection=Protection(locked=not column.admin),
                number_format=DATE_FORMAT if column.kind == "date" else "General")
            self.data.append(data)
            self.risky.append(quoted(data))


def _data_cells(ws, row: LedgerRow, texts: list[str], styles: _ColumnStyles) -> list:
    cells = []
    for index, (column, text) in enumerate(zip(LEDGER_COLUMNS, texts)):
        if column.kind == "date" and text:
            cell = WriteOnlyCell(ws)
            cell._style = styles.data[index]
            cell.value = getattr(row, column.attr)  # a real date, shown as yyyy-mm-dd
        elif text:
            cell = text_cell(ws, text, styles.data[index], styles.risky[index])
        elif column.admin:
            # An empty admin cell is still written, unlocked, so no spreadsheet program has to rely
            # on the column style to let the clerk type there. Empty bot cells are skipped (faster).
            cell = WriteOnlyCell(ws)
            cell._style = styles.data[index]
        else:
            cell = None
        cells.append(cell)
    return cells


def _display(column: LedgerColumn, value) -> str:
    """The text of a LedgerRow value in its column (a date's ISO text is what its cell reads back as)."""
    if value is None:
        return ""
    if column.kind == "list":
        return CO_SEPARATOR.join(clean_text(v) for v in value)
    if column.kind == "bool":
        return "是" if value else "否"
    if isinstance(value, date):
        return value.isoformat()
    return clean_text(value)


def _add_validations(ws, lists, unit_names: list[str], session_labels: list[str],
                     outcomes: tuple[str, ...], last_row: int) -> None:
    # Column A of the hidden sheet holds the unit names, column B the sessions.
    for index in range(max(len(unit_names), len(session_labels))):
        lists.append([text_cell(lists, values[index]) if index < len(values) else None
                      for values in (unit_names, session_labels)])
    units_ref = f"'{LISTS_SHEET}'!$A$1:$A${max(len(unit_names), 1)}"
    sessions_ref = f"'{LISTS_SHEET}'!$B$1:$B${max(len(session_labels), 1)}"
    rules = {
        "接待场次": _dropdown(sessions_ref, "企业参加接待的场次；改选其他场次即把该诉求列入所选场次，并通知企业"),
        "回访": _dropdown(None, "填写回访情况（不超过200字），导入后记入该诉求", strict=False),
        "现场结果": _dropdown(",".join(outcomes), "请从下拉列表中选择：" + "、".join(outcomes)),
        "承办单位": _dropdown(units_ref, "请从下拉列表中选择一个承办单位"),
        # A dropdown holds one value; several co-units are typed, separated by 、, so no error alert.
        "协办单位": _dropdown(units_ref, "可从下拉列表选择；多个协办单位请用“、”分隔", strict=False),
        "长期整改": _dropdown("是,否", "长期整改问题按“十日一报”报送进展，请选择“是”或“否”"),
    }
    for index, column in enumerate(LEDGER_COLUMNS, 1):
        rule = rules.get(column.header)
        if rule is not None:
            letter = get_column_letter(index)
            rule.add(f"{letter}2:{letter}{max(last_row, 2)}")
            ws.data_validations.append(rule)


def _dropdown(source: str | None, prompt: str, strict: bool = True) -> DataValidation:
    if source is None:  # a prompt only: any text
        return DataValidation(type=None, allow_blank=True, showInputMessage=True, promptTitle="填写说明",
                              prompt=prompt, showErrorMessage=False)
    formula = source if source.startswith("'") else f'"{source}"'
    return DataValidation(type="list", formula1=formula, allow_blank=True, showDropDown=False,
                          showInputMessage=True, promptTitle="填写说明", prompt=prompt,
                          showErrorMessage=strict, errorTitle="输入有误",
                          error="请从下拉列表中选择" if strict else None)


def _protect(ws) -> None:
    # No password: protection marks the bot's columns, it is not a security boundary (the import
    # ignores edits to them anyway). Filtering, sorting and resizing stay allowed.
    ws.protection.sheet = True
    ws.protection.autoFilter = False
    ws.protection.sort = False
    ws.protection.formatColumns = False
    ws.protection.formatRows = False


def cell_digest(text: str) -> str:
    # Normalised the way ledger_import reads a cell (_cell_text), so an untouched cell always compares equal.
    text = text[:_MAX_CELL].replace("\r\n", "\n").strip()
    return hashlib.blake2b(text.encode("utf-8"), digest_size=6).hexdigest()


def _digests(texts: list[str]) -> str:
    values = {c.header: cell_digest(t) for c, t in zip(LEDGER_COLUMNS[1:], texts[1:])}
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))
