"""企业诉求台账 import: read back the admin columns of a ledger the office filled in.

Only 接待场次, 现场结果, 承办单位, 协办单位, 办理要求, 长期整改 and 回访 are the office's; every other column
belongs to the bot. 接待场次 and 回访 are filled by the bot too: they count as the clerk's only when
changed. Rows are keyed by case number and cells found by header name, never by position, so sorting,
hiding and adding columns do not matter. The very-hidden baseline sheet written by ledger_export.py
tells which rows the clerk changed and which bot-owned cells were edited (reported and ignored).
"""

from __future__ import annotations

import json
import re
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Callable

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from ..errors import FormUnreadable, InputError
from ..forms.safezip import checked_workbook
from .ledger_export import BASELINE_SHEET, LISTS_SHEET, OUTCOMES, cell_digest
from .rows import LEDGER_COLUMNS, LedgerEdit, LedgerImportResult, clean_text

_CO_SPLIT = re.compile(r"[、，,；;/\s]+")
_ADMIN = tuple(c for c in LEDGER_COLUMNS if c.admin)
_YES = ("是", "√", "✓")
_PREFILLED = ("接待场次", "回访", "长期整改")  # exported filled: an unchanged value is no decision
REVISIT_MAX = 200


def import_ledger(path: Path, *, unit_by_name: Callable[[str], str | None],
                  session_by_label: Callable[[str], str | None] = lambda _label: None,
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
        reader = _RowReader(unit_by_name, session_by_label, outcome_choices, baseline, result)
        for number, values in enumerate(rows, header_row + 1):
            cells = {h: (values[i] if i < len(values) else None) for h, i in columns.items()}
            reader.read(number, cells)
        return result
    finally:
        wb.close()


def _open(path: Path):
    from io import BytesIO


    try:
        # inflated under the same budget and ratio checks as a form: a ledger is a file from outside
        checked = checked_workbook(Path(path).read_bytes())
        return load_workbook(BytesIO(checked), read_only=True, data_only=True)
    except FormUnreadable as exc:
        raise InputError(f"无法读取台账文件 {Path(path).name}：{exc.detail}") from exc
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
    """True when the row carries any admin decision (an exported 否 in 长期整改, the exported
    接待场次 and 回访 are none)."""
    return any(text[c.header] for c in _ADMIN if c.header not in _PREFILLED) or text["长期整改"] in _YES


class _RowReader:
    """Turns one sheet row into an edit, problems and ignored changes."""

    def __init__(self, unit_by_name, session_by_label, outcomes, baseline, result: LedgerImportResult):
        self.unit_by_name = unit_by_name
        self.session_by_label = session_by_label
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
            if all(cell_digest(text[c.header]) == exported.get(c.header) for c in _ADMIN):
                return  # admin cells as exported: nothing to record
        elif not _filled(text):
            return
        self._record(number, case, text, exported)

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
            if cell_digest(text[column.header]) != exported.get(column.header):
                now = f"“{text[column.header][:40]}”" if text[column.header] else "空白"
                self.result.ignored.append(
                    f"第{number}行（编号{case}）：“{column.header}”由系统维护，此处改动（现为{now}）未予导入；"
                    f"如需更正，请联系管理员")

    def _record(self, number: int, case: str, text: dict, exported: dict | None) -> None:
        problems: list[str] = []

        def say(message: str) -> None:
            problems.append(f"第{number}行：{message}（编号{case}）")

        def changed(header: str) -> bool:
            return exported is None or cell_digest(text[header]) != exported.get(header)

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
        # Without the export baseline nobody knows what was exported: a 接待场次 that names no
        # session is then left alone (the apply step compares a known one with the case).
        session = (self._session(text["接待场次"], say) if exported is not None and changed("接待场次")
                   else self.session_by_label(text["接待场次"]) if text["接待场次"] else None)
        revisit = text["回访"] if changed("回访") else None
        if revisit and len(revisit) > REVISIT_MAX:
            say(f"“回访”不超过{REVISIT_MAX}字，现为{len(revisit)}字")
        if problems:
            self.result.problems.extend(problems)
            return
        self.result.edits.append(LedgerEdit(number, case, outcome, lead, co, text["办理要求"], bool(long_term),
                                            session, revisit))

    def _session(self, label: str, say) -> str | None:
        if not label:
            return None
        session_id = self.session_by_label(label)
        if session_id is None:
            say(f"“接待场次”中的“{label}”不是已安排的接待场次，请从下拉列表中选择")
        return session_id

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
