"""`rules check`: the loader's problems plus the checks that need the working-day calendar.

Errors make `rules check` exit 1; warnings are printed after them and change nothing.
"""

from __future__ import annotations

from pathlib import Path

from bot.calendar import WorkCalendar
from bot.rules.loader import LoadResult, load_report
from bot.rules.model import Ruleset, Session

SESSIONS = "sessions.toml"
SESSION_DATE_KEYS = ("date", "registration_opens", "registration_closes", "notice_date")


def check_rules(rules_dir: Path) -> tuple[list[str], list[str]]:
    """(errors, warnings), each `file:line: message`, for the rule files in rules_dir."""
    result = load_report(Path(rules_dir))
    errors, warnings = list(result.errors), list(result.warnings)
    if result.ruleset is None:  # semantic checks need a loaded ruleset
        return errors, warnings
    calendar = WorkCalendar.from_rules(result.ruleset.holidays, result.ruleset.workdays)
    errors += notice_problems(result, calendar)
    warnings += holiday_data_warnings(result, calendar)
    warnings += rest_day_warnings(result, calendar)
    warnings += overlap_warnings(result)
    warnings += [f"{_where(result, s)}: 场次“{s.id}”未填写 notice_date：无法检查通告是否按时发布"
                 for s in _file_order(result) if s.notice_date is None]
    return errors, warnings


def format_report(errors: list[str], warnings: list[str]) -> str:
    """What `rules check` prints: errors first, then warnings, each still `file:line: 提醒：…`."""
    return "\n".join([*errors, *(_as_warning(w) for w in warnings)])


def _as_warning(problem: str) -> str:
    where, sep, message = problem.partition(": ")
    return f"{where}: 提醒：{message}" if sep else f"提醒：{problem}"


def _where(result: LoadResult, session: Session, key: str | None = None) -> str:
    return f"{SESSIONS}:{result.line_of(SESSIONS, 'session', session.id, key)}"


def notice_problems(result: LoadResult, calendar) -> list[str]:
    """A notice published later than notice_lead_working_days working days before its session (error)."""
    rules = result.ruleset
    lead = rules.deadlines.notice_lead_working_days
    problems = []
    for s in rules.sessions:
        if s.notice_date is None:
            continue
        if not all(calendar.has_data(y) for y in {s.notice_date.year, s.date.year}):
            continue  # holiday_data_warnings says why this one cannot be checked
        latest = calendar.working_days_before(s.date, lead)
        if s.notice_date > latest:
            problems.append(f"{_where(result, s, 'notice_date')}: 通告日期 {s.notice_date} 晚于接待日前 "
                            f"{lead} 个工作日（最晚应为 {latest}）")
    return problems


def holiday_data_warnings(result: LoadResult, calendar) -> list[str]:
    """A session date in a year neither the calendar library nor holidays.toml covers (once per year)."""
    warned: set[int] = set()
    warnings = []
    for s in _file_order(result):
        for key in SESSION_DATE_KEYS:
            day = getattr(s, key)
            if day is None or day.year in warned or calendar.has_data(day.year):
                continue
            warned.add(day.year)
            warnings.append(f"{_where(result, s, key)}: 没有 {day.year} 年的节假日数据：请在 holidays.toml "
                            "中补充该年的节假日和调休上班日")
    return warnings


def rest_day_warnings(result: LoadResult, calendar) -> list[str]:
    return [f"{_where(result, s, 'date')}: 接待日期 {s.date} 不是工作日"
            for s in _file_order(result)
            if calendar.has_data(s.date.year) and not calendar.is_working_day(s.date)]


def overlap_warnings(result: LoadResult) -> list[str]:
    """Two sessions of one leader on the same day whose times overlap: the leader cannot attend both."""
    sessions = _file_order(result)
    warnings = []
    for i, later in enumerate(sessions):
        for earlier in sessions[:i]:
            if _overlap(earlier, later):
                warnings.append(f"{_where(result, later, 'date')}: 场次“{later.id}”与场次“{earlier.id}”"
                                f"时间重叠（同一领导“{later.leader}”，{later.date}）")
    return warnings


def _overlap(a: Session, b: Session) -> bool:
    return a.leader == b.leader and a.date == b.date and a.start < b.end and b.start < a.end


def _file_order(result: LoadResult) -> list[Session]:
    # The Ruleset sorts sessions by date; problems read better in the order the admin wrote them.
    rules: Ruleset = result.ruleset
    return sorted(rules.sessions, key=lambda s: result.line_of(SESSIONS, "session", s.id))
