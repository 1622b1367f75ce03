"""Rule RATE-LIMIT: a sender who writes more often than the cap allows gets no automatic answer.

Answering every mail of a sender who writes dozens an hour (a script, a loop with an auto-responder
that escaped the LOOP-AUTO checks, a person in a hurry) would make the office's mailbox a mail
cannon; past the cap the mail is kept and recorded, and nobody is answered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func
from sqlmodel import Session, select

from bot.context import Runtime
from bot.followup.trust import protected_addresses, standing
from bot.message.model import InboundMessage
from bot.store.models import InboundMail
from bot.store.states import MailStatus
from bot.verdict import Decision, Reason, Rule, Verdict

TEXT = "发件人短时间内来信过多，暂停自动回复。"


# Built once (asked for every mail): see bot.cases.
_DONE = (InboundMail.received_at >= bindparam("since"), InboundMail.status == MailStatus.DONE)
_DONE_FROM = select(func.count()).select_from(InboundMail).where(
    InboundMail.sender == bindparam("sender"), *_DONE)
_DONE_BY_SENDER = select(InboundMail.sender, func.count()).where(
    InboundMail.sender.in_(bindparam("senders", expanding=True)), *_DONE).group_by(InboundMail.sender)
CHUNK_COUNTS = "intake.rate_counts"  # Session.info: the chunk's ChunkCounts (count_chunk)


@dataclass
class ChunkCounts:
    """The mails done per sender in the window for the senders of one chunk, read in one query
    when its transaction starts, and the chunk's own mails added as they are done: one query per
    chunk instead of one per mail. Mail another process finishes meanwhile counts from the next
    chunk on (a chunk's transaction lasts well under a second; the window is hours)."""

    since: datetime
    done: dict[str, int]

    def handled(self, row: InboundMail) -> None:
        """Count a mail of the chunk once its outcome is set (done or not)."""
        if row.status == MailStatus.DONE and row.sender in self.done and row.received_at >= self.since:
            self.done[row.sender] += 1


def count_chunk(db: Session, rt: Runtime, senders: list[str]) -> ChunkCounts:
    """Read the counts of a chunk's senders into `db` (over_rate asks them there)."""
    since = rt.now() - timedelta(hours=rt.config.rate_window_hours)
    wanted = sorted({s for s in senders if s})
    done = dict.fromkeys(wanted, 0)
    if wanted:
        done.update(db.exec(_DONE_BY_SENDER, params={"senders": wanted, "since": since}).all())
    counts = db.info[CHUNK_COUNTS] = ChunkCounts(since, done)
    return counts


def over_rate(db: Session, rt: Runtime, msg: InboundMessage) -> Verdict | None:
    """The RATE-LIMIT verdict when the sender has reached the cap in the rolling window. A unit or
    the admin whose mail our server authenticated is never held back: otherwise anyone could
    silence them by forging their address twenty times."""
    sender = msg.from_addr
    if sender.lower() in protected_addresses(rt) and standing(msg, rt).authenticated:
        return None
    counts = db.info.get(CHUNK_COUNTS)
    if counts is not None and sender in counts.done:
        count = counts.done[sender]
    else:
        since = rt.now() - timedelta(hours=rt.config.rate_window_hours)
        count = db.exec(_DONE_FROM, params={"sender": sender, "since": since}).one()
    if count < rt.config.rate_limit_per_recipient:
        return None
    return Verdict(Decision.IGNORED, [Reason(Rule.RATE_LIMIT, None, TEXT)])
