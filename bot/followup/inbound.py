"""Inbound mail that is not a registration: unit reports, the enterprise's satisfaction answer,
the admin's filled ledger. Who may change what is checked here; a refused change alters nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlmodel import Session, select

from bot.cases import add_event
from bot.context import Runtime
from bot.followup import admin_reply, ledger_mail, reports, satisfaction
from bot.followup.held import KIND_CN, hold
from bot.followup.incoming import Followup, tagged_case, unit_of_address
from bot.followup.notify import notify_admin
from bot.followup.trust import (
    case_parties,
    is_admin,
    protected_addresses,
    record_event,
    standing,
)
from bot.message.model import InboundMessage
from bot.message.quote import fresh_text
from bot.store.models import Assignment, Case, Outbox

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Context:
    """What the worker read ahead of the handlers, and what the pipeline knows of the mail."""

    inbound_id: int  # the ledger row of this mail (a held action points at it)
    fresh_form: bool = False  # a reply that carries a form of its own
    ledger: bool = False  # an admin's mail with the filled ledger attached
    confirmed: bool = False  # replayed after its one-time code came back


def handle(db: Session, rt: Runtime, msg: InboundMessage, ctx: Context) -> Followup | None:
    """None: an ordinary registration mail, for the intake path."""
    sender = msg.from_addr.lower()
    trust = standing(msg, rt, ctx.confirmed)
    impersonated = _impersonated(msg, rt)
    if impersonated:
        record_event(db, rt, "refused", msg.from_addr, "",
                     f"冒充{impersonated}的来信：{trust.why_cn}，未予办理", "impersonation")
        return Followup("refused", "", f"From names {impersonated} in its display name")
    if ctx.ledger and is_admin(rt, sender):
        if not trust.authenticated:
            return _hold_or_refuse(db, rt, msg, ctx, "ledger-import", None, trust)
        return ledger_mail.import_by_mail(db, rt, msg)
    if is_admin(rt, sender) and admin_reply.replied_review(db, msg) is not None:
        # the admin's decision on a draft answer or an extension request
        if not trust.authenticated:
            return _hold_or_refuse(db, rt, msg, ctx, "answer-approval", None, trust)
        return admin_reply.handle(db, rt, msg)
    case = tagged_case(db, msg)
    if case is None:
        return None
    if msg.sender_problem:  # whoever it claims to be, a deceptive From changes no case
        return refuse(db, rt, msg, case, trust.why_cn, trust.why)
    unit_id = unit_of_address(rt, sender)
    if unit_id is None and sender in case_parties(case):
        if trust.forged:
            return refuse(db, rt, msg, case, trust.why_cn, trust.why)
        if satisfaction.awaits_rating(case):
            answer = satisfaction.record_answer(db, rt, msg, case)
            if answer is not None:
                return answer
        if ctx.fresh_form:
            return None  # a correction or a new form: the intake path decides
        return note_from_enterprise(db, rt, msg, case)
    if unit_id is not None or _claims_report(msg):
        assignment = _assignment_of(db, case, unit_id)
        if assignment is None:
            why = ("发件地址不是本案承办或协办单位的登记邮箱" if unit_id is None
                   else f"发件地址所属单位（{rt.ruleset.unit_by_id(unit_id).name}）未承办本案")
            return refuse(db, rt, msg, case, why, "sender is not a unit assigned to the case")
        if _answers_us_without_news(db, msg):
            log.info("UNIT-NOISE <%s> case=%s: a reply to our own mail without a report",
                     msg.message_id, case.number)
            return Followup("ignored", case.number, "reply to our acknowledgement or reminder, no report")
        if not trust.authenticated:
            return _hold_or_refuse(db, rt, msg, ctx, "unit-report", case, trust)
        return reports.record_report(db, rt, msg, case, assignment)
    return None  # someone else writing about a case: handled as a new registration mail


def _impersonated(msg: InboundMessage, rt: Runtime) -> str:
    """The office's own correspondent (the admin, a unit) that a deceptive From pretends to be."""
    if not msg.sender_problem:
        return ""
    shown = msg.from_name.lower()
    return next((a for a in sorted(protected_addresses(rt)) if a and a in shown), "")


def _hold_or_refuse(db: Session, rt: Runtime, msg: InboundMessage, ctx: Context, kind: str,
                    case: Case | None, trust) -> Followup:
    """An admin or unit action our server did not vouch for: held for its code, or refused when
    the From field itself deceives or the server saw the authentication fail."""
    if trust.forged:
        if case is None:
            record_event(db, rt, "refused", msg.from_addr, "", f"{KIND_CN.get(kind, kind)}：{trust.why_cn}",
                         f"{kind}: {trust.why}")
            return Followup("refused", "", trust.why)
        return refuse(db, rt, msg, case, f"{KIND_CN.get(kind, kind)}：{trust.why_cn}", trust.why)
    return hold(db, rt, kind, msg, ctx.inbound_id, case.number if case else "", trust)


def note_from_enterprise(db: Session, rt: Runtime, msg: InboundMessage, case: Case) -> Followup:
    """A message about its case (change of attendees, a question): the office reads it, no auto-reply."""
    text = fresh_text(msg.text_body)[:2000]
    add_event(db, case, rt.now(), "enterprise-note", text[:500])
    notify_admin(db, rt, "admin_enterprise_note", case=case, msg=msg, text=text)
    return Followup("enterprise-note", case.number, "")


REPORT_WORDS = ("落实情况", "办理结果", "进展情况", "延期申请", "交办单", "十日一报", "办结", "进展")
_OUR_AUTOMATIC = ("ack", "confirm", "reminder-before", "reminder-due", "reminder-overdue",
                  "reminder-escalation")


def _claims_report(msg: InboundMessage) -> bool:
    text = (msg.subject or "") + fresh_text(msg.text_body)
    return any(w in text for w in REPORT_WORDS)


def _answers_us_without_news(db: Session, msg: InboundMessage) -> bool:
    """A reply to our acknowledgement, confirmation request or reminder whose own text names no
    report and carries no file is not a report: auto-responders without RFC 3834 headers answer
    exactly so, and treating it as one would acknowledge it, and loop."""
    if not msg.in_reply_to:
        return False
    ours = db.exec(select(Outbox.purpose).where(Outbox.message_id == msg.in_reply_to)).first()
    if ours not in _OUR_AUTOMATIC:
        return False
    fresh = fresh_text(msg.text_body)
    return not msg.attachments and not any(w in fresh for w in REPORT_WORDS)


def _assignment_of(db: Session, case: Case, unit_id: str | None) -> Assignment | None:
    if unit_id is None:
        return None
    return db.exec(select(Assignment).where(Assignment.case_id == case.id,
                                            Assignment.unit_id == unit_id,
                                            Assignment.closed == False)).first()  # noqa: E712


def refuse(db: Session, rt: Runtime, msg: InboundMessage, case: Case, why_cn: str,
           why: str) -> Followup:
    """A change claimed by someone not entitled to it: recorded, nothing changes; the admin reads
    of it once, in the daily digest (a mail per refusal would let a stranger flood the admin)."""
    add_event(db, case, rt.now(), "refused", f"{msg.from_addr}: {why_cn}")
    record_event(db, rt, "refused", msg.from_addr, case.number, why_cn, why)
    return Followup("refused", case.number, why)
