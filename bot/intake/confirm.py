"""A confirmation code comes back: the held action it names is applied, as if its mail had just
been authenticated (bot.followup.held explains the hold)."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlmodel import Session

from bot.context import Runtime
from bot.followup.held import (
    check_confirmation,
    code_in,
    find_held,
    held_mail,
    mark_applied,
)
from bot.followup.inbound import Context, handle
from bot.followup.incoming import Followup
from bot.message.model import InboundMessage

log = logging.getLogger(__name__)


def confirm_held(db: Session, rt: Runtime, msg: InboundMessage) -> Followup | None:
    """None when the mail carries no code of ours (it is handled as usual)."""
    code = code_in(msg)
    held = find_held(db, code) if code else None
    if held is None:
        return None
    problem = check_confirmation(db, rt, msg, held)
    if problem is not None:
        return Followup("refused", held.case_number, problem)
    row = held_mail(db, held)
    raw = Path(row.archive_path).read_bytes()
    analysis = rt.analyser.submit(raw, rt.ruleset, (rt.config.message_id_domain,)).result(rt.ruleset)
    if analysis.msg is None or analysis.overrun:
        return Followup("refused", held.case_number, "the held mail can no longer be read")
    done = handle(db, rt, analysis.msg, Context(row.id, analysis.fresh_form, analysis.ledger,
                                                 confirmed=True))
    mark_applied(db, rt, held)
    log.info("CONFIRMED held %s case=%s: %s", held.kind, held.case_number or "-",
             done.outcome if done else "nothing to apply")
    return Followup("confirmed", held.case_number, f"{held.kind}: {done.outcome if done else '-'}")
