"""Who may do what by mail (spec/quality.md): the standing of a mail's sender, and the record of
every mail the bot refused or held, which the admin reads once, in the daily digest.

- admin actions (the ledger by mail, approvals) come only from `admin_emails`;
- unit actions (reports, extension requests) only from a registered address of a unit assigned to
  the case;
- enterprise actions (corrections, notes, 满意度) only from the case's own sender or contact.
An admin or unit action whose sender our server did not authenticate is held until a one-time code
comes back from the registered address (bot.followup.held); a sender whose From field cannot be
trusted, or whose mail our server saw fail authentication, is refused outright.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlmodel import Session

from bot.context import Runtime
from bot.message.auth import authenticate
from bot.message.model import InboundMessage
from bot.message.sender import problem_cn
from bot.store.models import Case, TrustEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Standing:
    """How far the bot believes that a mail comes from its From address."""

    authenticated: bool  # our server vouches for it, or its held action was confirmed by code
    forged: bool  # the From field is deceptive, or our server saw authentication fail
    why: str  # English, for the log
    why_cn: str  # the same for the admin's digest


def standing(msg: InboundMessage, rt: Runtime, confirmed: bool = False) -> Standing:
    if msg.sender_problem:
        return Standing(False, True, f"From cannot be trusted: {msg.sender_problem}",
                        problem_cn(msg.sender_problem))
    if confirmed:
        return Standing(True, False, "confirmed by its one-time code", "已凭确认码确认")
    trust = rt.config.trust
    result = authenticate(msg, trust.authserv_id, trust.methods)
    if result.passed:
        return Standing(True, False, f"{result.method}=pass", "已通过验证")
    return Standing(False, result.failed, result.why, result.why_cn)


def case_parties(case: Case) -> set[str]:
    """The addresses an enterprise acts from: the case's sender and its registered contact."""
    return {case.sender.lower(), case.contact_email.lower()} - {""}


def is_admin(rt: Runtime, address: str) -> bool:
    return address.lower() in {a.lower() for a in rt.admin_emails}


def protected_addresses(rt: Runtime) -> set[str]:
    """The office's own correspondents: never suppressed automatically by a bounce."""
    units = {e.lower() for unit in rt.ruleset.units for e in unit.emails}
    return units | {a.lower() for a in rt.admin_emails} | {rt.ruleset.programme.mailbox.lower()}


def record_event(db: Session, rt: Runtime, kind: str, address: str = "", case_number: str = "",
                 detail_cn: str = "", log_detail: str = "") -> None:
    """Recorded in the caller's transaction; the daily digest tells the admin of it once
    (`detail_cn`, in Chinese). The log gets `log_detail` in English, without the address."""
    db.add(TrustEvent(at=rt.now(), kind=kind, address=address[:320], case_number=case_number,
                      detail=detail_cn[:2000]))
    log.warning("TRUST %s case=%s: %s", kind.upper(), case_number or "-", log_detail or kind)
