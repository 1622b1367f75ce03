"""Extending the 办理结果 date: a unit's 延期申请 waits for the admin; approval (by mail or `extend`)
moves the date to a working day and tells the unit and the enterprise; a refusal tells the unit."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from bot.calendar import WorkCalendar
from bot.cases import add_event, find_case
from bot.context import Runtime
from bot.documents.cn import cn_date
from bot.errors import CaseError
from bot.followup.decisions import find_date
from bot.followup.mails import queue_to_enterprise, unit_draft
from bot.followup.notify import notify_admin
from bot.followup.status import IN_HAND
from bot.outbox.queue import queue
from bot.store.models import Assignment, Case, Review, UnitReport
from bot.store.states import ReviewKind, ReviewStatus, Role

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Extended:
    case: str
    unit: str  # the lead unit's id
    old: date
    new: date  # a working day
    asked: date  # the date given; differs from `new` when it was a rest day


def request_received(db: Session, rt: Runtime, case: Case, assignment: Assignment,
                     report: UnitReport) -> Review:
    """The unit's 延期申请: recorded and put to the admin, who replies 同意 or 不同意."""
    requested = find_date(report.summary, rt.today())
    review = Review(case_id=case.id, kind=ReviewKind.EXTENSION, status=ReviewStatus.PENDING,
                    unit_id=assignment.unit_id, report_id=report.id, text=report.summary.strip(),
                    requested=requested, created_at=rt.now())
    db.add(review)
    db.flush()
    out = notify_admin(db, rt, "admin_extension", case=case, unit=rt.ruleset.unit_by_id(assignment.unit_id),
                       summary=report.summary.strip(), due=assignment.result_due, requested=requested)
    review.admin_message_id = out.message_id if out is not None else ""
    return review


def extend(db: Session, rt: Runtime, number: str, to: date, by: str = "command") -> Extended:
    """Move the lead unit's result date; the unit and the enterprise are told the new date."""
    case = find_case(db, number)
    lead = next((a for a in db.exec(select(Assignment).where(Assignment.case_id == case.id,
                                                             Assignment.role == Role.LEAD,
                                                             Assignment.closed == False))),  # noqa: E712
                None)
    if lead is None or case.status not in IN_HAND:
        raise CaseError(f"编号{case.number}没有正在办理的交办事项，无法延期")
    new = WorkCalendar.from_ruleset(rt.ruleset).roll_forward(to)
    if new <= lead.result_due:
        raise CaseError(f"延期后的日期{cn_date(new)}不晚于当前办理结果时限{cn_date(lead.result_due)}，请另选日期")
    old, lead.result_due, now = lead.result_due, new, rt.now()
    db.add(lead)
    for review in _pending(db, case):
        review.status, review.final_text = ReviewStatus.APPROVED, new.isoformat()
        review.decided_by, review.decided_at = by, now
        db.add(review)
    add_event(db, case, now, "extended", f"{old} -> {new}")
    unit = rt.ruleset.unit_by_id(lead.unit_id)
    if unit is not None:
        queue(db, unit_draft(rt, unit, case, "unit_extension", "extension-approved", old=old, new=new,
                             approved=True, reason=""), rt.sender, now)
    queue_to_enterprise(db, rt, case, "enterprise_extended", "notice-extended", unit=unit, old=old, new=new)
    log.info("EXTENDED case=%s %s -> %s by=%s", case.number, old, new, by)
    return Extended(case.number, lead.unit_id, old, new, to)


def refuse(db: Session, rt: Runtime, case: Case, review: Review, reason: str, by: str) -> None:
    """The admin did not agree: the unit is told to report by the date it has."""
    now = rt.now()
    review.status, review.final_text = ReviewStatus.REFUSED, reason
    review.decided_by, review.decided_at = by, now
    db.add(review)
    lead = db.exec(select(Assignment).where(Assignment.case_id == case.id,
                                            Assignment.unit_id == review.unit_id)).first()
    unit = rt.ruleset.unit_by_id(review.unit_id)
    add_event(db, case, now, "extension-refused", reason[:500])
    if unit is not None and lead is not None:
        queue(db, unit_draft(rt, unit, case, "unit_extension", "extension-refused", old=lead.result_due,
                             new=None, approved=False, reason=reason), rt.sender, now)


def _pending(db: Session, case: Case) -> list[Review]:
    return list(db.exec(select(Review).where(Review.case_id == case.id,
                                             Review.kind == ReviewKind.EXTENSION,
                                             Review.status == ReviewStatus.PENDING)))
