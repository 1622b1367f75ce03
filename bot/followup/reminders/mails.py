"""The mails of the reminders: one per reminder to the unit, and one escalation per case and unit
and day to the supervision office, listing every overdue item of that unit, with the admin in copy."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from bot.calendar import WorkCalendar
from bot.context import Runtime
from bot.documents.cn import cn_date
from bot.followup.reminders.due import (
    ESCALATION,
    AssignmentIn,
    DueItem,
    Reminder,
    ReportIn,
    due_items,
)
from bot.followup.status import KIND_CN, STAGE_CN
from bot.outbox.compose import Draft
from bot.store.models import Assignment, Case, ReminderLog, UnitReport
from bot.store.states import Role


@dataclass(frozen=True)
class OverdueLine:
    kind_cn: str
    due: date
    days_overdue: int


@dataclass(frozen=True)
class SentLine:
    day: date
    kind_cn: str
    stage_cn: str


def reminder_draft(db: Session, rt: Runtime, r: Reminder) -> Draft | None:
    """The mail to the unit whose item is due (before, due, overdue)."""
    if not r.to:
        return None
    rules = rt.ruleset
    case = _case(db, r.case)
    subject, body = rt.templates.render(
        "unit_reminder", programme=rules.programme, r=r, case=case, unit=rules.unit_by_id(r.unit),
        kind_cn=KIND_CN[r.kind], cn_date=cn_date, title=_title(case))
    return Draft(purpose=f"reminder-{r.stage}", to=list(r.to), subject=subject, body=body,
                 case_number=r.case, auto_submitted="auto-generated")


def escalation_draft(db: Session, rt: Runtime, batch: list[Reminder], today: date) -> Draft | None:
    """One mail for the escalations of one case and unit on one day."""
    first = batch[0]
    if not first.to:
        return None
    rules = rt.ruleset
    case = _case(db, first.case)
    unit = rules.unit_by_id(first.unit)
    lead = _lead(db, case, first.unit) if case else None
    subject, body = rt.templates.render(
        "escalation", programme=rules.programme, case=case, unit=unit, today=today,
        supervisor=rules.unit_by_id(rules.deadlines.escalate_to), title=_title(case),
        requirements=(case.requirements if case else "") or "按照接待日现场研究意见办理",
        assigned=lead.assigned if lead else None,
        overdue=overdue_lines(db, rt, lead, today) if lead else _lines_of(batch),
        sent=sent_lines(db, first.case, first.unit), cn_date=cn_date)
    return Draft(purpose="reminder-escalation", to=list(first.to), cc=list(rt.admin_emails),
                 subject=subject, body=body, case_number=first.case, auto_submitted="auto-generated")


def overdue_lines(db: Session, rt: Runtime, lead: Assignment, today: date) -> list[OverdueLine]:
    """Every unsettled item of the assignment that is past its due date on `today`."""
    reports = tuple(ReportIn(r.kind, r.received) for r in
                    db.exec(select(UnitReport).where(UnitReport.assignment_id == lead.id)))
    view = AssignmentIn(case="", unit=lead.unit_id, role=lead.role, assigned=lead.assigned,
                        long_term=lead.long_term, result_due=lead.result_due,
                        status_due=lead.status_due, reports=reports, closed=lead.closed, unit_emails=())
    cal = WorkCalendar.from_ruleset(rt.ruleset)
    items = [i for i in due_items(view, rt.ruleset.deadlines, cal, today) if i.due < today]
    return [_line(i, today) for i in sorted(items, key=lambda i: i.due)]


def sent_lines(db: Session, case_number: str, unit_id: str) -> list[SentLine]:
    """The reminders already sent to the unit for this case, from the sent-log keys
    (case|unit|kind|due|stage|day)."""
    lines = []
    for row in db.exec(select(ReminderLog).where(ReminderLog.key.startswith(f"{case_number}|{unit_id}|"))
                       .order_by(ReminderLog.id)):
        parts = row.key.split("|")
        if len(parts) >= 5 and parts[4] != ESCALATION:
            lines.append(SentLine(row.sent_on, KIND_CN.get(parts[2], parts[2]), STAGE_CN.get(parts[4], parts[4])))
    return lines


def _lines_of(batch: list[Reminder]) -> list[OverdueLine]:
    return [_line(DueItem(r.case, r.unit, r.kind, r.due), None, r.days_overdue) for r in batch]


def _line(item: DueItem, today: date | None, late: int | None = None) -> OverdueLine:
    return OverdueLine(KIND_CN[item.kind], item.due, late if late is not None else (today - item.due).days)


def _case(db: Session, number: str) -> Case | None:
    return db.exec(select(Case).where(Case.number == number)).first()


def _lead(db: Session, case: Case, unit_id: str) -> Assignment | None:
    return db.exec(select(Assignment).where(Assignment.case_id == case.id, Assignment.unit_id == unit_id,
                                            Assignment.role == Role.LEAD)).first()


def _title(case: Case | None) -> str:
    """The demand's title as the enterprise wrote it, else the start of its requests."""
    if case is None:
        return ""
    form = json.loads(case.form_json or "{}")
    text = (form.get("title") or form.get("requests") or "").strip()
    return text if len(text) <= 60 else text[:60] + "……"
