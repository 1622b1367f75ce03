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
    """Suppress the failed addresses; mark our bounced mail failed. True when it was a DSN."""
    bounce = read_bounce(msg)
    if bounce is None or not bounce.failed:
        return False
    until = rt.now() + timedelta(days=rt.config.bounce_suppress_days)
    for address in bounce.failed:
        suppress(db, address, until, f"bounce {msg.message_id}: {bounce.diagnostic}")
    row = None
    if bounce.original_id:
        row = db.exec(select(Outbox).where(Outbox.message_id == bounce.original_id)).first()
    if row is not None and row.purpose != "admin":
        row.status, row.last_error = OutboxStatus.FAILED, f"bounced: {bounce.diagnostic}"[:2000]
        db.add(row)
        notify_admin(db, rt, "admin_delivery_failed", row=row, addresses=bounce.failed,
                     error=bounce.diagnostic or "delivery status report: failed")
    log.warning("BOUNCE <%s> failed=%s original=%s", msg.message_id, ",".join(bounce.failed),
                bounce.original_id or "-")
    return True


def on_refused(rt: Runtime, row: Outbox, exc: Exception, addresses: list[str]) -> None:
    """A permanent refusal at SMTP time: suppress the addresses for a while and tell the admin
    (not for the admin's own mail, which would loop)."""
    with Session(rt.engine) as db:
        until = rt.now() + timedelta(days=rt.config.bounce_suppress_days)
        for address in addresses:
            suppress(db, address, until, str(exc))
        if row.purpose != "admin":
            notify_admin(db, rt, "admin_delivery_failed", row=row, addresses=addresses,
                         error=str(exc))
        db.commit()
