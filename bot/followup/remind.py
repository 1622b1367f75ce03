"""Reminders and escalations: the pure `reminders_due` over the open lead assignments, deduped by
the reminder log so that nothing is sent twice, across restarts."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.calendar import WorkCalendar
from bot.documents.cn import cn_date
from bot.followup.status import KIND_CN
from bot.outbox.compose import Draft
from bot.outbox.queue import queue
from bot.reminders import AssignmentIn, Reminder, ReportIn, reminders_due, sent_key
from bot.runtime import Runtime
from bot.store.models import Assignment, Case, ReminderLog, UnitReport

log = logging.getLogger("bot.remind")


def open_lead_assignments(db: Session, rt: Runtime) -> list[AssignmentIn]:
    """Lead assignments of open cases, with their reports, in two queries (fast for 100k rows)."""
    rules = rt.ruleset
    rows = db.exec(select(Assignment, Case.number).join(Case, Case.id == Assignment.case_id)
                   .where(Assignment.role == "lead", Assignment.closed == False,  # noqa: E712
                          Case.status.in_(("assigned", "reopened")))).all()
    reports: dict[int, list[ReportIn]] = defaultdict(list)
    ids = [a.id for a, _ in rows]
    for chunk in range(0, len(ids), 5000):
        part = ids[chunk:chunk + 5000]
        for r in db.exec(select(UnitReport).where(UnitReport.assignment_id.in_(part))):
            reports[r.assignment_id].append(ReportIn(r.kind, r.received))
    emails = {u.id: tuple(u.emails) for u in rules.units}
    return [AssignmentIn(case=number, unit=a.unit_id, role=a.role, assigned=a.assigned,
                         long_term=a.long_term, result_due=a.result_due, status_due=a.status_due,
                         reports=tuple(reports.get(a.id, ())), closed=a.closed,
                         unit_emails=emails.get(a.unit_id, ()))
            for a, number in rows]


def due_today(db: Session, rt: Runtime, today: date) -> list[Reminder]:
    rules = rt.ruleset
    cal = WorkCalendar.from_ruleset(rules)
    target = rules.unit_by_id(rules.deadlines.escalate_to)
    escalate_to = tuple(target.emails) if target else ()
    found = reminders_due(open_lead_assignments(db, rt), rules.deadlines, cal, today, escalate_to)
    sent = {row for row in db.exec(select(ReminderLog.key))}
    return [r for r in found if _key(r, today) not in sent]


def _key(reminder: Reminder, today: date) -> str:
    return "|".join(str(part) for part in sent_key(reminder, today))


def remind_json(db: Session, rt: Runtime) -> dict:
    today = rt.today()
    return {"today": today.isoformat(),
            "reminders": [r.to_json() for r in due_today(db, rt, today)]}


def queue_reminders(rt: Runtime) -> int:
    """Queue today's reminders; each is logged in the same transaction as its mail."""
    today, count = rt.today(), 0
    with Session(rt.engine) as db:
        pending = due_today(db, rt, today)
    for reminder in pending:
        with Session(rt.engine) as db:
            db.add(ReminderLog(key=_key(reminder, today), sent_on=today))
            draft = reminder_draft(db, rt, reminder)
            if draft is not None:
                queue(db, draft, rt.sender, rt.now())
            try:
                db.commit()
            except IntegrityError:
                continue  # another process sent it first
            count += 1
            log.info("REMIND case=%s unit=%s kind=%s stage=%s due=%s", reminder.case,
                     reminder.unit, reminder.kind, reminder.stage, reminder.due)
    return count


def reminder_draft(db: Session, rt: Runtime, r: Reminder) -> Draft | None:
    if not r.to:
        return None
    rules = rt.ruleset
    case = db.exec(select(Case).where(Case.number == r.case)).first()
    template = "escalation" if r.stage == "escalation" else "unit_reminder"
    subject, body = rt.templates.render(
        template, programme=rules.programme, r=r, case=case, unit=rules.unit_by_id(r.unit),
        supervisor=rules.unit_by_id(rules.deadlines.escalate_to), kind_cn=KIND_CN[r.kind],
        cn_date=cn_date)
    return Draft(purpose=f"reminder-{r.stage}", to=list(r.to), subject=subject, body=body,
                 case_number=r.case, auto_submitted="auto-generated")


def queue_digest(rt: Runtime) -> None:
    """The weekly digest to the admin: open cases and everything overdue."""
    from bot.followup.notify import admin_draft
    from bot.followup.views import overdue_items

    with Session(rt.engine) as db:
        overdue = overdue_items(db, rt, rt.today())
        open_count = len(db.exec(select(Case.id).where(Case.status.in_(("assigned", "reopened")))).all())
        draft = admin_draft(rt, "admin_digest", overdue=overdue, open_count=open_count,
                            today=rt.today())
        if draft is not None:
            queue(db, draft, rt.sender, rt.now())
            db.commit()
