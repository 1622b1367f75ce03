"""Recording the reception's outcome: assign (slips go out), resolve on site, explain, extend."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from bot.calendar import WorkCalendar
from bot.cases import add_event, find_case
from bot.context import Runtime
from bot.documents.rows import SlipData
from bot.errors import CaseError
from bot.followup.mails import (
    enterprise_assigned_draft,
    queue_to_enterprise,
    slip_drafts,
)
from bot.followup.reminders.due import (
    AssignmentIn,
    compute_deadlines,
    next_progress_due,
)
from bot.followup.status import ASSIGNABLE, STATUS_CN
from bot.outbox.queue import queue
from bot.rules.texts import leader_words
from bot.store.models import Assignment, Case, UnitReport
from bot.store.states import CaseStatus, Role


@dataclass(frozen=True)
class AssignRequest:
    case: str
    lead: str
    co: tuple[str, ...] = ()
    long_term: bool = False
    note: str = ""


def check_units(rt: Runtime, req: AssignRequest) -> None:
    rules = rt.ruleset
    for unit_id in (req.lead, *req.co):
        if rules.unit_by_id(unit_id) is None:
            raise CaseError(f"单位“{unit_id}”未在单位名单（units.toml）中登记")
    if req.lead in req.co:
        raise CaseError(f"{rules.unit_by_id(req.lead).name}不能既是承办单位又是协办单位")


def assignments_of(db: Session, case: Case) -> list[Assignment]:
    return list(db.exec(select(Assignment).where(Assignment.case_id == case.id)
                        .order_by(Assignment.role.desc(), Assignment.id)))


def same_assignment(db: Session, case: Case, req: AssignRequest) -> bool:
    """True when the case is already assigned exactly like this (a re-import changes nothing)."""
    rows = assignments_of(db, case)
    lead = [a for a in rows if a.role == Role.LEAD]
    co = sorted(a.unit_id for a in rows if a.role == Role.CO)
    return (case.status != CaseStatus.REOPENED and len(lead) == 1 and lead[0].unit_id == req.lead
            and co == sorted(req.co) and lead[0].long_term == req.long_term
            and (case.requirements or "") == (req.note or ""))


def assign(db: Session, rt: Runtime, req: AssignRequest) -> bool:
    """Record the assignment and queue the slips; False when nothing changed."""
    check_units(rt, req)
    case = find_case(db, req.case)
    if case.status not in ASSIGNABLE:
        raise CaseError(f"编号{case.number}当前状态为“{STATUS_CN.get(case.status, case.status)}”，"
                        "只有当期安排、择期安排、办理中或重新办理的诉求可以交办")
    if same_assignment(db, case, req):
        return False
    today, now = rt.today(), rt.now()
    cal = WorkCalendar.from_ruleset(rt.ruleset)
    status_due, result_due = compute_deadlines(today, rt.ruleset.deadlines, cal)
    _replace_assignments(db, case, req, today, status_due, result_due)
    case.status, case.outcome, case.requirements = CaseStatus.ASSIGNED, "交办", req.note
    case.updated_at = now
    db.add(case)
    add_event(db, case, now, "assigned", json.dumps(
        {"lead": req.lead, "co": list(req.co), "long_term": req.long_term}, ensure_ascii=False))
    slip = slip_data(rt, case, req, today, status_due, result_due)
    for draft in slip_drafts(rt, case, req, slip):
        queue(db, draft, rt.sender, now)
    enterprise = enterprise_assigned_draft(rt, case, req, status_due, result_due)
    out = queue(db, enterprise, rt.sender, now) if enterprise is not None else None
    if out is not None:
        case.last_outbound_id = out.message_id
    return True


def _replace_assignments(db: Session, case: Case, req: AssignRequest, today: date,
                         status_due: date, result_due: date) -> None:
    """New deadlines from today; a unit dropped keeps its rows (closed) when it already reported."""
    existing = {a.unit_id: a for a in assignments_of(db, case)}
    wanted = [(Role.LEAD, req.lead), *[(Role.CO, u) for u in req.co]]
    for role, unit_id in wanted:
        row = existing.pop(unit_id, None) or Assignment(case_id=case.id, unit_id=unit_id, role=role,
                                                        assigned=today, status_due=status_due,
                                                        result_due=result_due)
        row.role, row.long_term, row.note, row.closed = role, req.long_term, req.note, False
        row.assigned, row.status_due, row.result_due = today, status_due, result_due
        db.add(row)
    for row in existing.values():
        if db.exec(select(UnitReport).where(UnitReport.assignment_id == row.id)).first():
            row.closed = True
            db.add(row)
        else:
            db.delete(row)
    db.flush()


def slip_data(rt: Runtime, case: Case, req: AssignRequest, today: date, status_due: date,
              result_due: date) -> SlipData:
    rules, deadlines = rt.ruleset, rt.ruleset.deadlines
    form = json.loads(case.form_json or "{}")
    session = rules.session_by_id(case.session_id) if case.session_id else None
    field_rule = rules.field_by_id(case.field_id) if case.field_id else None
    lead = rules.unit_by_id(req.lead)
    cal = WorkCalendar.from_ruleset(rules)
    programme = rules.programme
    return SlipData(
        case_number=case.number, office=programme.office, lead_unit=lead.name,
        co_units=tuple(rules.unit_by_id(u).name for u in req.co),
        enterprise_name=case.enterprise_name, contact_name=case.contact_name,
        contact_phone=case.contact_phone, field_name=field_rule.name if field_rule else "",
        facts=form.get("facts") or "", requests=form.get("requests") or "",
        title=form.get("title") or "", reasons=form.get("reasons") or "",
        leader_title=leader_words(rules, session), reception_date=session.date if session else None,
        requirements=req.note, assigned=today, status_due=status_due, result_due=result_due,
        long_term=req.long_term,
        first_progress_due=_first_progress(case, req, today, status_due, result_due, deadlines, cal),
        status_days=deadlines.status_report_working_days, result_days=deadlines.result_days,
        long_term_days=deadlines.long_term_report_days,
        office_contact=programme.contact or programme.office,
        office_phone=programme.contact_phone or programme.phone,
        lead_contact="　".join(p for p in (lead.contact, lead.phone) if p),
        reply_instructions=f"请直接回复本邮件报送办理情况，主题中保留编号[{case.number}]。")


def _first_progress(case: Case, req: AssignRequest, today: date, status_due: date, result_due: date,
                    deadlines, cal: WorkCalendar) -> date | None:
    """The first 十日一报 date, by the reminders' own rule (none for an ordinary case)."""
    if not req.long_term:
        return None
    fresh = AssignmentIn(case=case.number, unit=req.lead, role=Role.LEAD, assigned=today, long_term=True,
                         result_due=result_due, status_due=status_due, reports=(), closed=False,
                         unit_emails=())
    return next_progress_due(fresh, deadlines, cal)


