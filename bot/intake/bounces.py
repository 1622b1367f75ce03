"""Delivery status reports (bounces) that come back by mail. Many relays accept our mail and
bounce it later, so a 5xx at SMTP time is not the only sign of a dead address: a DSN whose
recipients `failed` suppresses those addresses, marks our mail failed and tells the admin."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta
from email.parser import BytesHeaderParser

from sqlmodel import Session, select

from bot.context import Runtime
from bot.followup.notify import notify_admin
from bot.followup.trust import protected_addresses, record_event
from bot.message.model import InboundMessage
from bot.outbox.queue import suppress
from bot.store.models import Outbox
from bot.store.states import OutboxStatus

log = logging.getLogger(__name__)

_FIELD = re.compile(r"^([A-Za-z-]+):\s*(.*)$")


@dataclass
class Bounce:
    failed: list[str] = field(default_factory=list)  # final recipients with Action: failed
    original_id: str = ""  # Message-ID of the mail that bounced, when the report carries it
    diagnostic: str = ""


def read_bounce(msg: InboundMessage) -> Bounce | None:
    """The failed recipients of a message/delivery-status part; None when there is none."""
    report = next((a for a in msg.attachments if a.content_type == "message/delivery-status"), None)
    if report is None:
        return None
    bounce = Bounce()
    for block in re.split(rb"\r?\n\r?\n", report.data):
        fields = _fields(block.decode("utf-8", "replace"))
        if fields.get("action", "").lower() == "failed" and "final-recipient" in fields:
            bounce.failed.append(fields["final-recipient"].split(";")[-1].strip().strip("<>").lower())
            bounce.diagnostic = bounce.diagnostic or fields.get("diagnostic-code", "")
    original = next((a for a in msg.attachments
                     if a.content_type in ("text/rfc822-headers", "message/rfc822")), None)
    if original is not None:
        headers = BytesHeaderParser().parsebytes(original.data)
        bounce.original_id = str(headers.get("Message-ID", "")).strip().strip("<>")
    return bounce


def _fields(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        match = _FIELD.match(line)
        if match:
            out[match.group(1).lower()] = match.group(2).strip()
    return out


def record_bounce(db: Session, rt: Runtime, msg: InboundMessage) -> bool:
    """Act on a delivery report only for what it can prove: the recipients of a Message-ID we sent
    them. Anyone can write a DSN, so a report naming mail we never sent, or an address that was
    not among its recipients, changes nothing. True when the mail was a DSN."""
    bounce = read_bounce(msg)
    if bounce is None or not bounce.failed:
        return False
    row = None
    if bounce.original_id:
        row = db.exec(select(Outbox).where(Outbox.message_id == bounce.original_id)).first()
    recipients = set(row.recipients.split(",")) if row is not None else set()
    failed = [a for a in bounce.failed if a in recipients]
    ignored = [a for a in bounce.failed if a not in recipients]
    if ignored:
        record_event(db, rt, "bounce-ignored", msg.from_addr, row.case_number if row else "",
                     f"退信报告所称的{len(ignored)}个地址并非本系统所发邮件的收件人，未予采信",
                     f"DSN for {len(ignored)} address(es) we did not send that mail to")
    if failed:
        _failed(db, rt, row, failed, f"bounced: {bounce.diagnostic}"[:2000],
                 bounce.diagnostic or "delivery status report: failed")
    log.warning("BOUNCE <%s> failed=%d ignored=%d original=%s", msg.message_id, len(failed),
                len(ignored), bounce.original_id or "-")
    return True


def on_refused(rt: Runtime, row: Outbox, exc: Exception, addresses: list[str]) -> None:
    """A permanent refusal at SMTP time (our own server said so: no proof needed)."""
    with Session(rt.engine) as db:
        rt.suppressions.lend(db)  # the intake holds the next mail to these addresses at once
        _failed(db, rt, row, addresses, None, str(exc))
        db.commit()


def _failed(db: Session, rt: Runtime, row: Outbox, addresses: list[str], mark: str | None,
            error: str) -> None:
    """Suppress the addresses for a while, except the office's own correspondents (units, the
    admin, ourselves): their mail must keep trying, so the admin is told instead. `mark` marks our
    bounced mail failed (a DSN comes after the mail left the outbox)."""
    protected = protected_addresses(rt)
    until = rt.now() + timedelta(days=rt.config.bounce_suppress_days)
    for address in addresses:
        if address.lower() not in protected:
            suppress(db, address, until, f"{error}"[:500])
    if mark is not None and row.purpose != "admin":
        row.status, row.last_error = OutboxStatus.FAILED, mark
        db.add(row)
    if row.purpose != "admin":  # the admin's own mail failing would only loop
        notify_admin(db, rt, "admin_delivery_failed", row=row, addresses=addresses, error=error,
                     kept=[a for a in addresses if a.lower() in protected])
