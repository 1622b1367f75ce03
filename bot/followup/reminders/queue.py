"""Reminders and escalations: the pure `reminders_due` over the open lead assignments, deduped by
the reminder log so that nothing is sent twice, across restarts."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date

from sqlalchemy import String, cast
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.calendar import WorkCalendar
from bot.context import Runtime
from bot.followup.reminders.due import (
    ESCALATION,
    AssignmentIn,
    Reminder,
    ReportIn,
    reminders_due,
)
from bot.followup.reminders.mails import escalation_draft, reminder_draft
from bot.followup.status import IN_HAND
from bot.outbox.queue import queue
from bot.store.models import Assignment, Case, ReminderLog, UnitReport
from bot.store.states import Role

log = logging.getLogger(__name__)


def open_lead_assignments(db: Session, rt: Runtime) -> list[AssignmentIn]:
    """Lead assignments of open cases with their reports: plain rows through Core, not ORM
    objects, so 100,000 of them load in about a second."""
    a = Assignment
    return _lead_rows(db, rt, (a.role == Role.LEAD, a.closed == False,  # noqa: E712
                               Case.status.in_(IN_HAND)))


def all_lead_assignments(db: Session, rt: Runtime) -> list[AssignmentIn]:
    """Every lead assignment, closed ones too (the leaders' report counts what fell due)."""
    return _lead_rows(db, rt, (Assignment.role == Role.LEAD,))


def _lead_rows(db: Session, rt: Runtime, where: tuple) -> list[AssignmentIn]:
    a = Assignment
    sqlite = db.get_bind().dialect.name == "sqlite"
    as_date, day = (_as_text, date.fromisoformat) if sqlite else (_native, _same)
    conn = db.connection()
    rows = conn.execute(select(a.id, Case.number, a.unit_id, a.role, as_date(a.assigned),
                               a.long_term, as_date(a.result_due), as_date(a.status_due), a.closed)
                        .join(Case, Case.id == a.case_id).where(*where)).all()
    chosen = select(a.id).join(Case, Case.id == a.case_id).where(*where)
    reports: dict[int, list[ReportIn]] = defaultdict(list)
    for assignment_id, kind, received in conn.execute(
            select(UnitReport.assignment_id, UnitReport.kind, as_date(UnitReport.received))
            .where(UnitReport.assignment_id.in_(chosen))):
        reports[assignment_id].append(ReportIn(kind, day(received)))
    emails = {u.id: tuple(u.emails) for u in rt.ruleset.units}
    return [AssignmentIn(case=number, unit=unit, role=role, assigned=day(assigned),
                         long_term=long_term, result_due=day(result_due),
                         status_due=day(status_due), reports=tuple(reports.get(aid, ())),
                         closed=closed, unit_emails=emails.get(unit, ()))
            for aid, number, unit, role, assigned, long_term, result_due, status_due, closed in rows]


def _as_text(column):
    """SQLite keeps dates as ISO text: read it as such, date.fromisoformat is many times faster
    than the dialect's per-row date parsing. (psycopg's native dates are fast already.)"""
    return cast(column, String)


def _native(column):
    return column


def _same(value):
    return value


def due_today(db: Session, rt: Runtime, today: date) -> list[Reminder]:
    rules = rt.ruleset
    cal = WorkCalendar.from_ruleset(rules)
    target = rules.unit_by_id(rules.deadlines.escalate_to)
    escalate_to = tuple(target.emails) if target else ()
    found = reminders_due(open_lead_assignments(db, rt), rules.deadlines, cal, today, escalate_to)
    sent = set(db.exec(select(ReminderLog.key)))
    return [r for r in found if _key(r, today) not in sent] if sent else found


def _key(r: Reminder, today: date) -> str:
    """bot.followup.reminders.due.sent_key as one string: (case, unit, kind, due, stage[, today])."""
    base = f"{r.case}|{r.unit}|{r.kind}|{r.due.isoformat()}|{r.stage}"
    return base if r.stage == ESCALATION else f"{base}|{today.isoformat()}"


def remind_json(db: Session, rt: Runtime) -> dict:
    today = rt.today()
    return {"today": today.isoformat(),
            "reminders": [r.to_json() for r in due_today(db, rt, today)]}


def queue_reminders(rt: Runtime) -> int:
    """Queue today's reminders; each is logged in the same transaction as its mail. The
    escalations of one case and unit go in one mail."""
    today, count = rt.today(), 0
    with Session(rt.engine) as db:
        pending = due_today(db, rt, today)
    for batch in mail_batches(pending):
        with Session(rt.engine) as db:
            for reminder in batch:
                db.add(ReminderLog(key=_key(reminder, today), sent_on=today))
            draft = (escalation_draft(db, rt, batch, today) if batch[0].stage == ESCALATION
                     else reminder_draft(db, rt, batch[0]))
            if draft is not None:
                queue(db, draft, rt.sender, rt.now())
            try:
                db.commit()
            except IntegrityError:
                continue  # another process sent it first
            count += len(batch)
            for reminder in batch:
                log.info("REMIND case=%s unit=%s kind=%s stage=%s due=%s", reminder.case,
                         reminder.unit, reminder.kind, reminder.stage, reminder.due)
    return count


def mail_batches(reminders: list[Reminder]) -> list[list[Reminder]]:
    """One batch per mail: each reminder alone, the escalations of one case and unit together."""
    batches: list[list[Reminder]] = []
    escalations: dict[tuple[str, str], list[Reminder]] = defaultdict(list)
    for r in reminders:
        if r.stage == ESCALATION:
            escalations[(r.case, r.unit)].append(r)
        else:
            batches.append([r])
    return batches + list(escalations.values())
