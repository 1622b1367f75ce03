"""rules/*.toml + rules/roster.csv -> Ruleset, with every problem reported as `file:line: message`.

tomllib keeps no positions, so `TomlLines` scans the text once to find the line of each table header and
key; a problem about a key points at that key's line, one about a whole entry at its `[[table]]` header.
`load_report` collects all problems (errors and warnings) at once so the admin can fix them in one go;
`load_rules` raises RuleFileError when there is any error. Semantic checks that need the working-day
calendar live in checks.py.
"""

from __future__ import annotations

import csv
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from stdnum import exceptions as stdnum_errors
from stdnum.cn import uscc

from bot.errors import RuleFileError
from bot.rules.model import (
    Deadlines, Exclusion, FieldRule, Holiday, Leader, Programme, RosterEntry, Ruleset, Session, Unit, Workday,
)


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
    "reminder_time": Key("time"), "digest_weekday": Key("str"),
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
ROSTER_FILE = "roster.csv"
ROSTER_HEADER = ["credit_code", "name", "categories"]
ROSTER_CATEGORIES = ("规上企业", "上市后备企业", "高新技术企业")
UNIT_KINDS = ("department", "district", "supervision", "office")
PERIODS = ("上午", "下午")
MEETING_FORMATS = ("座谈会", "现场会", "早餐会", "走访企业")
EXCLUSION_IDS = ("EX-JUDICIAL", "EX-DISCIPLINE", "EX-PETITION", "EX-PROPOSAL", "EX-VAGUE", "EX-ANONYMOUS")
DECLARATIONS = ("judicial", "discipline", "petition", "proposal")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


# ---------------------------------------------------------------- where things are in the text

_HEADER_RE = re.compile(r"^\s*(\[\[?)\s*([^\]\s]+)\s*\]")
_KEY_RE = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*[=.]""")


@dataclass
class _Span:
    line: int
    keys: dict[str, int] = field(default_factory=dict)


class TomlLines:
    """Line numbers of table headers and keys, found by a light scan that skips strings and arrays."""

    def __init__(self, text: str):
        self.root = _Span(1)
        self.tables: dict[str, list[_Span]] = {}
        self.last_line = max(1, len(text.splitlines()))
        self._scan(text)

    def _scan(self, text: str) -> None:
        current, in_string, depth = self.root, None, 0
        for no, line in enumerate(text.splitlines(), 1):
            rest = line
            if in_string is None and depth == 0:
                header, key = _HEADER_RE.match(line), _KEY_RE.match(line)
                if header:
                    current = _Span(no)
                    self.tables.setdefault(header.group(2), []).append(current)
                    continue
                if key:
                    current.keys.setdefault(key.group(1).strip("\"'"), no)
                    rest = line[key.end():]
            in_string, depth = _skip(rest, in_string, depth)

    def entry(self, table: str | None, index: int = 0) -> _Span:
        spans = self.tables.get(table, []) if table else [self.root]
        return spans[index] if index < len(spans) else self.root

    def line(self, table: str | None, index: int = 0, key: str | None = None) -> int:
        span = self.entry(table, index)
        if key is None:
            return span.line
        if key in span.keys:
            return span.keys[key]
        if table is None and key in self.tables:  # a top-level [key] table
            return self.tables[key][0].line
        return span.line


def _skip(text: str, in_string: str | None, depth: int) -> tuple[str | None, int]:
    """Advance the scan state over one line: open multi-line strings and bracket depth carry over."""
    i = 0
    while i < len(text):
        if in_string:
            end = text.find(in_string, i)
            if end < 0:
                return in_string, depth
            i, in_string = end + 3, None
            continue
        if text.startswith(('"""', "'''"), i):
            in_string, i = text[i:i + 3], i + 3
            continue
        ch = text[i]
        if ch == "#":
            break
        if ch in "\"'":
            i = _string_end(text, i)
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth = max(0, depth - 1)
        i += 1
    return in_string, depth


