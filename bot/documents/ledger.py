"""企业诉求台账: export (openpyxl write-only, streamed) and import of the admin columns.

The office fills five columns after the reception (现场结果, 承办单位, 协办单位, 办理要求, 长期整改); every
other column belongs to the bot. The export hides a very-hidden sheet with, per case number, a digest of
each exported cell: the import compares against it to know which rows the clerk changed and which
bot-owned cells were edited (those are reported and ignored). Keyed by case number, so sorting, hiding
columns and adding columns do not matter; cells are found by header name, never by position.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Iterable

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation

from ..errors import InputError
from .rows import LEDGER_COLUMNS, LedgerColumn, LedgerEdit, LedgerImportResult, LedgerRow, clean_text

OUTCOMES = ("当场解决", "交办", "解释说明")
SHEET_TITLE = "企业诉求台账"
LISTS_SHEET = "_下拉选项"  # hidden: unit names for the dropdowns (an inline list is capped at 255 chars)
BASELINE_SHEET = "_导出核对"  # very hidden: case number -> digests of the exported cells
CO_SEPARATOR = "、"
_CO_SPLIT = re.compile(r"[、，,；;/\s]+")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MAX_CELL = 32767  # Excel's limit on the characters of one cell
_ADMIN = tuple(c for c in LEDGER_COLUMNS if c.admin)
_YES = ("是", "√", "✓")
_BOT_FILL = PatternFill("solid", start_color="E7E6E6", end_color="E7E6E6")
_ADMIN_FILL = PatternFill("solid", start_color="FFF2CC", end_color="FFF2CC")


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
                  outcome_choices: tuple[str, ...] = OUTCOMES) -> int:
    """Stream the ledger to out_path; return the number of cases written."""
    wb = Workbook(write_only=True)
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
    _add_validations(ws, lists, unit_names, outcome_choices, last_row)
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


class _ColumnStyles:
    """One registered style per column (header, data, data-that-looks-like-a-formula)."""

    def __init__(self, ws):
        self.header, self.data, self.risky = [], [], []
        for column in LEDGER_COLUMNS:
            fill = _ADMIN_FILL if column.admin else _BOT_FILL
            self.header.append(style_of(ws, font=Font(bold=True), fill=fill, alignment=Alignment(
                horizontal="center", vertical="center", wrap_text=True)))
            data = style_of(
                ws, fill=fill,
                alignment=Alignment(vertical="top", wrap_text=column.kind in ("long", "list")),
                protection=Protection(locked=not column.admin),
                number_format="yyyy-mm-dd" if column.kind == "date" else "General")
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


def _add_validations(ws, lists, unit_names: list[str], outcomes: tuple[str, ...], last_row: int) -> None:
    for name in unit_names:
        lists.append([text_cell(lists, name)])
    units_ref = f"'{LISTS_SHEET}'!$A$1:$A${max(len(unit_names), 1)}"
    rules = {
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


def _dropdown(source: str, prompt: str, strict: bool = True) -> DataValidation:
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


def _digest(text: str) -> str:
    # Normalised the way a read cell is (_cell_text), so an untouched cell always compares equal.
    text = text[:_MAX_CELL].replace("\r\n", "\n").strip()
    return hashlib.blake2b(text.encode("utf-8"), digest_size=6).hexdigest()


def _digests(texts: list[str]) -> str:
    values = {c.header: _digest(t) for c, t in zip(LEDGER_COLUMNS[1:], texts[1:])}
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


# ---------------------------------------------------------------- import

def import_ledger(path: Path, *, unit_by_name: Callable[[str], str | None],
                  outcome_choices: tuple[str, ...] = OUTCOMES) -> LedgerImportResult:
    """Read the admin columns of a ledger the office filled in.

    `edits` holds the rows whose admin cells differ from the export (every filled row when the file
    lost its export baseline, e.g. copied into a new workbook): applying an edit equal to the stored
    state should be a no-op. A file with any `problems` should be refused as a whole.
    """
    wb = _open(path)
    try:
        result = LedgerImportResult()
        baseline = _read_baseline(wb, result)
        found = _find_ledger(wb)
        if found is None:
            result.problems.append("未找到台账表头：工作表中应有“编号”及“现场结果”“承办单位”“协办单位”“办理要求”“长期整改”等列")
            return result
        header_row, columns, rows = found
        reader = _RowReader(unit_by_name, outcome_choices, baseline, result)
        for number, values in enumerate(rows, header_row + 1):
            cells = {h: (values[i] if i < len(values) else None) for h, i in columns.items()}
            reader.read(number, cells)
        return result
    finally:
        wb.close()


def _open(path: Path):
    try:
        return load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputError(f"无法读取台账文件 {Path(path).name}：请上传由台账导出的 .xlsx 文件（{exc}）") from exc


def _norm_header(value) -> str:
    # Clerks and WPS add spaces, asterisks, line breaks or a note in brackets to a header.
    text = re.sub(r"[（(].*?[)）]", "", clean_text(value))
    return re.sub(r"[\s\u3000*＊:：]", "", text)


def _find_ledger(wb):
    """(header row number, {header: column index}, iterator over the data rows) of the ledger sheet."""
    needed = {"编号", *(c.header for c in _ADMIN)}
    known = {c.header for c in LEDGER_COLUMNS}
    for ws in wb.worksheets:
        if ws.title in (LISTS_SHEET, BASELINE_SHEET):
            continue
        ws.reset_dimensions()  # WPS may write a dimension of A1:A1
        rows = ws.iter_rows(values_only=True)
        for number, values in enumerate(rows, 1):
            if number > 10:
                break
            columns: dict[str, int] = {}
            for index, value in enumerate(values):
                header = _norm_header(value)
                if header in known:
                    columns.setdefault(header, index)
            if needed <= columns.keys():
                return number, columns, rows
    return None


def _read_baseline(wb, result: LedgerImportResult) -> dict[str, dict[str, str]] | None:
    if BASELINE_SHEET not in wb.sheetnames:
        result.notes.append("本表不含导出时的核对数据（可能已另存或复制到新工作簿），无法识别对系统维护列的修改；"
                            "已按填写内容读取所有填写了处理信息的行。")
        return None
    ws = wb[BASELINE_SHEET]
    ws.reset_dimensions()
    baseline = {}
    try:
        for values in ws.iter_rows(min_row=2, values_only=True):
            if len(values) >= 2 and values[0]:
                baseline[str(values[0])] = json.loads(values[1] or "{}")
    except (ValueError, TypeError):
        result.notes.append("导出核对数据已损坏，无法识别对系统维护列的修改；已按填写内容读取所有填写了处理信息的行。")
        return None
    return baseline


def _cell_text(value) -> str:
    """A read cell as the text the export wrote for it (dates as ISO, integral floats without .0)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return clean_text(value).replace("\r\n", "\n").strip()


