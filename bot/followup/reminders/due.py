"""Which reminders and escalations are due on day D: a pure function of the assignments.

Contract: spec/interfaces.md "Deadlines and reminders". Nothing here reads the database, the clock or
the sent-log; the caller passes today's date and the assignments, and dedupes with `sent_key`.

Every due date is a working day (compute_deadlines and the 十日一报 chain roll rest days forward),
and reminders go out on working days only. On a rest day nothing is due. On a working day D the
"window" is every calendar day after the previous working day up to D: a stage whose day fell on a
rest day inside the window is sent once, on D, with the days overdue as of D.

Stages of one unsettled due item on working day D (r = overdue_repeat_days, E = escalate_after_overdue_days):
- `before`     N working days before the due date, N > 0 in reminder_lead_days
               (N working days in (D, due], see WorkCalendar.working_days_before);
- `due`        the due date is in the window (when 0 is in reminder_lead_days) and D is not past it;
- `overdue`    a day of the window is 1, 1 + r, 1 + 2r, ... calendar days after the due date;
- `escalation` D - due >= E (and >= 1). It is returned on *every* such working day, on purpose: the
               spec says "once, on the first day with at least E days overdue", and when the daemon
               was down (or that day was a rest day) the first day is the first working day we run
               afterwards. A pure function cannot know whether it was sent already, so the caller's
               sent-log dedupes escalations by (case, unit, kind, due, "escalation") -- without D (see
               `sent_key`). A moved due date (`extend`) is a new due item and may escalate again.
`before`, `due` and `overdue` are per-day and are not caught up after downtime: a reminder for a day
that has passed would say the wrong thing.

十日一报 (long-term cases): the 落实情况 counts as the first report, so the first progress report is
due `long_term_report_days` calendar days after the later of the 落实情况 due date and the last
report received (落实情况 or 进展), rolled to a working day; again after each progress report, until
a result is in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from bot.calendar import WorkCalendar
from bot.rules.model import Deadlines
from bot.store.states import ReportKind, Role

STATUS, RESULT, PROGRESS, EXTENSION = ReportKind.STATUS, ReportKind.RESULT, ReportKind.PROGRESS, ReportKind.EXTENSION
BEFORE, DUE, OVERDUE, ESCALATION = "before", "due", "overdue", "escalation"
LEAD = Role.LEAD


@dataclass(frozen=True, slots=True)
class ReportIn:
    kind: str  # status | result | progress | extension
    received: date


@dataclass(slots=True)  # not frozen: 100,000 are built per reminder run, and frozen init is 5x slower
class AssignmentIn:
    case: str
    unit: str
    role: str  # lead | co
    assigned: date
    long_term: bool
    result_due: date  # already moved by `extend`
    status_due: date
    reports: tuple[ReportIn, ...]
    closed: bool
    unit_emails: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DueItem:
    case: str
    unit: str
    kind: str  # status | result | progress
    due: date


@dataclass(frozen=True, slots=True)
class Reminder:
    case: str
    unit: str  # the unit whose item is due, for escalation too
    kind: str
    due: date
    stage: str  # before | due | overdue | escalation
    days_overdue: int
    to: tuple[str, ...]  # the unit's addresses; the escalate_to unit's for escalation

    def to_json(self) -> dict:
        return {
            "case": self.case,
            "unit": self.unit,
            "kind": self.kind,
            "due": self.due.isoformat(),
            "stage": self.stage,
            "days_overdue": self.days_overdue,
            "to": list(self.to),
        }


def compute_deadlines(assigned: date, rules: Deadlines, cal: WorkCalendar) -> tuple[date, date]:
    """(status_due, result_due) of an assignment dated `assigned` (work plan 四(三))."""
    status_due = cal.add_working_days(assigned, rules.status_report_working_days)
    result_due = cal.add_days_rolled(assigned, rules.result_days)
    return status_due, result_due


def next_progress_due(a: AssignmentIn, rules: Deadlines, cal: WorkCalendar) -> date | None:
    """The next 十日一报 date of a long-term case; None when not long-term or a result is in."""
    return _progress_due(a, rules, cal, a.reports)


def due_items(a: AssignmentIn, rules: Deadlines, cal: WorkCalendar, today: date) -> list[DueItem]:
    """The unsettled due items of one lead assignment as of today (co-units and closed: none).

    Reports received after `today` are ignored, so a replay with --today sees what was known then.
    The 落实情况 and 办理结果 dates are stored on the assignment; `cal` rolls the 十日一报 date.
    """
    if a.closed or a.role != LEAD:
        return []
    reports = tuple(r for r in a.reports if r.received <= today)
    kinds = {r.kind for r in reports}
    items = []
    if STATUS not in kinds:
        items.append(DueItem(a.case, a.unit, STATUS, a.status_due))
    if RESULT not in kinds:
        items.append(DueItem(a.case, a.unit, RESULT, a.result_due))
    progress_due = _progress_due(a, rules, cal, reports)
    if progress_due is not None:
        items.append(DueItem(a.case, a.unit, PROGRESS, progress_due))
    return items


def reminders_due(
    assignments: Iterable[AssignmentIn],
    rules: Deadlines,
    cal: WorkCalendar,
    today: date,
    escalate_to_emails: tuple[str, ...],
) -> list[Reminder]:
    """Every reminder and escalation due on `today`, sorted by (case, unit, kind, stage).

    Escalations come back on every day from due + escalate_after_overdue_days on; dedupe them with
    `sent_key` (see the module docstring). An empty `escalate_to_emails` still yields the escalation
    (with `to` empty) so the caller can tell the admin that nobody is configured to receive it.
    """
    plan = _DayPlan(rules, cal, today, tuple(escalate_to_emails))
    found = [
        reminder
        for a in assignments
        for item in due_items(a, rules, cal, today)
        for reminder in plan.stages(item, a.unit_emails)
    ]
    found.sort(key=lambda r: (r.case, r.unit, r.kind, r.stage, r.due))
    return found


def sent_key(reminder: Reminder, today: date) -> tuple:
    """The sent-log key: (case, unit, kind, due, stage, D), with D left out for escalation."""
    base = (reminder.case, reminder.unit, reminder.kind, reminder.due, reminder.stage)
    return base if reminder.stage == ESCALATION else base + (today,)


class _DayPlan:
    """The rules resolved once for one day, so the per-item work is a few comparisons."""

    def __init__(self, rules: Deadlines, cal: WorkCalendar, today: date, escalate_to: tuple[str, ...]):
        self.cal = cal
        self.today = today
        self.escalate_to = escalate_to
        # Nothing is sent on a rest day; on a working day the window reaches back over the rest
        # days since the previous working day, whose stages are sent today, once.
        self.working = cal.is_working_day(today)
        self.window_start = cal.previous_working_day(today) + timedelta(days=1) if self.working else today
        self.leads = tuple(sorted({n for n in rules.reminder_lead_days if n > 0}))
        self.on_due = 0 in rules.reminder_lead_days
        self.repeat = rules.overdue_repeat_days
        self.escalate_at = max(1, rules.escalate_after_overdue_days)

    def stages(self, item: DueItem, unit_emails: tuple[str, ...]) -> Iterator[Reminder]:
        if not self.working:
            return
        late = (self.today - item.due).days
        if late < 0:
            if self._is_before(item.due):
                yield _reminder(item, BEFORE, 0, unit_emails)
        elif late == 0:
            # (A due date on a rest day -- a calendar edited after the assignment -- is past by
            # the next working day: its 1-day overdue stage, in the window, stands in for `due`.)
            if self.on_due:
                yield _reminder(item, DUE, 0, unit_emails)
        else:
            if self._overdue_in_window(item.due):
                yield _reminder(item, OVERDUE, late, unit_emails)
            if late >= self.escalate_at:
                yield _reminder(item, ESCALATION, late, self.escalate_to)

    def _is_before(self, due: date) -> bool:
        return any(self.cal.working_days_before(due, n) == self.today for n in self.leads)

    def _overdue_in_window(self, due: date) -> bool:
        """True when a day of the window is an overdue day of this due date."""
        first = max((self.window_start - due).days, 1)
        return any(self._is_overdue_day(late) for late in range(first, (self.today - due).days + 1))

    def _is_overdue_day(self, late: int) -> bool:
        # A repeat interval below 1 means "remind once, the day after due".
        if self.repeat < 1:
            return late == 1
        return (late - 1) % self.repeat == 0


def _reminder(item: DueItem, stage: str, late: int, to: tuple[str, ...]) -> Reminder:
    return Reminder(item.case, item.unit, item.kind, item.due, stage, late, to)


def _progress_due(a: AssignmentIn, rules: Deadlines, cal: WorkCalendar,
                  reports: tuple[ReportIn, ...]) -> date | None:
    # 十日一报: the 落实情况 is the first report; the next is due long_term_report_days calendar days
    # after the later of its due date and the latest 落实情况/进展 received, on a working day.
    if not a.long_term or any(r.kind == RESULT for r in reports):
        return None
    last = max([a.status_due, *(r.received for r in reports if r.kind in (STATUS, PROGRESS))])
    return cal.add_days_rolled(last, rules.long_term_report_days)


@dataclass(frozen=True, slots=True)
class DueRecord:
    """One item that fell due (or will) in an assignment's life, and when its report came."""

    kind: str  # status | result | progress
    due: date
    settled: date | None  # the day the matching report was received; None while it has not


