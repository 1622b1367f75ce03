"""rules/*.toml + rules/roster.csv -> Ruleset, with every problem reported as `file:line: message`.

`load_report` reads every rule file, validates each entry against its class in model.py (keys,
types, ranges: schema.py reports them) and checks the references between files (units, fields,
leaders), and collects all problems (errors and warnings, in Chinese) at once so the admin can fix
them in one go; `load_rules` raises RuleFileError when there is any error. Line positions come from
bot/tomlpos.py, the roster from roster.py; semantic checks that need the working-day calendar live in
checks.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import RuleFileError
from bot.rules.model import (
    ARRAY_FILES,
    Deadlines,
    Exclusion,
    Programme,
    Ruleset,
    Session,
)
from bot.rules.roster import ROSTER_FILE, read_roster
from bot.rules.schema import (
    EXCLUSION_IDS,
    OPTIONAL_FILES,
    WEEKDAYS,
    Entry,
    check_emails,
    check_entries,
    check_exclusion_values,
    check_flat,
    check_programme_values,
    check_refs,
    check_session_values,
    check_top_level,
    entry_ids,
)
from bot.tomlpos import Report, RuleFile, TomlLines, read_toml

__all__ = ["LoadResult", "RuleFile", "TomlLines", "load_report", "load_rules"]


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


def load_rules(rules_dir: Path) -> Ruleset:
    """The rules in rules_dir; RuleFileError with every `file:line: message` when any is wrong."""
    result = load_report(rules_dir)
    if result.errors:
        raise RuleFileError(result.errors)
    return result.ruleset


def load_report(rules_dir: Path) -> LoadResult:
    """Read and check every rule file; the Ruleset is None when there are errors."""
    rules_dir = Path(rules_dir)
    report = Report()
    names = ["programme.toml", "deadlines.toml", *ARRAY_FILES]
    files = {name: _read_toml(rules_dir / name, report) for name in names}
    for name in ARRAY_FILES:
        check_top_level(files[name], report)
    parts = _build(files, rules_dir, report)
    ruleset = None
    if not report.errors:
        ruleset = Ruleset(**parts, source_dir=str(rules_dir), warnings=tuple(report.warnings))
    return LoadResult(ruleset, report.errors, report.warnings, {k: v for k, v in files.items() if v})


def _read_toml(path: Path, report: Report) -> RuleFile | None:
    if not path.exists():
        if path.name not in OPTIONAL_FILES:
            report.error(path.name, 1, f"缺少此文件（应在 {path.parent} 中）")
        return None
    parsed, failure = read_toml(path)
    if parsed is None:
        report.error(path.name, *failure)
    return parsed


def _build(files: dict[str, RuleFile | None], rules_dir: Path, report: Report) -> dict:
    programme = _programme(files["programme.toml"], report)
    units = _units(files["units.toml"], programme, report)
    unit_ids = entry_ids(units)
    fields = _fields(files["fields.toml"], unit_ids, report)
    leaders = _leaders(files["leaders.toml"], entry_ids(fields), report)
    sessions = _sessions(files["sessions.toml"], leaders, entry_ids(fields), report)
    holidays, workdays = _holidays(files["holidays.toml"], report)
    return {
        "programme": programme,
        "units": _made(units),
        "fields": _made(fields),
        "leaders": _made(leaders),
        "sessions": _sorted_sessions(_made(sessions)),
        "exclusions": _exclusions(files["exclusions.toml"], unit_ids, report),
        "deadlines": _deadlines(files["deadlines.toml"], unit_ids, report),
        "roster": read_roster(rules_dir / ROSTER_FILE, report),
        "holidays": _made(holidays),
        "workdays": _made(workdays),
    }


def _sorted_sessions(sessions: tuple[Session, ...]) -> tuple[Session, ...]:
    # Date order, whatever the file order: "the earliest session whose window holds D" is then the first.
    return tuple(sorted(sessions, key=lambda s: (s.date, s.start)))


def _made(entries: list[Entry] | None) -> tuple:
    return tuple(e.made for e in entries or [] if e.ok)


def _programme(rf: RuleFile | None, report: Report) -> Programme | None:
    entry = check_flat(rf, report)
    if entry is None:
        return None
    for key in ("mailbox", "admin_emails"):
        check_emails(rf, None, entry, key, report)
    check_programme_values(rf, entry, report)
    if not entry.get("admin_emails"):
        report.warn(rf.name, rf.line(), "未设置 admin_emails：规则错误无人接收，也无人可以用邮件提交台账")
    return entry.made if entry.ok else None


def _units(rf: RuleFile | None, programme: Programme | None, report: Report) -> list[Entry] | None:
    if rf is None:
        return None
    # No emails key is the unit's own error (below), not a missing key.
    entries = check_entries(rf, "unit", report, prepare=lambda row: {"emails": [], **row})
    districts = programme.districts if programme else None
    for e in entries:
        _check_unit(rf, e, districts, report)
    _check_unit_coverage(rf, entries, districts, report)
    return entries


def _check_unit(rf: RuleFile, e: Entry, districts: tuple[str, ...] | None, report: Report) -> None:
    line = rf.line("unit", e.index)
    if "emails" not in e.raw or e.get("emails") == ():
        report.error(rf.name, rf.line("unit", e.index, "emails"), f"单位“{e.get('id')}”没有邮箱地址")
        e.ok = False
    check_emails(rf, "unit", e, "emails", report)
    kind = e.get("kind")
    district = e.get("district")
    if kind == "district" and not district:
        report.error(rf.name, line, f"区政府单位“{e.get('id')}”须填写 district（所辖的区）")
    if district and districts is not None and district not in districts:
        report.error(rf.name, rf.line("unit", e.index, "district"),
                     f"所辖的区“{district}”不在 programme.toml 的 districts 中")


def _check_unit_coverage(rf: RuleFile, entries: list[Entry], districts, report: Report) -> None:
    kinds = {e.get("kind") for e in entries}
    for kind in ("supervision", "office"):
        if kind not in kinds:
            report.warn(rf.name, 1, f"没有 kind = \"{kind}\" 的单位")
    covered = {e.get("district") for e in entries if e.get("kind") == "district"}
    for district in districts or ():
        if district not in covered:
            report.warn(rf.name, 1, f"{district}没有区政府单位（kind = \"district\"）：诉求无法转至该区")


def _fields(rf: RuleFile | None, unit_ids: set[str] | None, report: Report) -> list[Entry] | None:
    if rf is None:
        return None
    entries = check_entries(rf, "field", report)
    if not entries:
        report.error(rf.name, 1, "没有定义任何 [[field]]")
    for e in entries:
        check_refs(rf, "field", e, "departments", unit_ids, "unit", report)
    _check_field_names(rf, entries, report)
    _check_field_keywords(rf, entries, report)
    return entries


def _check_field_names(rf: RuleFile, entries: list[Entry], report: Report) -> None:
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
                             f"“{text}”同时指领域“{other}”和领域“{e.get('id')}”")


def _check_field_keywords(rf: RuleFile, entries: list[Entry], report: Report) -> None:
    owner: dict[str, str] = {}
    for e in entries:
        for word in e.get("keywords", ()):
            other = owner.setdefault(word, e.get("id"))
            if other != e.get("id"):
                report.warn(rf.name, rf.line("field", e.index, "keywords"),
                            f"关键词“{word}”同时属于领域“{other}”和领域“{e.get('id')}”")


def _norm(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", text)


def _leaders(rf: RuleFile | None, field_ids: set[str] | None, report: Report) -> list[Entry] | None:
    if rf is None:
        return None
    entries = check_entries(rf, "leader", report)
    for e in entries:
        check_refs(rf, "leader", e, "fields", field_ids, "field", report)
        if e.get("fields") == () or "fields" not in e.raw:
            report.warn(rf.name, rf.line("leader", e.index), f"领导“{e.get('id')}”没有分管的领域")
    return entries


def _sessions(rf: RuleFile | None, leaders: list[Entry] | None, field_ids: set[str] | None,
              report: Report) -> list[Entry] | None:
    if rf is None:
        return None
    leader_fields = {e.get("id"): list(e.get("fields", ())) for e in leaders or []}

    def fields_of_leader(row: dict) -> dict:
        # Resolved here so every consumer sees the fields the session takes.
        leader = row.get("leader")
        return {"fields": leader_fields.get(leader, []) if isinstance(leader, str) else [], **row}

    entries = check_entries(rf, "session", report, prepare=fields_of_leader)
    if not entries:
        report.warn(rf.name, 1, "没有定义任何 [[session]]：所有诉求将暂缓安排，直至定义场次")
    for e in entries:
        check_refs(rf, "session", e, "leader", entry_ids(leaders), "leader", report)
        if "fields" in e.raw:
            check_refs(rf, "session", e, "fields", field_ids, "field", report)
        check_session_values(rf, e, report)
    return entries


def _exclusions(rf: RuleFile | None, unit_ids: set[str] | None, report: Report) -> tuple[Exclusion, ...]:
    if rf is None:
        return ()
    entries = check_entries(rf, "exclusion", report)
    for e in entries:
        check_exclusion_values(rf, e, report)
        check_refs(rf, "exclusion", e, "refer_unit", unit_ids, "unit", report)
    present = {e.get("id") for e in entries}
    for rule_id in EXCLUSION_IDS:
        if rule_id not in present:
            report.warn(rf.name, 1, f"未定义情形 {rule_id}：该项不予受理规则将不会适用")
    return _made(entries)


def _deadlines(rf: RuleFile | None, unit_ids: set[str] | None, report: Report) -> Deadlines | None:
    entry = check_flat(rf, report)
    if entry is None:
        return None
    check_refs(rf, None, entry, "escalate_to", unit_ids, "unit", report)
    weekday = entry.get("digest_weekday")
    if weekday is not None and weekday.lower() not in WEEKDAYS:
        report.error(rf.name, rf.line(None, 0, "digest_weekday"),
                     f"“digest_weekday”应为 {'、'.join(WEEKDAYS)} 之一，而不是“{weekday}”")
    return entry.made if entry.ok else None


def _holidays(rf: RuleFile | None, report: Report) -> tuple[list[Entry], list[Entry]]:
    if rf is None:
        return [], []
    holidays, workdays = check_entries(rf, "holiday", report), check_entries(rf, "workday", report)
    for e in holidays:
        if e.get("start") and e.get("end") and e.get("end") < e.get("start"):
            report.error(rf.name, rf.line("holiday", e.index, "end"),
                         f"节假日“{e.get('id')}”的结束日期 {e.get('end')} 早于开始日期 {e.get('start')}")
    for e in workdays:
        _check_workday(rf, e, holidays, report)
    return holidays, workdays


def _check_workday(rf: RuleFile, e: Entry, holidays: list[Entry], report: Report) -> None:
    day = e.get("date")
    if day is None:
        return
    line = rf.line("workday", e.index, "date")
    for h in holidays:
        if h.get("start") and h.get("end") and h.get("start") <= day <= h.get("end"):
            report.error(rf.name, line, f"调休上班日 {day} 落在节假日“{h.get('id')}”之内")
    if day.weekday() < 5:
        report.warn(rf.name, line, f"调休上班日 {day} 本来就是工作日")
