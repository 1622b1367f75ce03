"""What a mail-reading worker does with one mail: parse it and read its form (bot.intake.prefetch
runs it in the workers under the per-mail limits). Only the workers import this module and the
readers it brings (the MIME parser, the form formats): the process that runs the intake needs none
of them, and its start-up is shorter without them."""

from __future__ import annotations

import traceback

from bot.followup.ledger_attachment import has_ledger
from bot.intake.prefetch import FULL, HEADERS, Analysis
from bot.intake.read import fresh_form, headers_intake, read_intake
from bot.message.parse import parse_headers, parse_message
from bot.rules.model import Ruleset


def analyse(raw: bytes, rules: Ruleset, own_domains: tuple[str, ...], mode: str = FULL) -> Analysis:
    """Parse `raw` and read its intake (FULL), or only its headers (HEADERS: after an overrun)."""
    if not raw:
        return Analysis(None)
    if mode == HEADERS:
        msg = parse_headers(raw)
        return Analysis(msg, intake=headers_intake(msg, rules, own_domains))
    try:
        msg = parse_message(raw)
    except Exception:  # noqa: BLE001 - the pipeline records and quarantines it
        return Analysis(None, parse_error=traceback.format_exc())
    try:
        replying = bool(msg.in_reply_to or msg.references or "[" in msg.subject)
        admin = msg.from_addr in {a.lower() for a in rules.programme.admin_emails}
        return Analysis(msg, intake=read_intake(msg, rules, own_domains),
                        fresh_form=replying and fresh_form(msg, rules),
                        ledger=admin and has_ledger(msg))
    except Exception as exc:  # noqa: BLE001 - raised only if the mail turns out to need an intake
        return Analysis(msg, intake_error=exc)