def _filled(text: dict[str, str]) -> bool:
    """True when the row carries any admin decision (an exported 否 in 长期整改 is no decision)."""
    return any(text[c.header] for c in _ADMIN if c.header != "长期整改") or text["长期整改"] in _YES


class _RowReader:
    """Turns one sheet row into an edit, problems and ignored changes."""

    def __init__(self, unit_by_name, outcomes, baseline, result: LedgerImportResult):
        self.unit_by_name = unit_by_name
        self.outcomes = outcomes
        self.baseline = baseline
        self.result = result
        self.seen: dict[str, int] = {}

    def read(self, number: int, cells: dict) -> None:
        text = {h: _cell_text(v) for h, v in cells.items()}
        case = text.pop("编号")
        if not case:
            if _filled(text):
                self.result.problems.append(f"第{number}行：“编号”为空，但填写了处理信息；请勿删除或修改编号")
            return
        if case in self.seen:
            self.result.problems.append(f"第{number}行：“编号”{case}与第{self.seen[case]}行重复")
            return
        self.seen[case] = number
        exported = self._exported(number, case)
        if exported is False:  # unknown case number, already a problem
            return
        if exported is not None:
            self._report_bot_edits(number, case, text, exported)
            if all(_digest(text[c.header]) == exported.get(c.header) for c in _ADMIN):
                return  # admin cells as exported: nothing to record
        elif not _filled(text):
            return
        self._record(number, case, text)

    def _exported(self, number: int, case: str) -> dict | None | bool:
        """The case's exported digests; None without a baseline; False for a case not exported."""
        if self.baseline is None:
            return None
        if case not in self.baseline:
            self.result.problems.append(
                f"第{number}行：“编号”{case}不在导出的台账中；编号由系统生成，请勿修改，新增诉求请通过邮件登记")
            return False
        return self.baseline[case]

    def _report_bot_edits(self, number: int, case: str, text: dict, exported: dict) -> None:
        for column in LEDGER_COLUMNS[1:]:
            if column.admin or column.header not in text:
                continue
            if _digest(text[column.header]) != exported.get(column.header):
                now = f"“{text[column.header][:40]}”" if text[column.header] else "空白"
                self.result.ignored.append(
                    f"第{number}行（编号{case}）：“{column.header}”由系统维护，此处改动（现为{now}）未予导入；"
                    f"如需更正，请联系管理员")

    def _record(self, number: int, case: str, text: dict) -> None:
        problems: list[str] = []

        def say(message: str) -> None:
            problems.append(f"第{number}行：{message}（编号{case}）")

        outcome = text["现场结果"] or None
        if outcome and outcome not in self.outcomes:
            say(f"“现场结果”应为{'、'.join(self.outcomes)}之一，现为“{outcome}”")
        lead_name = text["承办单位"]
        lead = self._unit(lead_name, "承办单位", say) if lead_name else None
        co_names = list(dict.fromkeys(n for n in _CO_SPLIT.split(text["协办单位"]) if n))
        co = tuple(u for u in (self._unit(n, "协办单位", say) for n in co_names) if u)
        long_term = self._long_term(text["长期整改"], say)
        if outcome == "交办" and not lead_name:
            say("“现场结果”为“交办”，请在“承办单位”中选择承办单位")
        if not outcome and (lead_name or co_names):
            say("填写了承办单位或协办单位，但“现场结果”为空，请选择“交办”")
        if lead and lead in co:
            say(f"“协办单位”中的“{lead_name}”已是承办单位，请从协办单位中删去")
        if long_term and outcome != "交办":
            say("“长期整改”为“是”时，“现场结果”应为“交办”")
        if problems:
            self.result.problems.extend(problems)
            return
        self.result.edits.append(LedgerEdit(number, case, outcome, lead, co, text["办理要求"], bool(long_term)))

    def _unit(self, name: str, header: str, say) -> str | None:
        unit_id = self.unit_by_name(name)
        if unit_id is None:
            say(f"“{header}”中的“{name}”不是已登记的单位，请从下拉列表中选择")
        return unit_id

    @staticmethod
    def _long_term(value: str, say) -> bool | None:
        if value in ("", "否", "×", "无"):
            return False
        if value in _YES:
            return True
        say(f"“长期整改”应填“是”或“否”，现为“{value}”")
        return None
