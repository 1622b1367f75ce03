"""Inbound mail that is not a registration: unit reports, the enterprise's satisfaction answer,
the admin's filled ledger. Who may change what is checked here; a refused change alters nothing."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from sqlmodel import Session, select

from bot.cases import add_event, case_of_thread
from bot.message.model import InboundMessage
from bot.context import Runtime
from bot.store.models import Assignment, Case

log = logging.getLogger(__name__)

TAG = re.compile(r"\[([A-Za-z][A-Za-z0-9]*-\d{4}-\d{2,})\]")
_QUOTE_START = re.compile(
    r"^\s*(-{2,}\s*(原始邮件|Original|回复的原邮件|Forwarded)|在.{0,80}写道[:：]|On .{0,120}wrote:"
    r"|发件人[:：]|From:\s|>)", re.M)
_AUTH_FAIL = re.compile(r"\b(dkim|spf|dmarc)\s*=\s*(fail|softfail|permerror)", re.I)


@dataclass
class Followup:
    outcome: str  # report | refused | satisfaction | ledger-import
    case_number: str = ""
    detail: str = ""


def fresh_text(body: str) -> str:
    """The part of a reply its author wrote: everything before the quoted original."""
    match = _QUOTE_START.search(body or "")
    return (body[:match.start()] if match else body or "").strip()


def authenticated(msg: InboundMessage) -> bool:
    """False when the receiving server recorded a failing DKIM/SPF/DMARC result for this mail."""
    return not any(_AUTH_FAIL.search(v) for v in msg.header_all("Authentication-Results"))


def tagged_case(db: Session, msg: InboundMessage) -> Case | None:
    match = TAG.search(msg.subject or "")
    if match:
        case = db.exec(select(Case).where(Case.number == match.group(1).upper())).first()
        if case is not None:
            return case
    return case_of_thread(db, [r for r in [msg.in_reply_to, *msg.references] if r])


def unit_of_address(rt: Runtime, address: str) -> str | None:
    address = address.lower()
    for unit in rt.ruleset.units:
        if address in (e.lower() for e in unit.emails):
            return unit.id
    return None


def handle(db: Session, rt: Runtime, msg: InboundMessage) -> Followup | None:
    """None: an ordinary registration mail, for the intake path."""
    from bot.followup import ledger_mail, reports, satisfaction

    sender = msg.from_addr.lower()
    if sender in (a.lower() for a in rt.admin_emails) and authenticated(msg) \
            and ledger_mail.has_ledger(msg):
        return ledger_mail.import_by_mail(db, rt, msg)
    case = tagged_case(db, msg)
    unit_id = unit_of_address(rt, sender)
    if case is None:
        return None
    if unit_id is None and sender in {case.sender.lower(), case.contact_email.lower()} - {""}:
        if case.status == "result_received":
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
    from bot.forms.reader import read_body

    programme = rt.ruleset.programme
    return bool(msg.attachments) or read_body(fresh_text(msg.text_body), districts=programme.districts,
                                              city=programme.city) is not None


def note_from_enterprise(db: Session, rt: Runtime, msg: InboundMessage, case: Case) -> Followup:
    """A message about its case (change of attendees, a question): the office reads it, no auto-reply."""
    from bot.followup.notify import admin_draft
    from bot.outbox.queue import queue

    text = fresh_text(msg.text_body)[:2000]
    add_event(db, case, rt.now(), "enterprise-note", text[:500])
    draft = admin_draft(rt, "admin_enterprise_note", case=case, msg=msg, text=text)
    if draft is not None:
        queue(db, draft, rt.sender, rt.now())
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
    from bot.followup.notify import admin_draft
    from bot.outbox.queue import queue

    why = ("发件地址未通过邮件服务器的身份验证" if not authenticated(msg)
           else f"发件地址 {msg.from_addr} 不是本案承办或协办单位的登记邮箱" if unit_id is None
           else f"{msg.from_addr} 所属单位未承办本案")
    add_event(db, case, rt.now(), "refused", f"{msg.from_addr}: {why}")
    draft = admin_draft(rt, "admin_refused", case=case, msg=msg, why=why)
    if draft is not None:
        queue(db, draft, rt.sender, rt.now())
    log.warning("REFUSED <%s> case=%s from=%s: %s", msg.message_id, case.number, msg.from_addr, why)
    return Followup("refused", case.number, why)
