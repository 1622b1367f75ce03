"""Reading follow-up mail: which case a mail is about, who wrote it, and what its author wrote
(the text above the quoted original). Shared by the handlers of unit reports, satisfaction
answers, notes and the admin's ledger."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from bot.cases import case_of_thread
from bot.casetag import tagged_number
from bot.context import Runtime
from bot.message.model import InboundMessage
from bot.store.models import Case


@dataclass
class Followup:
    outcome: str  # report | refused | satisfaction | ledger-import
    case_number: str = ""
    detail: str = ""


def tagged_case(db: Session, msg: InboundMessage) -> Case | None:
    number = tagged_number(msg.subject)
    if number:
        case = db.exec(select(Case).where(Case.number == number)).first()
        if case is not None:
            return case
    return case_of_thread(db, [r for r in [msg.in_reply_to, *msg.references] if r])


def unit_of_address(rt: Runtime, address: str) -> str | None:
    address = address.lower()
    for unit in rt.ruleset.units:
        if address in (e.lower() for e in unit.emails):
            return unit.id
    return None
