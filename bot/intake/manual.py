"""Registrations taken by phone or in person: the admin enters the form file, same decision, same ledger."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from bot.cases import record, seats_for
from bot.context import Runtime
from bot.errors import FormUnreadable, InputError
from bot.forms.reader import read_attachment
from bot.intake.archive import archive_raw
from bot.intake.read import triage_form
from bot.verdict import Verdict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Registered:
    case_number: str  # "" when the decision opened no case
    verdict: Verdict


def register(rt: Runtime, path: Path, channel: str) -> Registered:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"无法读取文件 {path}：{exc.strerror}") from None
    rules = rt.ruleset
    try:
        form = read_attachment(data, path.name, districts=rules.programme.districts,
                               city=rules.programme.city)
    except FormUnreadable as exc:
        raise InputError(f"{path} 无法作为登记表读取（{exc.reason}）") from None
    digest_hex, _ = archive_raw(rt.config.archive_dir, data)
    with Session(rt.engine) as db:
        verdict = triage_form(form, rules, rt.today(), sender=form.contact_email or "",
                              used=lambda sid: seats_for(db, sid, form.credit_code,
                                                             form.contact_email or ""))
        rec = record(db, verdict, rules, sender=(form.contact_email or "").lower(), refs=[],
                     message_id=f"{digest_hex}@{channel}.register", today=rt.today(),
                     now=rt.now(), channel=channel)
        db.commit()
        number = rec.case.number if rec.case else ""
    log.info("%s register=%s case=%s rules=%s", verdict.decision.upper(), channel, number or "-",
             ",".join(verdict.rule_ids))
    return Registered(number, verdict)
