"""What the office sees: `case show`, `cases list`, the overdue list."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from bot.calendar import WorkCalendar
from bot.cases import find_case
from bot.context import Runtime
from bot.documents.rows import OverdueItem
from bot.followup.reminders.due import (
    AssignmentIn,
    ReportIn,
    due_items,
    next_progress_due,
)
from bot.followup.reminders.queue import open_lead_assignments
from bot.store.models import Assignment, Case, CaseEvent, Review, UnitReport
from bot.store.states import ReviewKind, ReviewStatus, Role


def _progress_due(a: Assignment, reports: list[UnitReport], deadlines, cal: WorkCalendar) -> str | None:
    """The next 十日一报 date, by the same rule the reminders use."""
    if a.closed:
        return None
    view = AssignmentIn(case="", unit=a.unit_id, role=a.role, assigned=a.assigned,
                        long_term=a.long_term, result_due=a.result_due, status_due=a.status_due,
                        reports=tuple(ReportIn(r.kind, r.received) for r in reports), closed=a.closed,
                        unit_emails=())
    due = next_progress_due(view, deadlines, cal)
    return due.isoformat() if due else None


def case_json(db: Session, rt: Runtime, case: Case) -> dict:
    cal = WorkCalendar.from_ruleset(rt.ruleset)
    assignments = []
    for a in db.exec(select(Assignment).where(Assignment.case_id == case.id)
                     .order_by(Assignment.role.desc(), Assignment.id)):
        reports = list(db.exec(select(UnitReport).where(UnitReport.assignment_id == a.id)
                               .order_by(UnitReport.id)))
        assignments.append({
            "unit": a.unit_id, "role": a.role, "assigned": a.assigned.isoformat(),
            "long_term": a.long_term, "status_due": a.status_due.isoformat(),
            "result_due": a.result_due.isoformat(),
            "progress_due": (_progress_due(a, reports, rt.ruleset.deadlines, cal)
                             if a.role == Role.LEAD else None),
            "reports": [{"kind": r.kind, "received": r.received.isoformat()} for r in reports],
        })
    history = [{"at": rt.clock.aware(e.at).isoformat(timespec="seconds"), "event": e.event,
                "detail": e.detail}
               for e in db.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                .order_by(CaseEvent.id))]
    return {"case": case.number, "status": case.status, "session": case.session_id,
            "field": case.field_id, "enterprise_name": case.enterprise_name,
            "credit_code": case.credit_code, "decision": case.decision,
            "rules": [r for r in case.rules.split(",") if r], "channel": case.channel,
            "district": case.district, "satisfaction": case.satisfaction or None,
            "assignments": assignments, "answer": answer_json(db, case), "history": history}


def latest_answer(db: Session, case: Case) -> Review | None:
    return db.exec(select(Review).where(Review.case_id == case.id, Review.kind == ReviewKind.ANSWER,
                                        Review.status != ReviewStatus.SUPERSEDED)
                   .order_by(Review.id.desc())).first()


def answer_json(db: Session, case: Case) -> dict | None:
    """`case show --json` "answer": {"status": "draft|sent", "text": …}, or None."""
    review = latest_answer(db, case)
    if review is None:
        return None
    return {"status": str(review.status), "text": review.final_text or review.text}


def show(db: Session, rt: Runtime, number: str) -> dict:
    return case_json(db, rt, find_case(db, number))


def overdue_items(db: Session, rt: Runtime, today: date) -> list[OverdueItem]:
    cal = WorkCalendar.from_ruleset(rt.ruleset)
    items = []
    for a in open_lead_assignments(db, rt):
        for item in due_items(a, rt.ruleset.deadlines, cal, today):
            if item.due < today:
                unit = rt.ruleset.unit_by_id(item.unit)
                items.append(OverdueItem(item.case, unit.name if unit else item.unit, item.kind,
                                         item.due, (today - item.due).days))
    return sorted(items, key=lambda o: (-o.days_overdue, o.case_number))


def list_cases(db: Session, rt: Runtime, status: str | None, overdue: bool,
               unit: str | None) -> list[dict]:
    stmt = select(Case).order_by(Case.id)
    if status:
        stmt = stmt.where(Case.status == status)
    if unit:
        ids = select(Assignment.case_id).where(Assignment.unit_id == unit)
        stmt = stmt.where(Case.id.in_(ids))
    late = {o.case_number for o in overdue_items(db, rt, rt.today())} if overdue else None
    rows = []
    for case in db.exec(stmt):
        if late is not None and case.number not in late:
            continue
        rows.append({"case": case.number, "status": case.status, "session": case.session_id,
                     "field": case.field_id, "enterprise_name": case.enterprise_name,
                     "decision": case.decision, "accepted_on":
                     case.accepted_on.isoformat() if case.accepted_on else None})
    return rows