def due_history(a: AssignmentIn, rules: Deadlines, cal: WorkCalendar, until: date) -> list[DueRecord]:
    """Every due item of a lead assignment up to `until` (reports after it are not known yet): the
    落实情况, the 办理结果 and each 十日一报 in force before a report settled it or moved it. The
    leaders' report counts them; a report received after its due date counts as late."""
    if a.role != LEAD:
        return []
    reports = sorted((r for r in a.reports if r.received <= until), key=lambda r: r.received)
    first = {kind: next((r.received for r in reports if r.kind == kind), None) for kind in (STATUS, RESULT)}
    records = [DueRecord(STATUS, a.status_due, first[STATUS]), DueRecord(RESULT, a.result_due, first[RESULT])]
    return records + _progress_history(a, rules, cal, reports)


def _progress_history(a: AssignmentIn, rules: Deadlines, cal: WorkCalendar,
                      reports: list[ReportIn]) -> list[DueRecord]:
    if not a.long_term:
        return []
    records: list[DueRecord] = []
    due = cal.add_days_rolled(a.status_due, rules.long_term_report_days)
    for report in reports:
        if report.kind == RESULT:
            if due < report.received:  # it fell due before the result came, unreported
                records.append(DueRecord(PROGRESS, due, None))
            return records
        if report.kind == PROGRESS:
            records.append(DueRecord(PROGRESS, due, report.received))
        elif report.kind == STATUS:
            if due < report.received:
                records.append(DueRecord(PROGRESS, due, None))  # missed, then moved by a late 落实情况
        else:
            continue  # an extension request does not move the chain
        # As _progress_due: N days after the later of the 落实情况 due date and this report.
        due = cal.add_days_rolled(max(a.status_due, report.received), rules.long_term_report_days)
    records.append(DueRecord(PROGRESS, due, None))
    return records