def _string_end(text: str, start: int) -> int:
    quote, i = text[start], start + 1
    while i < len(text) and text[i] != quote:
        i += 2 if quote == '"' and text[i] == "\\" else 1
    return i


# ---------------------------------------------------------------- problem collection

@dataclass
class RuleFile:
    name: str
    data: dict
    lines: TomlLines

    def line(self, table: str | None = None, index: int = 0, key: str | None = None) -> int:
        return self.lines.line(table, index, key)


@dataclass
class Entry:
    """One [[table]] entry: its position and the values that passed their type checks."""

    index: int
    values: dict
    ok: bool
    raw: dict = field(default_factory=dict)

    def get(self, key: str, default=None):
        return self.values.get(key, default)


@dataclass
class LoadResult:
    ruleset: Ruleset | None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: dict[str, RuleFile] = field(default_factory=dict)

    def line_of(self, file: str, table: str, entry_id: str, key: str | None = None) -> int:
        """Line of `key` in the entry of `table` whose id is entry_id (checks.py points at it)."""
        rf = self.files[file]
        rows = rf.data.get(table, [])
        index = next((i for i, row in enumerate(rows) if isinstance(row, dict) and row.get("id") == entry_id), 0)
        return rf.line(table, index, key)


class _Report:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def error(self, file: str, line: int, message: str) -> None:
        self.errors.append(f"{file}:{line}: {message}")

    def warn(self, file: str, line: int, message: str) -> None:
        self.warnings.append(f"{file}:{line}: {message}")


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


def _convert(key: str, kind: str, value):
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


def _check_keys(rf: RuleFile, table: str | None, index: int, raw: dict, keys: dict[str, Key],
                report: _Report) -> Entry:
    label = f"[[{table}]]" if table else rf.name
    values, ok = {}, True
    for key, value in raw.items():
        spec = keys.get(key)
        if spec is None:
            allowed = ", ".join(keys)
            report.error(rf.name, rf.line(table, index, key), f"unknown key '{key}' in {label} (allowed: {allowed})")
            continue
        try:
            values[key] = _convert(key, spec.kind, value)
        except ValueError as exc:
            report.error(rf.name, rf.line(table, index, key), str(exc))
            ok = False
    for key, spec in keys.items():
        if spec.required and key not in raw:
            who = f" '{raw['id']}'" if isinstance(raw.get("id"), str) else ""
            report.error(rf.name, rf.line(table, index), f"missing required key '{key}' in {label}{who}")
            ok = False
    return Entry(index, values, ok, raw)


