"""The admin decides by replying to the bot's mail: 同意 (or an edited answer) for a draft answer,
同意 / 同意延期至某日 / 不同意（理由） for an extension request. The reply finds its review by the
Message-ID it answers; the admin gets a short confirmation of what was done."""

from __future__ import annotations

import logging

from sqlmodel import Session, select

from bot.cases import add_event
from bot.context import Runtime
from bot.errors import CaseError
from bot.followup import answers, extensions
from bot.followup.decisions import APPROVE, REFUSE, TEXT, find_date, read_decision
from bot.followup.incoming import Followup
from bot.followup.notify import notify_admin
from bot.message.model import InboundMessage
from bot.message.quote import fresh_text
from bot.store.models import Case, Review
from bot.store.states import ReviewKind, ReviewStatus

log = logging.getLogger(__name__)
OPEN = (ReviewStatus.DRAFT, ReviewStatus.PENDING)


def handle(db: Session, rt: Runtime, msg: InboundMessage) -> Followup | None:
    """None when the mail answers none of our review mails (another admin mail)."""
    review = replied_review(db, msg)
    if review is None:
        return None
    case = db.get(Case, review.case_id)
    extended = None
    if review.status not in OPEN:
        outcome = "already"
    elif review.kind == ReviewKind.ANSWER:
        outcome = _answer(db, rt, msg, case, review)
    else:
        outcome, extended = _extension(db, rt, msg, case, review)
    notify_admin(db, rt, "admin_decision_done", case=case, review=review, outcome=outcome,
                 extended=extended)
    log.info("ADMIN-DECISION <%s> case=%s kind=%s outcome=%s", msg.message_id, case.number,
             review.kind, outcome)
    return Followup("admin-decision", case.number, outcome)


def replied_review(db: Session, msg: InboundMessage) -> Review | None:
    for message_id in [msg.in_reply_to, *reversed(msg.references)]:
        if not message_id:
            continue
        review = db.exec(select(Review).where(Review.admin_message_id == message_id)).first()
        if review is not None:
            return review
    return None


def _answer(db: Session, rt: Runtime, msg: InboundMessage, case: Case, review: Review) -> str:
    decision = read_decision(fresh_text(msg.text_body), allow_text=True)
    if decision.kind == APPROVE:
        answers.send_answer(db, rt, case, review, review.text, by=msg.from_addr)
        return "sent"
    if decision.kind == TEXT:
        answers.send_answer(db, rt, case, review, decision.rest, by=msg.from_addr)
        return "sent-edited"
    if decision.kind == REFUSE:
        add_event(db, case, rt.now(), "answer-held", f"{msg.from_addr}: {decision.rest[:300]}")
        return "held"
    return "unclear"


def _extension(db: Session, rt: Runtime, msg: InboundMessage, case: Case,
               review: Review) -> tuple[str, extensions.Extended | None]:
    decision = read_decision(fresh_text(msg.text_body), allow_text=False)
    if decision.kind == REFUSE:
        extensions.refuse(db, rt, case, review, decision.rest, by=msg.from_addr)
        return "refused", None
    if decision.kind != APPROVE:
        return "unclear", None
    to = find_date(decision.rest, rt.today()) or review.requested
    if to is None:
        return "no-date", None
    try:
        return "extended", extensions.extend(db, rt, case.number, to, by=msg.from_addr)
    except CaseError as exc:
        add_event(db, case, rt.now(), "extension-not-applied", str(exc))
        return "not-applied", None
