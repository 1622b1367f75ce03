"""The shape of a valid rule file: each table's allowed keys, their types, and the checks of one entry.

Every table's allowed keys sit here in one place (spec/interfaces.md "Rule files" + our extensions),
with the fixed vocabularies some values must come from. `check_keys` turns one raw TOML table into an
`Entry` of typed values, reporting unknown keys, wrong types and missing required keys at their lines;
`check_entries` does so for every entry of an array table, adding duplicate-id errors; the other
`check_*` helpers check one entry's references, addresses and allowed values. How the files fit
together (which unit, field or leader exists) is the loader's job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.rules.textpos import Report, RuleFile
from bot.verdict import EXCLUSION_RULES, UNDECLARABLE


@dataclass(frozen=True)
class Key:
    kind: str  # str | int | posint | date | strs | ints | time
    required: bool = False


# The allowed keys of each table, in one place per file (spec/interfaces.md "Rule files" + our extensions).
PROGRAMME_KEYS = {
    "name": Key("str", True), "office": Key("str", True), "mailbox": Key("str", True), "phone": Key("str"),
    "fax": Key("str"), "onsite_place": Key("str"), "onsite_hours": Key("str"),
    "districts": Key("strs", True), "timezone": Key("str"), "case_number_format": Key("str"),
    "max_attendees": Key("posint"), "admin_emails": Key("strs"), "city": Key("str"),
    "result_review": Key("str"), "contact": Key("str"), "contact_phone": Key("str"), "plan_title": Key("str"),
}
FIELD_KEYS = {
    "id": Key("str", True), "name": Key("str", True), "aliases": Key("strs"), "keywords": Key("strs"),
    "departments": Key("strs"),
}
LEADER_KEYS = {"id": Key("str", True), "title": Key("str", True), "fields": Key("strs"), "name": Key("str")}
SESSION_KEYS = {
    "id": Key("str", True), "date": Key("date", True), "period": Key("str", True), "start": Key("time", True),
    "end": Key("time", True), "leader": Key("str", True), "fields": Key("strs"), "location": Key("str", True),
    "meeting_format": Key("str", True), "registration_opens": Key("date", True),
    "registration_closes": Key("date", True), "capacity": Key("posint", True), "notice_date": Key("date"),
    "issue": Key("posint"),
}
UNIT_KEYS = {
    "id": Key("str", True), "name": Key("str", True), "emails": Key("strs"), "kind": Key("str", True),
    "district": Key("str"), "contact": Key("str"), "phone": Key("str"),
}
EXCLUSION_KEYS = {
    "id": Key("str", True), "title": Key("str", True), "declaration": Key("str"), "keywords": Key("strs"),
    "referral": Key("str"), "basis": Key("str"), "placeholders": Key("strs"), "refer_unit": Key("str"),
    "clause": Key("str"),
}
DEADLINE_KEYS = {
    "status_report_working_days": Key("posint", True), "result_days": Key("posint", True),
    "long_term_report_days": Key("posint", True), "notice_lead_working_days": Key("posint", True),
    "reminder_lead_days": Key("ints", True), "overdue_repeat_days": Key("posint", True),
    "escalate_after_overdue_days": Key("posint", True), "escalate_to": Key("str", True),
    "reminder_time": Key("time"), "digest_weekday": Key("str"), "satisfaction_reply_working_days": Key("posint"),
}
HOLIDAY_KEYS = {"id": Key("str", True), "name": Key("str", True), "start": Key("date", True), "end": Key("date", True)}
WORKDAY_KEYS = {"id": Key("str", True), "name": Key("str", True), "date": Key("date", True)}

# file -> {array table -> its keys}; programme.toml and deadlines.toml are flat (their keys sit at the top).
ARRAY_FILES = {
    "fields.toml": {"field": FIELD_KEYS}, "leaders.toml": {"leader": LEADER_KEYS},
    "sessions.toml": {"session": SESSION_KEYS}, "units.toml": {"unit": UNIT_KEYS},
    "exclusions.toml": {"exclusion": EXCLUSION_KEYS},
    "holidays.toml": {"holiday": HOLIDAY_KEYS, "workday": WORKDAY_KEYS},
}
OPTIONAL_FILES = {"holidays.toml"}
UNIT_KINDS = ("department", "district", "supervision", "office")
PERIODS = ("上午", "下午")
RESULT_REVIEWS = ("admin", "direct")
MEETING_FORMATS = ("座谈会", "现场会", "早餐会", "走访企业")
EXCLUSION_IDS = tuple(str(r) for r in EXCLUSION_RULES)
DECLARATIONS = ("judicial", "discipline", "petition", "proposal")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


@dataclass
class Entry:
    """One [[table]] entry: its position and the values that passed their type checks."""

    index: int
    values: dict
    ok: bool
    raw: dict = field(default_factory=dict)

    def get(self, key: str, default=None):
        return self.values.get(key, default)


# ---------------------------------------------------------------- values

_KIND_TEXT = {
    "str": "a string", "int": "an integer", "posint": "a positive integer", "date": "a date (YYYY-MM-DD)",
    "strs": "a list of strings", "ints": "a list of integers", "time": 'a time "HH:MM"',
}


def _type_name(value) -> str:
    for kind, text in ((bool, "a boolean"), (str, "a string"), (int, "an integer"), (float, "a number"),
                       (datetime, "a date-time"), (date, "a date"), (list, "a list"), (dict, "a table")):
        if isinstance(value, kind):
            return text
    return type(value).__name__


def convert(key: str, kind: str, value):
    """The value in its Python shape, or ValueError with the message for the admin."""
    wrong = ValueError(f"'{key}' must be {_KIND_TEXT[kind]}, not {_type_name(value)}")
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if kind in ("str", "time"):
        if not isinstance(value, str):
            raise wrong
        if kind == "time" and not TIME_RE.match(value):
            raise ValueError(f"'{key}' must be a time \"HH:MM\", not '{value}'")
        return value.strip()
    if kind in ("int", "posint"):
        if not is_int or (kind == "posint" and value < 1):
            raise wrong
        return value
    if kind == "date":
        return _to_date(key, value, wrong)
    if kind == "strs" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(v.strip() for v in value)
    if kind == "ints" and isinstance(value, list) and all(_is_count(v) for v in value):
        return tuple(value)
    raise wrong


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _to_date(key: str, value, wrong: ValueError) -> date:
    # Admins often quote dates; a quoted ISO date is accepted, anything else is an error.
    if isinstance(value, datetime):
        raise wrong
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"'{key}' is not a valid date: '{value}'") from None
    raise wrong


# ---------------------------------------------------------------- entries

def check_keys(rf: RuleFile, table: str | None, index: int, raw: dict, keys: dict[str, Key],
               report: Report) -> Entry:
    label = f"[[{table}]]" if table else rf.name
    values, ok = {}, True
    for key, value in raw.items():
        spec = keys.get(key)
        if spec is None:
            allowed = ", ".join(keys)
            report.error(rf.name, rf.line(table, index, key), f"unknown key '{key}' in {label} (allowed: {allowed})")
            continue
        try:
            values[key] = convert(key, spec.kind, value)
        except ValueError as exc:
            report.error(rf.name, rf.line(table, index, key), str(exc))
            ok = False
    for key, spec in keys.items():
        if spec.required and key not in raw:
            who = f" '{raw['id']}'" if isinstance(raw.get("id"), str) else ""
            report.error(rf.name, rf.line(table, index), f"missing required key '{key}' in {label}{who}")
            ok = False
    return Entry(index, values, ok, raw)


def check_flat(rf: RuleFile | None, keys: dict[str, Key], report: Report) -> Entry | None:
    """The one entry of a flat file (its keys at the top); None when the file could not be read."""
    return None if rf is None else check_keys(rf, None, 0, rf.data, keys, report)


def check_entries(rf: RuleFile | None, table: str, report: Report) -> list[Entry]:
    """Type-checked entries of one array table, plus duplicate-id errors."""
    if rf is None:
        return []
    rows = rf.data.get(table, [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        report.error(rf.name, rf.line(None, 0, table), f"'{table}' must be written as [[{table}]] tables")
        return []
    keys = ARRAY_FILES[rf.name][table]
    entries = [check_keys(rf, table, i, row, keys, report) for i, row in enumerate(rows)]
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
            report.error(rf.name, line, f"duplicate {table} id '{entry_id}' (first at line {first[entry_id]})")
        else:
            first[entry_id] = line


def check_top_level(rf: RuleFile | None, report: Report) -> None:
    """Array files hold only their [[table]]s: anything else at the top is an unknown key."""
    if rf is None:
        return
    allowed = ARRAY_FILES[rf.name]
    for key in rf.data:
        if key not in allowed:
            tables = ", ".join(f"[[{t}]]" for t in allowed)
            report.error(rf.name, rf.line(None, 0, key), f"unknown key '{key}' (this file holds {tables})")


def entry_ids(entries: list[Entry] | None) -> set[str] | None:
    # None means "the file could not be read": references into it are then not checked.
    return None if entries is None else {e.get("id") for e in entries if e.get("id")}


def check_refs(rf: RuleFile, table: str | None, e: Entry, key: str, known: set[str] | None, what: str,
               report: Report) -> None:
    value = e.get(key)
    refs = value if isinstance(value, tuple) else (value,) if value else ()
    for ref in refs:
        if known is not None and ref not in known:
            report.error(rf.name, rf.line(table, e.index, key), f"unknown {what} '{ref}'")


def check_emails(rf: RuleFile, table: str | None, e: Entry, key: str, report: Report) -> None:
    value = e.get(key)
    for address in value if isinstance(value, tuple) else (value,) if value is not None else ():
        if not EMAIL_RE.match(address):
            report.error(rf.name, rf.line(table, e.index, key), f"invalid email address '{address}'")


# ---------------------------------------------------------------- allowed values of one entry

def check_programme_values(rf: RuleFile, entry: Entry, report: Report) -> None:
    timezone = entry.get("timezone")
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            report.error(rf.name, rf.line(None, 0, "timezone"), f"unknown timezone '{timezone}'")
    fmt = entry.get("case_number_format")
    if fmt is not None:
        if not _format_works(fmt):
            report.error(rf.name, rf.line(None, 0, "case_number_format"),
                         f"case_number_format '{fmt}' must use {{year}} and {{seq}} only, "
                         "e.g. \"WHJD-{year}-{seq:04d}\"")
    if entry.get("districts") == ():
        report.error(rf.name, rf.line(None, 0, "districts"), "districts is empty")
    review = entry.get("result_review")
    if review is not None and review not in RESULT_REVIEWS:
        report.error(rf.name, rf.line(None, 0, "result_review"),
                     f"result_review must be one of {', '.join(RESULT_REVIEWS)}, not '{review}'")


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
    if e.get("period") not in (None, *PERIODS):
        error("period", f"period must be 上午 or 下午, not '{e.get('period')}'")
    if e.get("start") and e.get("end") and e.get("start") >= e.get("end"):
        error("end", f"end {e.get('end')} is not after start {e.get('start')}")
    if closes and day and closes > day:
        error("registration_closes", f"registration closes {closes}, after the session date {day}")
    if opens and closes and opens > closes:
        error("registration_opens", f"registration opens {opens}, after it closes {closes}")
    if e.get("meeting_format") not in (None, *MEETING_FORMATS):
        report.warn(rf.name, rf.line("session", e.index, "meeting_format"),
                    f"meeting_format '{e.get('meeting_format')}' is not one of {'、'.join(MEETING_FORMATS)}")


def check_exclusion_values(rf: RuleFile, e: Entry, report: Report) -> None:
    rule_id, declaration = e.get("id"), e.get("declaration")
    if rule_id is not None and rule_id not in EXCLUSION_IDS:
        report.error(rf.name, rf.line("exclusion", e.index, "id"),
                     f"unknown exclusion id '{rule_id}' (known: {', '.join(EXCLUSION_IDS)})")
    if declaration is not None and declaration not in DECLARATIONS:
        report.error(rf.name, rf.line("exclusion", e.index, "declaration"),
                     f"unknown declaration '{declaration}' (known: {', '.join(DECLARATIONS)})")
    if declaration and rule_id in UNDECLARABLE:
        report.error(rf.name, rf.line("exclusion", e.index, "declaration"), f"{rule_id} reads no declaration")