def _entries(rf: RuleFile | None, table: str, report: _Report) -> list[Entry]:
    """Type-checked entries of one array table, plus duplicate-id errors."""
    if rf is None:
        return []
    rows = rf.data.get(table, [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        report.error(rf.name, rf.line(None, 0, table), f"'{table}' must be written as [[{table}]] tables")
        return []
    keys = ARRAY_FILES[rf.name][table]
    entries = [_check_keys(rf, table, i, row, keys, report) for i, row in enumerate(rows)]
    _check_unique(rf, table, entries, report)
    return entries


def _check_unique(rf: RuleFile, table: str, entries: list[Entry], report: _Report) -> None:
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


def _ids(entries: list[Entry] | None) -> set[str] | None:
    # None means "the file could not be read": references into it are then not checked.
    return None if entries is None else {e.get("id") for e in entries if e.get("id")}


def _check_refs(rf: RuleFile, table: str | None, e: Entry, key: str, known: set[str] | None, what: str,
                report: _Report) -> None:
    value = e.get(key)
    refs = value if isinstance(value, tuple) else (value,) if value else ()
    for ref in refs:
        if known is not None and ref not in known:
            report.error(rf.name, rf.line(table, e.index, key), f"unknown {what} '{ref}'")


# ---------------------------------------------------------------- reading files

def _read_toml(path: Path, report: _Report) -> RuleFile | None:
    if not path.exists():
        if path.name not in OPTIONAL_FILES:
            report.error(path.name, 1, f"file missing (expected in {path.parent})")
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        report.error(path.name, 1, f"cannot read the file as UTF-8 text: {exc}")
        return None
    lines = TomlLines(text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, message = _toml_error(str(exc), lines.last_line)
        report.error(path.name, line, f"TOML syntax error: {message}")
        return None
    return RuleFile(path.name, data, lines)


def _toml_error(text: str, last_line: int) -> tuple[int, str]:
    match = re.search(r"\s*\(at line (\d+), column (\d+)\)$", text)
    if match:
        return int(match.group(1)), f"{text[:match.start()]} (column {match.group(2)})"
    return last_line, text.replace(" (at end of document)", " (at the end of the file)")


def _check_flat(rf: RuleFile | None, keys: dict[str, Key], report: _Report) -> Entry | None:
    return None if rf is None else _check_keys(rf, None, 0, rf.data, keys, report)


def _check_top_level(rf: RuleFile | None, report: _Report) -> None:
    """Array files hold only their [[table]]s: anything else at the top is an unknown key."""
    if rf is None:
        return
    allowed = ARRAY_FILES[rf.name]
    for key in rf.data:
        if key not in allowed:
            tables = ", ".join(f"[[{t}]]" for t in allowed)
            report.error(rf.name, rf.line(None, 0, key), f"unknown key '{key}' (this file holds {tables})")


def _read_roster(path: Path, report: _Report) -> tuple[RosterEntry, ...] | None:
    if not path.exists():
        return None
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        report.error(ROSTER_FILE, 1, f"cannot read the file as UTF-8 text: {exc}")
        return ()
    reader = csv.reader(text.splitlines())
    header = [h.strip() for h in next(reader, [])]
    if header != ROSTER_HEADER:
        report.error(ROSTER_FILE, 1, f"header must be {','.join(ROSTER_HEADER)}, not {','.join(header)}")
        return ()
    entries, first = [], {}
    for row in reader:
        entry = _roster_row(row, reader.line_num, first, report)
        if entry:
            entries.append(entry)
    return tuple(entries)


def _roster_row(row: list[str], line: int, first: dict[str, int], report: _Report) -> RosterEntry | None:
    if not any(cell.strip() for cell in row):
        return None
    if len(row) != 3:
        report.error(ROSTER_FILE, line, f"expected 3 columns ({','.join(ROSTER_HEADER)}), not {len(row)}")
        return None
    code, name, cats = (cell.strip() for cell in row)
    problem = _credit_code_problem(code)
    if problem:
        report.error(ROSTER_FILE, line, f"invalid credit code '{code}': {problem}")
        return None
    code = uscc.compact(code)
    if code in first:
        report.error(ROSTER_FILE, line, f"duplicate credit code '{code}' (first at line {first[code]})")
        return None
    first[code] = line
    if not name:
        report.error(ROSTER_FILE, line, f"credit code '{code}' has no name")
    categories = tuple(c.strip() for c in re.split(r"[;；]", cats) if c.strip())
    for cat in categories:
        if cat not in ROSTER_CATEGORIES:
            report.warn(ROSTER_FILE, line, f"unknown category '{cat}' (known: {'、'.join(ROSTER_CATEGORIES)})")
    return RosterEntry(code, name, categories)


def _credit_code_problem(code: str) -> str | None:
    try:
        uscc.validate(code)
    except stdnum_errors.InvalidLength:
        return "it must have 18 characters"
    except stdnum_errors.InvalidFormat:
        return "invalid characters"
    except stdnum_errors.InvalidChecksum:
        return "the check character does not match"
    return None


# ---------------------------------------------------------------- building the Ruleset

def load_rules(rules_dir: Path) -> Ruleset:
    """The rules in rules_dir; RuleFileError with every `file:line: message` when any is wrong."""
    result = load_report(rules_dir)
    if result.errors:
        raise RuleFileError(result.errors)
    return result.ruleset


def load_report(rules_dir: Path) -> LoadResult:
    """Read and check every rule file; the Ruleset is None when there are errors."""
    rules_dir = Path(rules_dir)
    report = _Report()
    names = ["programme.toml", "deadlines.toml", *ARRAY_FILES]
    files = {name: _read_toml(rules_dir / name, report) for name in names}
    for name in ARRAY_FILES:
        _check_top_level(files[name], report)
    parts = _build(files, rules_dir, report)
    ruleset = None
    if not report.errors:
        ruleset = Ruleset(**parts, source_dir=str(rules_dir), warnings=tuple(report.warnings))
    return LoadResult(ruleset, report.errors, report.warnings, {k: v for k, v in files.items() if v})


def _build(files: dict[str, RuleFile | None], rules_dir: Path, report: _Report) -> dict:
    programme = _programme(files["programme.toml"], report)
    units = _units(files["units.toml"], programme, report)
    unit_ids = _ids(units)
    fields = _fields(files["fields.toml"], unit_ids, report)
    leaders = _leaders(files["leaders.toml"], _ids(fields), report)
    sessions = _sessions(files["sessions.toml"], leaders, _ids(fields), report)
    holidays, workdays = _holidays(files["holidays.toml"], report)
    return {
        "programme": programme,
        "units": _made(units, _make_unit),
        "fields": _made(fields, FieldRule),
        "leaders": _made(leaders, Leader),
        "sessions": _sorted_sessions(_made(sessions, Session)),
        "exclusions": _exclusions(files["exclusions.toml"], unit_ids, report),
        "deadlines": _deadlines(files["deadlines.toml"], unit_ids, report),
        "roster": _read_roster(rules_dir / ROSTER_FILE, report),
        "holidays": tuple(Holiday(**e.values) for e in holidays if e.ok),
        "workdays": tuple(Workday(**e.values) for e in workdays if e.ok),
    }


def _sorted_sessions(sessions: tuple[Session, ...]) -> tuple[Session, ...]:
    # Date order, whatever the file order: "the earliest session whose window holds D" is then the first.
    return tuple(sorted(sessions, key=lambda s: (s.date, s.start)))


def _made(entries: list[Entry] | None, make) -> tuple:
    return tuple(make(**e.values) for e in entries or [] if e.ok)


def _programme(rf: RuleFile | None, report: _Report) -> Programme | None:
    entry = _check_flat(rf, PROGRAMME_KEYS, report)
    if entry is None:
        return None
    for key in ("mailbox", "admin_emails"):
        _check_emails(rf, None, entry, key, report)
    _check_programme_values(rf, entry, report)
    if not entry.get("admin_emails"):
        report.warn(rf.name, rf.line(), "no admin_emails: nobody receives rule errors or may send the ledger")
    return Programme(**entry.values) if entry.ok else None


def _check_programme_values(rf: RuleFile, entry: Entry, report: _Report) -> None:
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


def _format_works(fmt: str) -> bool:
    try:
        fmt.format(year=2026, seq=1)
    except (KeyError, IndexError, ValueError):
        return False
    return "{seq" in fmt


def _check_emails(rf: RuleFile, table: str | None, e: Entry, key: str, report: _Report) -> None:
    value = e.get(key)
    for address in value if isinstance(value, tuple) else (value,) if value is not None else ():
        if not EMAIL_RE.match(address):
            report.error(rf.name, rf.line(table, e.index, key), f"invalid email address '{address}'")


def _units(rf: RuleFile | None, programme: Programme | None, report: _Report) -> list[Entry] | None:
    if rf is None:
        return None
    entries = _entries(rf, "unit", report)
    districts = programme.districts if programme else None
    for e in entries:
        _check_unit(rf, e, districts, report)
    _check_unit_coverage(rf, entries, districts, report)
    return entries


def _check_unit(rf: RuleFile, e: Entry, districts: tuple[str, ...] | None, report: _Report) -> None:
    line = rf.line("unit", e.index)
    if "emails" not in e.raw or e.get("emails") == ():
        report.error(rf.name, rf.line("unit", e.index, "emails"), f"unit '{e.get('id')}' has no email address")
    _check_emails(rf, "unit", e, "emails", report)
    kind = e.get("kind")
    if kind is not None and kind not in UNIT_KINDS:
        report.error(rf.name, rf.line("unit", e.index, "kind"),
                     f"unknown kind '{kind}' (allowed: {', '.join(UNIT_KINDS)})")
    district = e.get("district")
    if kind == "district" and not district:
        report.error(rf.name, line, f"district unit '{e.get('id')}' needs a 'district' key")
    if district and districts is not None and district not in districts:
        report.error(rf.name, rf.line("unit", e.index, "district"),
                     f"district '{district}' is not in programme.toml districts")


def _check_unit_coverage(rf: RuleFile, entries: list[Entry], districts, report: _Report) -> None:
    kinds = {e.get("kind") for e in entries}
    for kind in ("supervision", "office"):
        if kind not in kinds:
            report.warn(rf.name, 1, f"no unit of kind '{kind}'")
    covered = {e.get("district") for e in entries if e.get("kind") == "district"}
    for district in districts or ():
        if district not in covered:
            report.warn(rf.name, 1, f"no district government (kind = \"district\") for {district}: "
                        "demands cannot be referred there")


def _make_unit(**values) -> Unit:
    return Unit(**{"emails": (), **values})  # no emails is an error already; keep building for the report


def _fields(rf: RuleFile | None, unit_ids: set[str] | None, report: _Report) -> list[Entry] | None:
    if rf is None:
        return None
    entries = _entries(rf, "field", report)
    if not entries:
        report.error(rf.name, 1, "no [[field]] defined")
    for e in entries:
        _check_refs(rf, "field", e, "departments", unit_ids, "unit", report)
    _check_field_names(rf, entries, report)
    _check_field_keywords(rf, entries, report)
    return entries


def _check_field_names(rf: RuleFile, entries: list[Entry], report: _Report) -> None:
    """A name or alias naming two fields would make the form's 诉求领域 ambiguous."""
    owner: dict[str, str] = {}
    for e in entries:
        for text in (e.get("name"), *e.get("aliases", ())):
            key = _norm(text or "")
            if not key:
                continue
            other = owner.setdefault(key, e.get("id"))
            if other != e.get("id"):
                report.error(rf.name, rf.line("field", e.index, "aliases" if text != e.get("name") else "name"),
                             f"'{text}' names both field '{other}' and field '{e.get('id')}'")


def _check_field_keywords(rf: RuleFile, entries: list[Entry], report: _Report) -> None:
    owner: dict[str, str] = {}
    for e in entries:
        for word in e.get("keywords", ()):
            other = owner.setdefault(word, e.get("id"))
            if other != e.get("id"):
                report.warn(rf.name, rf.line("field", e.index, "keywords"),
                            f"keyword '{word}' is in both field '{other}' and field '{e.get('id')}'")


def _norm(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", text)


def _leaders(rf: RuleFile | None, field_ids: set[str] | None, report: _Report) -> list[Entry] | None:
    if rf is None:
        return None
    entries = _entries(rf, "leader", report)
    for e in entries:
        _check_refs(rf, "leader", e, "fields", field_ids, "field", report)
        if e.get("fields") == () or "fields" not in e.raw:
            report.warn(rf.name, rf.line("leader", e.index), f"leader '{e.get('id')}' takes no field")
    return entries


def _sessions(rf: RuleFile | None, leaders: list[Entry] | None, field_ids: set[str] | None,
              report: _Report) -> list[Entry] | None:
    if rf is None:
        return None
    entries = _entries(rf, "session", report)
    if not entries:
        report.warn(rf.name, 1, "no [[session]] defined: every demand is held until one is")
    leader_fields = {e.get("id"): e.get("fields", ()) for e in leaders or []}
    for e in entries:
        _check_refs(rf, "session", e, "leader", _ids(leaders), "leader", report)
        _check_refs(rf, "session", e, "fields", field_ids, "field", report)
        _check_session_values(rf, e, report)
        if e.ok:  # resolved here so every consumer sees the fields the session takes
            e.values["fields"] = e.get("fields", leader_fields.get(e.get("leader"), ()))
    return entries


def _check_session_values(rf: RuleFile, e: Entry, report: _Report) -> None:
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


def _exclusions(rf: RuleFile | None, unit_ids: set[str] | None, report: _Report) -> tuple[Exclusion, ...]:
    if rf is None:
        return ()
    entries = _entries(rf, "exclusion", report)
    for e in entries:
        _check_exclusion(rf, e, unit_ids, report)
    present = {e.get("id") for e in entries}
    for rule_id in EXCLUSION_IDS:
        if rule_id not in present:
            report.warn(rf.name, 1, f"exclusion {rule_id} is not defined: it will not be applied")
    return tuple(_make_exclusion(e.values) for e in entries if e.ok)


def _check_exclusion(rf: RuleFile, e: Entry, unit_ids: set[str] | None, report: _Report) -> None:
    rule_id, declaration = e.get("id"), e.get("declaration")
    if rule_id is not None and rule_id not in EXCLUSION_IDS:
        report.error(rf.name, rf.line("exclusion", e.index, "id"),
                     f"unknown exclusion id '{rule_id}' (known: {', '.join(EXCLUSION_IDS)})")
    if declaration is not None and declaration not in DECLARATIONS:
        report.error(rf.name, rf.line("exclusion", e.index, "declaration"),
                     f"unknown declaration '{declaration}' (known: {', '.join(DECLARATIONS)})")
    if declaration and rule_id in ("EX-VAGUE", "EX-ANONYMOUS"):
        report.error(rf.name, rf.line("exclusion", e.index, "declaration"), f"{rule_id} reads no declaration")
    _check_refs(rf, "exclusion", e, "refer_unit", unit_ids, "unit", report)


def _make_exclusion(v: dict) -> Exclusion:
    return Exclusion(**v)


def _deadlines(rf: RuleFile | None, unit_ids: set[str] | None, report: _Report) -> Deadlines | None:
    entry = _check_flat(rf, DEADLINE_KEYS, report)
    if entry is None:
        return None
    _check_refs(rf, None, entry, "escalate_to", unit_ids, "unit", report)
    weekday = entry.get("digest_weekday")
    if weekday is not None and weekday.lower() not in WEEKDAYS:
        report.error(rf.name, rf.line(None, 0, "digest_weekday"),
                     f"digest_weekday must be one of {', '.join(WEEKDAYS)}, not '{weekday}'")
    values = dict(entry.values)
    return Deadlines(**values) if entry.ok else None


def _holidays(rf: RuleFile | None, report: _Report) -> tuple[list[Entry], list[Entry]]:
    if rf is None:
        return [], []
    holidays, workdays = _entries(rf, "holiday", report), _entries(rf, "workday", report)
    for e in holidays:
        if e.get("start") and e.get("end") and e.get("end") < e.get("start"):
            report.error(rf.name, rf.line("holiday", e.index, "end"),
                         f"holiday '{e.get('id')}' ends {e.get('end')}, before it starts {e.get('start')}")
    for e in workdays:
        _check_workday(rf, e, holidays, report)
    return holidays, workdays


def _check_workday(rf: RuleFile, e: Entry, holidays: list[Entry], report: _Report) -> None:
    day = e.get("date")
    if day is None:
        return
    line = rf.line("workday", e.index, "date")
    for h in holidays:
        if h.get("start") and h.get("end") and h.get("start") <= day <= h.get("end"):
            report.error(rf.name, line, f"make-up working day {day} falls inside holiday '{h.get('id')}'")
    if day.weekday() < 5:
        report.warn(rf.name, line, f"make-up working day {day} is a weekday already")
