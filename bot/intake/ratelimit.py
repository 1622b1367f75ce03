"""Rule RATE-LIMIT: a sender who writes more often than the cap allows gets no automatic answer.

Answering every mail of a sender who writes dozens an hour (a script, a loop with an auto-responder
that escaped the LOOP-AUTO checks, a person in a hurry) would make the office's mailbox a mail
cannon; past the cap the mail is kept and recorded, and nobody is answered."""

from __future__ import annotations

from datetime import timedelta

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
_DONE_FROM = select(func.count()).select_from(InboundMail).where(
    InboundMail.sender == bindparam("sender"), InboundMail.received_at >= bindparam("since"),
    InboundMail.status == MailStatus.DONE)


def over_rate(db: Session, rt: Runtime, msg: InboundMessage) -> Verdict | None:
    """The RATE-LIMIT verdict when the sender has reached the cap in the rolling window. A unit or
    the admin whose mail our server authenticated is never held back: otherwise anyone could
    silence them by forging their address twenty times."""
    sender = msg.from_addr
    if sender.lower() in protected_addresses(rt) and standing(msg, rt).authenticated:
        return None
    since = rt.now() - timedelta(hours=rt.config.rate_window_hours)
    count = db.exec(_DONE_FROM, params={"sender": sender, "since": since}).one()
    if count < rt.config.rate_limit_per_recipient:
        return None
    return Verdict(Decision.IGNORED, [Reason(Rule.RATE_LIMIT, None, TEXT)])
