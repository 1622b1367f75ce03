"""Our own copy of a sent mail, back in our mailbox: the proof that the server accepted the mail.

SMTP cannot tell a sender that died between recording "finalizing" and the final dot whether the
server got the dot. So each mail names our own address as one more envelope recipient of the same
transaction (bot.outbox.transport, `sent_copy`): the copy arrives if and only if the server took
the mail. The intake recognises the copy by its X-Loop header and a Message-ID we queued, marks
the outbox row sent, and files the copy in the Sent folder, where the office also sees what went out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.mailbox.base import HEADER_LIMIT, headers_of, message_id_of
from bot.outbox.queue import CLAIM
from bot.store.holders import holder_is_dead
from bot.store.models import Outbox
from bot.store.states import OutboxStatus

log = logging.getLogger(__name__)

def copy_message_id(raw: bytes, own_address: str) -> str | None:
    """The Message-ID of `raw` when it carries our X-Loop mark, else None (cheap: headers only)."""
    own = own_address.strip().lower()
    if not own or b"x-loop" not in raw[:HEADER_LIMIT].lower():
        return None
    headers = headers_of(raw)
    if not any(own in str(v).lower() for v in headers.get_all("X-Loop") or []):
        return None
    return message_id_of(headers)


def confirm_copy(engine: Engine, message_id: str, now: datetime) -> bool:
    """Record that the server accepted `message_id`; False when it is not a mail we queued."""
    return message_id in confirm_copies(engine, [message_id], now)


def confirm_copies(engine: Engine, message_ids: list[str], now: datetime) -> set[str]:
    """confirm_copy for a batch of copies in one query and one commit; returns the Message-IDs
    that are mails we queued (the others are not our copies).

    Only a row still `finalizing` changes (its sender died at the dot, or lost the answer): a
    `pending` row may be waiting to retry recipients refused with 4xx, which the copy says nothing of."""
    if not message_ids:
        return set()
    with Session(engine) as db:
        known = db.exec(select(Outbox.message_id, Outbox.status)
                        .where(Outbox.message_id.in_(set(message_ids)))).all()
        finalizing = sorted({mid for mid, status in known if status == OutboxStatus.FINALIZING})
        if finalizing:
            db.execute(update(Outbox)
                       .where(Outbox.message_id.in_(finalizing), Outbox.status == OutboxStatus.FINALIZING)
                       .values(status=OutboxStatus.SENT, sent_at=now, claimed_by="",
                               last_error="confirmed by its sent copy"))
            db.commit()
    for mid in finalizing:
        log.info("CONFIRMED %s by its sent copy", mid)
    return {mid for mid, _status in known}


def settle_unconfirmed(engine: Engine, now: datetime, in_mailbox: Callable[[str], bool]) -> int:
    """Decide the `finalizing` rows nobody is finishing whose grace is over: a copy still in the
    inbox (`in_mailbox(message_id)`, not yet reached in a backlog) means sent; none means the server
    never took the mail, and it goes out again. Returns how many rows were decided."""
    with Session(engine) as db:
        rows = db.exec(select(Outbox).where(Outbox.status == OutboxStatus.FINALIZING,
                                            Outbox.next_attempt_at <= now)).all()
    decided = 0
    for row in rows:
        abandoned = not row.claimed_by or holder_is_dead(row.claimed_by)
        if not (abandoned or row.next_attempt_at + CLAIM <= now):
            continue  # its sender is alive and may still get the server's answer
        if in_mailbox(row.message_id):
            decided += confirm_copy(engine, row.message_id, now)
            continue
        with Session(engine) as db:
            changed = db.execute(
                update(Outbox).where(Outbox.id == row.id, Outbox.status == OutboxStatus.FINALIZING)
                .values(status=OutboxStatus.PENDING, next_attempt_at=now, claimed_by="",
                        last_error="no sent copy arrived after the final dot: the server did not "
                                   "take the mail; sent again")).rowcount
            db.commit()
        if changed:
            decided += 1
            log.warning("UNCONFIRMED %s: no sent copy arrived; sending again", row.message_id)
    return decided
