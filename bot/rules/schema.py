"""Checking one rule file against its classes in model.py, and the checks of one entry's values.

`check_model` validates one raw TOML table with pydantic against its entry class and reports each
problem at the line of its key (a missing key at the entry's `[[table]]` header), in Chinese;
`check_entries` does so for every entry of an array table, adding duplicate-id errors; the other
`check_*` helpers check one entry's references, addresses and allowed values. How the files fit
together (which unit, field or leader exists) is the loader's job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from typing import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import TypeAdapter, ValidationError

from bot.casetag import findable
from bot.rules.model import ARRAY_FILES, FLAT_FILES
from bot.tomlpos import Report, RuleFile
from bot.validation import explain, first_per_key, required_keys
from bot.verdict import EXCLUSION_RULES, UNDECLARABLE

OPTIONAL_FILES = {"holidays.toml"}
UNIT_KINDS = ("department", "district", "supervision", "office")
MEETING_FORMATS = ("座谈会", "现场会", "早餐会", "走访企业")
EXCLUSION_IDS = tuple(str(r) for r in EXCLUSION_RULES)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
WHAT = {"unit": "单位", "field": "领域", "leader": "领导"}  # what a reference points at, in words
_ADAPTERS: dict[type, TypeAdapter] = {}


@dataclass
class Entry:
    """One table of a rule file: its position, the validated object (None when a value is wrong)
    and the values that passed, for the checks across files."""

    index: int
    values: dict
    ok: bool
    raw: dict = field(default_factory=dict)
    made: object | None = None

    def get(self, key: str, default=None):
        return self.values.get(key, default)


def _adapter(model: type) -> TypeAdapter:
    if model not in _ADAPTERS:
        _ADAPTERS[model] = TypeAdapter(model)
    return _ADAPTERS[model]


def check_model(rf: RuleFile, table: str | None, index: int, raw: dict, model: type,
                report: Report) -> Entry:
    """Validate one table against its entry class; every problem is reported at its line."""
    fields = model.__pydantic_fields__
    who = f"[[{table}]]“{raw['id']}”" if table and isinstance(raw.get("id"), str) else \
        f"[[{table}]]" if table else ""
    wrong: set[str] = set()
    for key in required_keys(fields):
        if key not in raw:  # also for keys code may default (Required()): the admin must write them
            report.error(rf.name, rf.line(table, index), f"{who}缺少必填的键“{key}”")
            wrong.add(key)
    try:
        made = _adapter(model).validate_python(raw)
    except ValidationError as exc:
        for error in first_per_key(exc.errors()):
            if error["type"] in ("missing", "missing_argument"):
                continue  # reported above, at the entry's header
            key = next((str(p) for p in error["loc"] if isinstance(p, str)), None)
            wrong.add(key)
            report.error(rf.name, rf.line(table, index, key), explain(error, fields, who))
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()
                  if k in fields and k not in wrong}
        return Entry(index, values, False, raw)
    values = {f.name: getattr(made, f.name) for f in dataclass_fields(made)}
    return Entry(index, values, not wrong, raw, made if not wrong else None)


def check_flat(rf: RuleFile | None, report: Report) -> Entry | None:
    """The one entry of a flat file (its keys at the top); None when the file could not be read."""
    return None if rf is None else check_model(rf, None, 0, rf.data, FLAT_FILES[rf.name], report)


def check_entries(rf: RuleFile | None, table: str, report: Report,
                  prepare: Callable[[dict], dict] = dict) -> list[Entry]:
    """Validated entries of one array table, plus duplicate-id errors. `prepare` fills values a
    file may leave out that come from another file (a session's fields from its leader)."""
    if rf is None:
        return []
    rows = rf.data.get(table, [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        report.error(rf.name, rf.line(None, 0, table), f"“{table}”应写成 [[{table}]] 表")
        return []
    model = ARRAY_FILES[rf.name][table]
    entries = [check_model(rf, table, i, prepare(row), model, report) for i, row in enumerate(rows)]
    for entry, row in zip(entries, rows):
        entry.raw = row  # what the admin wrote, without what `prepare` added
    _check_unique(rf, table, entries, report)
    return entries


def _check_unique(rf: RuleFile, table: str, entries: list[Entry], report: Report) -> None:
    first: dict[str, int] = {}
    for e in entries:
        entry_id = e.get("id")
        if entry_id is None:
            continue
        line = rf.line(table, e.index, "id")
        if entry_id in first:
            report.error(rf.name, line, f"[[{table}]] 的 id“{entry_id}”重复（首次出现在第 {first[entry_id]} 行）")
        else:
            first[entry_id] = line


def check_top_level(rf: RuleFile | None, report: Report) -> None:
    """Array files hold only their [[table]]s: anything else at the top is an unknown key."""
    if rf is None:
        return
    allowed = ARRAY_FILES[rf.name]
    for key in rf.data:
        if key not in allowed:
            tables = "、".join(f"[[{t}]]" for t in allowed)
            report.error(rf.name, rf.line(None, 0, key), f"未知的键“{key}”（本文件只包含 {tables} 表）")


def entry_ids(entries: list[Entry] | None) -> set[str] | None:
    # None means "the file could not be read": references into it are then not checked.
    return None if entries is None else {e.get("id") for e in entries if e.get("id")}


def check_refs(rf: RuleFile, table: str | None, e: Entry, key: str, known: set[str] | None, what: str,
               report: Report) -> None:
    value = e.get(key)
    refs = value if isinstance(value, tuple) else (value,) if value else ()
    for ref in refs:
        if known is not None and ref not in known:
            report.error(rf.name, rf.line(table, e.index, key), f"未知的{WHAT[what]}“{ref}”")


def check_emails(rf: RuleFile, table: str | None, e: Entry, key: str, report: Report) -> None:
    value = e.get(key)
    for address in value if isinstance(value, tuple) else (value,) if value is not None else ():
        if not EMAIL_RE.match(address):
            report.error(rf.name, rf.line(table, e.index, key), f"邮箱地址“{address}”格式不正确")


# ---------------------------------------------------------------- allowed values of one entry

def check_programme_values(rf: RuleFile, entry: Entry, report: Report) -> None:
    timezone = entry.get("timezone")
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            report.error(rf.name, rf.line(None, 0, "timezone"), f"未知的时区“{timezone}”（如 Asia/Shanghai）")
    fmt = entry.get("case_number_format")
    if fmt is not None and not _format_works(fmt):
        report.error(rf.name, rf.line(None, 0, "case_number_format"),
                     f"case_number_format“{fmt}”须包含 {{seq}}，且只能使用 {{year}} 和 {{seq}}，"
                     "如 \"WHJD-{year}-{seq:04d}\"")
    elif fmt is not None and not findable(fmt):
        report.error(rf.name, rf.line(None, 0, "case_number_format"),
                     f"case_number_format“{fmt}”生成的编号无法从回复邮件的主题中识别：应以字母开头，"
                     "接 -{year}-，再接两位以上的 {seq}，如 \"WHJD-{year}-{seq:04d}\"")
    if entry.get("districts") == () and "districts" in entry.raw:
        report.error(rf.name, rf.line(None, 0, "districts"), "districts 不能为空")


def _format_works(fmt: str) -> bool:
    try:
        fmt.format(year=2026, seq=1)
    except (KeyError, IndexError, ValueError):
        return False
    return "{seq" in fmt


def check_session_values(rf: RuleFile, e: Entry, report: Report) -> None:
    def error(key: str, message: str) -> None:
        report.error(rf.name, rf.line("session", e.index, key), message)

    day, opens, closes = e.get("date"), e.get("registration_opens"), e.get("registration_closes")
    if not e.ok:
        return  # a wrong value is reported already; comparing it would only add noise
    if e.get("start") >= e.get("end"):
        error("end", f"结束时间 {e.get('end')} 不晚于开始时间 {e.get('start')}")
    if closes > day:
        error("registration_closes", f"登记截止日期 {closes} 晚于接待日期 {day}")
    if opens > closes:
        error("registration_opens", f"登记开始日期 {opens} 晚于截止日期 {closes}")
    if e.get("meeting_format") not in MEETING_FORMATS:
        report.warn(rf.name, rf.line("session", e.index, "meeting_format"),
                    f"接待形式“{e.get('meeting_format')}”不是{'、'.join(MEETING_FORMATS)}之一")


def check_exclusion_values(rf: RuleFile, e: Entry, report: Report) -> None:
    rule_id, declaration = e.get("id"), e.get("declaration")
    if rule_id is not None and rule_id not in EXCLUSION_IDS:
        report.error(rf.name, rf.line("exclusion", e.index, "id"),
                     f"未知的情形 id“{rule_id}”（可用：{'、'.join(EXCLUSION_IDS)}）")
    if declaration and rule_id in UNDECLARABLE:
        report.error(rf.name, rf.line("exclusion", e.index, "declaration"),
                     f"{rule_id} 不对应登记表的声明项，请删除 declaration")
