"""Held actions: an admin or unit action by mail that our server did not authenticate.

The action is not applied. A confirmation request with a one-time code goes to the registered
address the mail claimed to come from; whoever really holds that mailbox can send the code back,
a forger cannot. The code must be written in the reply's own text (not only in the quoted request
or the subject), so that an auto-responder cannot confirm anything. It expires after
`[trust] hold_hours`; only its SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta, timezone

from sqlmodel import Session, select

from bot.context import Runtime
from bot.documents.cn import cn_date
from bot.followup.incoming import Followup
from bot.followup.trust import Standing, record_event
from bot.message.model import InboundMessage
from bot.message.quote import fresh_text
from bot.outbox.compose import Draft
from bot.outbox.queue import queue
from bot.store.models import HeldAction, InboundMail

HELD, APPLIED, EXPIRED = "held", "applied", "expired"
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed again
CODE = re.compile(r"\b([A-HJ-NP-Z2-9]{4})[-－ ]?([A-HJ-NP-Z2-9]{4})\b")
KIND_CN = {"unit-report": "承办单位报送", "ledger-import": "台账导入", "answer-approval": "答复审核"}


def new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def _digest(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").upper().encode()).hexdigest()


def hold(db: Session, rt: Runtime, kind: str, msg: InboundMessage, inbound_id: int,
         case_number: str, trust: Standing) -> Followup:
    """Keep the action for later and ask the registered address to confirm it."""
    code = new_code()
    now = rt.now()
    expires = now + timedelta(hours=rt.config.trust.hold_hours)
    db.add(HeldAction(token_hash=_digest(code), kind=kind, address=msg.from_addr.lower(),
                      case_number=case_number, inbound_id=inbound_id, created_at=now,
                      expires_at=expires))
    subject, body = rt.templates.render(
        "confirm_request", programme=rt.ruleset.programme, code=code, kind_cn=KIND_CN.get(kind, kind),
        case_number=case_number, original_subject=msg.subject[:200], received=now,
        expires=expires.astimezone(now.tzinfo), cn_date=cn_date)
    queue(db, Draft(purpose="confirm", to=[msg.from_addr], subject=subject, body=body,
                    case_number=case_number, in_reply_to=msg.message_id,
                    references=msg.references, auto_submitted="auto-replied"), rt.sender, now)
    record_event(db, rt, "held", msg.from_addr, case_number,
                 f"{KIND_CN.get(kind, kind)}：{trust.why_cn}；已向该地址发送确认码",
                 f"{kind} held: {trust.why}")
    return Followup("held", case_number, kind)


def code_in(msg: InboundMessage) -> str | None:
    """A confirmation code written by the reply's author, if any."""
    match = CODE.search(fresh_text(msg.text_body)[:2000])
    return f"{match.group(1)}-{match.group(2)}" if match else None


def find_held(db: Session, code: str) -> HeldAction | None:
    return db.exec(select(HeldAction).where(HeldAction.token_hash == _digest(code))).first()


def check_confirmation(db: Session, rt: Runtime, msg: InboundMessage,
                       held: HeldAction) -> str | None:
    """Why this code does not confirm the action (English), or None when it does."""
    if held.status != HELD:
        return f"code already {held.status}"
    if msg.sender_problem or msg.from_addr.lower() != held.address:
        record_event(db, rt, "refused", msg.from_addr, held.case_number,
                     f"确认码不是从原邮件的邮箱（{held.address}）发回的，未予办理",
                     "confirmation code from another address")
        return "confirmation from another address"
    if _aware(held.expires_at) < rt.now():
        expire(db, rt, held)
        return "confirmation code expired"
    return None


def held_mail(db: Session, held: HeldAction) -> InboundMail:
    return db.get(InboundMail, held.inbound_id)


def mark_applied(db: Session, rt: Runtime, held: HeldAction) -> None:
    held.status, held.decided_at = APPLIED, rt.now()
    db.add(held)
    record_event(db, rt, "confirmed", held.address, held.case_number,
                 f"{KIND_CN.get(held.kind, held.kind)}已凭确认码确认并办理", f"{held.kind} confirmed")


def expire(db: Session, rt: Runtime, held: HeldAction) -> None:
    held.status, held.decided_at = EXPIRED, rt.now()
    db.add(held)
    record_event(db, rt, "expired", held.address, held.case_number,
                 f"{KIND_CN.get(held.kind, held.kind)}在有效期内未获确认，未作任何更改",
                 f"{held.kind} expired")


def expire_overdue(db: Session, rt: Runtime) -> int:
    """Held actions past their time: recorded as expired (the daily job)."""
    now = rt.now()
    overdue = [h for h in db.exec(select(HeldAction).where(HeldAction.status == HELD))
               if _aware(h.expires_at) < now]
    for held in overdue:
        expire(db, rt, held)
    return len(overdue)


def _aware(stamp: datetime) -> datetime:
    """Stored times come back naive from SQLite; they are UTC."""

    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)