def resolve(db: Session, rt: Runtime, number: str, how: str, note: str) -> bool:
    """how: on_site (当场解决) or explained (解释说明). False when already recorded so."""
    case = find_case(db, number)
    status = CaseStatus.RESOLVED_ON_SITE if how == "on_site" else CaseStatus.EXPLAINED
    if case.status == status and case.requirements == note:
        return False
    if case.status not in ASSIGNABLE:
        raise CaseError(f"编号{case.number}当前状态为“{STATUS_CN.get(case.status, case.status)}”，"
                        "不能登记为当场解决或解释说明")
    now, today = rt.now(), rt.today()
    case.status, case.outcome = status, "当场解决" if how == "on_site" else "解释说明"
    case.requirements, case.closed_on, case.updated_at = note, today, now
    for a in assignments_of(db, case):
        a.closed = True
        db.add(a)
    db.add(case)
    add_event(db, case, now, status, note)
    rules = rt.ruleset
    session = rules.session_by_id(case.session_id) if case.session_id else None
    reply_by = WorkCalendar.from_ruleset(rules).add_working_days(
        today, rules.deadlines.satisfaction_reply_working_days)
    queue_to_enterprise(db, rt, case, "enterprise_closed", "notice-closed", on_site=how == "on_site",
                        note=note, session=session, leader=leader_words(rules, session),
                        reply_by=reply_by)
    return True
