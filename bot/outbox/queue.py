"""The outbox table: mail is queued in the transaction that caused it, and drained with retry.

4xx and network errors back off and retry; 5xx marks the mail failed, suppresses the address for a
while and tells the admin. A mail is marked sent only after the server accepted it; a crash between
acceptance and the mark can resend it once, with the same Message-ID, so clients collapse it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.errors import DeliveryError
from bot.outbox.transport import RecipientsRefused
from bot.outbox.compose import Draft, build_mime, new_message_id
from bot.store.models import Outbox, Suppression

log = logging.getLogger("bot.outbox")

MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class Sender:
    """Who we are on outgoing mail."""

    address: str
    name: str
    domain: str


def queue(db: Session, draft: Draft, sender: Sender, now: datetime) -> Outbox | None:
    """Add a mail to the outbox in the caller's transaction; None when every recipient is suppressed."""
    to = [a for a in dict.fromkeys(a.strip().lower() for a in draft.to if a and a.strip())
          if not _suppressed(db, a, now)]
    if not to:
        log.warning("OUTBOX-SKIP purpose=%s case=%s: no deliverable recipient", draft.purpose,
                    draft.case_number)
        return None
    draft.to = to
    message_id = new_message_id(sender.domain)
    raw = build_mime(draft, message_id=message_id, mail_from=sender.address,
                     from_name=sender.name, now=now)
    row = Outbox(message_id=message_id, purpose=draft.purpose, case_number=draft.case_number,
                 mail_from=sender.address, recipients=",".join(to), subject=draft.subject,
                 raw=raw, next_attempt_at=now, created_at=now)
    db.add(row)
    return row


def _suppressed(db: Session, address: str, now: datetime) -> bool:
    row = db.get(Suppression, address)
    return row is not None and row.until > now


@dataclass
class DrainResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def drain(engine: Engine, transport, now_fn, *, respect_backoff: bool = True,
          limit: int = 500, on_permanent=None) -> DrainResult:
    """Send pending mail. `on_permanent(row, error, addresses)` is called after a 5xx refusal."""
    result = DrainResult()
    with Session(engine) as db:
        stmt = select(Outbox.id).where(Outbox.status == "pending")
        if respect_backoff:
            stmt = stmt.where(Outbox.next_attempt_at <= now_fn())
        ids = list(db.exec(stmt.order_by(Outbox.id).limit(limit)))
    for row_id in ids:
        outcome = _send_one(engine, transport, row_id, now_fn, on_permanent)
        setattr(result, outcome, getattr(result, outcome) + 1)
        if outcome == "retried" and respect_backoff:
            break  # the server is unhappy: leave the rest for the next round
    return result


def _send_one(engine: Engine, transport, row_id: int, now_fn, on_permanent) -> str:
    with Session(engine) as db:
        row = db.get(Outbox, row_id)
        if row is None or row.status != "pending":
            return "sent"
        row.attempts += 1
        try:
            transport.send(row.raw, row.mail_from, row.recipients.split(","))
        except RecipientsRefused as exc:
            if not exc.accepted:
                return _record_failure(db, row, exc, now_fn(), on_permanent)
            return _partly_sent(db, row, exc, now_fn(), on_permanent)
        except DeliveryError as exc:
            return _record_failure(db, row, exc, now_fn(), on_permanent)
        row.status, row.sent_at = "sent", now_fn()
        db.add(row)
        db.commit()
        log.info("SENT %s purpose=%s case=%s to=%s", row.message_id, row.purpose,
                 row.case_number, row.recipients)
        return "sent"


def _partly_sent(db: Session, row: Outbox, exc, now: datetime, on_permanent) -> str:
    """Some recipients have the mail: only the ones refused with 4xx are tried again (same
    Message-ID), those refused with 5xx are reported; nobody gets it twice."""
    later = [a for a, (code, _t) in exc.refused.items() if code < 500]
    failed = [a for a, (code, _t) in exc.refused.items() if code >= 500]
    row.last_error = "; ".join(f"{a}: {c} {t}" for a, (c, t) in exc.refused.items())[:2000]
    if later:
        row.recipients = ",".join(later)
        row.next_attempt_at = now + min(timedelta(seconds=30 * 2 ** row.attempts), MAX_BACKOFF)
    else:
        row.status, row.sent_at = "sent", now
    db.add(row)
    db.commit()
    log.warning("PARTIAL %s delivered=%s retry=%s failed=%s", row.message_id,
                ",".join(exc.accepted), ",".join(later), ",".join(failed))
    if failed and on_permanent is not None:
        on_permanent(row, exc, failed)
    return "retried" if later else "sent"


def _record_failure(db: Session, row: Outbox, exc: DeliveryError, now: datetime,
                    on_permanent) -> str:
    row.last_error = str(exc)[:2000]
    if not exc.permanent:
        row.next_attempt_at = now + min(timedelta(seconds=30 * 2 ** row.attempts), MAX_BACKOFF)
        db.add(row)
        db.commit()
        log.warning("RETRY %s attempt=%d: %s", row.message_id, row.attempts, exc)
        return "retried"
    row.status = "failed"
    db.add(row)
    db.commit()
    log.error("FAILED %s to=%s: %s", row.message_id, row.recipients, exc)
    if on_permanent is not None:
        on_permanent(row, exc, row.recipients.split(","))
    return "failed"


def suppress(db: Session, address: str, until: datetime, reason: str) -> None:
    row = db.get(Suppression, address) or Suppression(address=address, until=until)
    row.until, row.reason = until, reason[:500]
    db.add(row)
