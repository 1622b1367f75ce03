"""Inbound mail that is not a registration: unit reports, the enterprise's satisfaction answer,
the admin's filled ledger. Who may change what is checked here; a refused change alters nothing."""

from __future__ import annotations

import logging

from sqlmodel import Session, select

from bot.cases import add_event
from bot.context import Runtime
from bot.followup import admin_reply, ledger_mail, reports, satisfaction
from bot.followup.incoming import (
    Followup,
    authenticated,
    fresh_text,
    tagged_case,
    unit_of_address,
)
from bot.followup.notify import notify_admin
from bot.forms.reader import read_body
from bot.message.model import InboundMessage
from bot.store.models import Assignment, Case

log = logging.getLogger(__name__)


def handle(db: Session, rt: Runtime, msg: InboundMessage) -> Followup | None:
    """None: an ordinary registration mail, for the intake path."""
    sender = msg.from_addr.lower()
    admin = sender in (a.lower() for a in rt.admin_emails) and authenticated(msg)
    if admin and ledger_mail.has_ledger(msg):
        return ledger_mail.import_by_mail(db, rt, msg)
    if admin:  # a reply to a draft answer or an extension request (None: any other admin mail)
        decided = admin_reply.handle(db, rt, msg)
        if decided is not None:
            return decided
    case = tagged_case(db, msg)
    unit_id = unit_of_address(rt, sender)
    if case is None:
        return None
    if unit_id is None and sender in {case.sender.lower(), case.contact_email.lower()} - {""}:
        if satisfaction.awaits_rating(case):
            answer = satisfaction.record_answer(db, rt, msg, case)
            if answer is not None:
                return answer
        if _carries_form(msg, rt):
            return None  # a correction or a new form: the intake path decides
        return note_from_enterprise(db, rt, msg, case)
    if unit_id is not None or _claims_report(msg):
        assignment = _assignment_of(db, case, unit_id) if authenticated(msg) else None
        if assignment is None:
            return refuse(db, rt, msg, case, unit_id)
        return reports.record_report(db, rt, msg, case, assignment)
    return None  # someone else writing about a case: handled as a new registration mail


def _carries_form(msg: InboundMessage, rt: Runtime) -> bool:
    programme = rt.ruleset.programme
    return bool(msg.attachments) or read_body(fresh_text(msg.text_body), districts=programme.districts,
                                              city=programme.city) is not None


def note_from_enterprise(db: Session, rt: Runtime, msg: InboundMessage, case: Case) -> Followup:
    """A message about its case (change of attendees, a question): the office reads it, no auto-reply."""
    text = fresh_text(msg.text_body)[:2000]
    add_event(db, case, rt.now(), "enterprise-note", text[:500])
    notify_admin(db, rt, "admin_enterprise_note", case=case, msg=msg, text=text)
    return Followup("enterprise-note", case.number, "")


def _claims_report(msg: InboundMessage) -> bool:
    text = (msg.subject or "") + fresh_text(msg.text_body)
    return any(w in text for w in ("落实情况", "办理结果", "进展情况", "延期申请", "交办单"))


def _assignment_of(db: Session, case: Case, unit_id: str | None) -> Assignment | None:
    if unit_id is None:
        return None
    return db.exec(select(Assignment).where(Assignment.case_id == case.id,
                                            Assignment.unit_id == unit_id,
                                            Assignment.closed == False)).first()  # noqa: E712


def refuse(db: Session, rt: Runtime, msg: InboundMessage, case: Case, unit_id: str | None) -> Followup:
    """A change claimed by someone not entitled to it: record it, tell the admin, change nothing."""
    why = ("发件地址未通过邮件服务器的身份验证" if not authenticated(msg)
           else f"发件地址 {msg.from_addr} 不是本案承办或协办单位的登记邮箱" if unit_id is None
           else f"{msg.from_addr} 所属单位未承办本案")
    add_event(db, case, rt.now(), "refused", f"{msg.from_addr}: {why}")
    notify_admin(db, rt, "admin_refused", case=case, msg=msg, why=why)
    log.warning("REFUSED <%s> case=%s from=%s: %s", msg.message_id, case.number, msg.from_addr, why)
    return Followup("refused", case.number, why)
