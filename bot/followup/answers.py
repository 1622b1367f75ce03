"""The office answers the enterprise (work plan 四(四): 市政府办公室统筹汇总……并作出答复意见).

A lead unit's 办理结果 becomes a draft answer: the unit's text cleaned (answer_text.py), mailed to
the admin with the case facts. Only the admin's approval -- a reply 同意, a reply with the edited
answer, or `answer CASE [--text FILE]` -- sends it to the enterprise with the 满意度 question.
`programme.toml` `result_review = "direct"` sends the cleaned text at once.
"""

from __future__ import annotations

import json
import logging

from sqlmodel import Session, select

from bot.calendar import WorkCalendar
from bot.cases import add_event, find_case
from bot.context import Runtime
from bot.errors import CaseError
from bot.followup.answer_text import clean_result
from bot.followup.mails import queue_to_enterprise
from bot.followup.notify import notify_admin
from bot.followup.status import STATUS_CN
from bot.followup.views import latest_answer
from bot.store.models import Assignment, Case, Review, UnitReport
from bot.store.states import CaseStatus, ReviewKind, ReviewStatus, Role

log = logging.getLogger(__name__)
DIRECT = "direct"


def result_received(db: Session, rt: Runtime, case: Case, assignment: Assignment,
                    report: UnitReport) -> Review:
    """The lead unit's result is in: a draft for the admin, or (direct) the answer at once."""
    now = rt.now()
    case.status, case.updated_at = CaseStatus.ANSWER_PENDING, now
    assignment.closed = True
    db.add_all([case, assignment])
    for old in db.exec(select(Review).where(Review.case_id == case.id, Review.kind == ReviewKind.ANSWER,
                                            Review.status == ReviewStatus.DRAFT)):
        old.status = ReviewStatus.SUPERSEDED
        db.add(old)
    unit = rt.ruleset.unit_by_id(assignment.unit_id)
    names = [rt.ruleset.programme.office, *(u.name for u in rt.ruleset.units)]
    review = Review(case_id=case.id, kind=ReviewKind.ANSWER, status=ReviewStatus.DRAFT,
                    unit_id=assignment.unit_id, report_id=report.id,
                    text=clean_result(report.summary, names) or report.summary.strip(), created_at=now)
    db.add(review)
    db.flush()
    if rt.ruleset.programme.result_review == DIRECT:
        send_answer(db, rt, case, review, review.text, by=DIRECT)
        return review
    form = json.loads(case.form_json or "{}")
    out = notify_admin(db, rt, "admin_answer_draft", case=case, unit=unit, form=form, review=review,
                       assigned=assignment.assigned, raw=report.summary.strip())
    review.admin_message_id = out.message_id if out is not None else ""
    add_event(db, case, now, "answer-drafted", f"{assignment.unit_id}")
    log.info("ANSWER-DRAFT case=%s unit=%s", case.number, assignment.unit_id)
    return review


def pending_answer(db: Session, case: Case) -> Review | None:
    review = latest_answer(db, case)
    return review if review is not None and review.status == ReviewStatus.DRAFT else None


def approve(db: Session, rt: Runtime, number: str, text: str | None, by: str) -> Review:
    """`answer CASE [--text FILE]`: the draft (or `text`) goes to the enterprise."""
    case = find_case(db, number)
    review = pending_answer(db, case)
    if review is None:
        state = STATUS_CN.get(case.status, case.status)
        raise CaseError(f"编号{case.number}没有待审核的答复（当前状态：{state}）；"
                        "承办单位报送办理结果后才会生成答复草稿")
    final = (text or "").strip() or review.text
    send_answer(db, rt, case, review, final, by=by)
    return review


def send_answer(db: Session, rt: Runtime, case: Case, review: Review, text: str, by: str) -> None:
    """The answer to the enterprise, with the 满意度 question and the date to answer by."""
    now, rules = rt.now(), rt.ruleset
    review.final_text, review.status = text, ReviewStatus.SENT
    review.decided_by, review.decided_at = by, now
    case.status, case.updated_at = CaseStatus.RESULT_RECEIVED, now
    db.add_all([review, case])
    cal = WorkCalendar.from_ruleset(rules)
    reply_by = cal.add_working_days(rt.today(), rules.deadlines.satisfaction_reply_working_days)
    lead = db.exec(select(Assignment).where(Assignment.case_id == case.id, Assignment.role == Role.LEAD)
                   .order_by(Assignment.id.desc())).first()
    unit = rules.unit_by_id(lead.unit_id) if lead else None
    queue_to_enterprise(db, rt, case, "enterprise_result", "result-answer", unit=unit, answer=text,
                        reply_by=reply_by, title=json.loads(case.form_json or "{}").get("title") or "")
    add_event(db, case, now, "answer-sent", by)
    log.info("ANSWER-SENT case=%s by=%s", case.number, by)
