"""One inbound mail, end to end: archive -> ledger row -> decide -> case + outbox in one commit.

The mailbox is changed by the caller only after this commit. A mail already done (same
mailbox/UIDVALIDITY/UID, or same Message-ID) is not processed again; one that keeps failing is
quarantined after `max_attempts` tries, counted before each try so that a crash counts too.
"""

from __future__ import annotations

import hashlib
import logging
import traceback
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import or_
from sqlmodel import Session, select

from bot.cases import clip, record, seats_for
from bot.context import Runtime
from bot.followup.inbound import handle
from bot.intake.archive import archive_raw
from bot.intake.bounces import record_bounce
from bot.intake.prefetch import Analyser, Analysis, Pending
from bot.intake.ratelimit import over_rate
from bot.intake.read import read_intake
from bot.intake.replies import ReplyContext, drafts_for
from bot.mailbox.base import Fetched
from bot.message.loop import loop_reason
from bot.message.model import InboundMessage
from bot.outbox.queue import queue
from bot.rules.decide import decide
from bot.store.models import InboundMail
from bot.store.states import MailStatus
from bot.verdict import Decision, Rule

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    """A mail archived and on its way to being parsed (by a worker, or inline when asked)."""

    digest_hex: str
    path: Path
    pending: Pending


def prepare(rt: Runtime, items: list[Fetched], analyser: Analyser | None = None) -> list[Prepared]:
    """Archive each mail first (nothing reads a mail before its raw copy is safe), then hand the
    batch to the analysis workers, which parse ahead while the main thread records."""
    archived = [archive_raw(rt.config.archive_dir, item.raw) for item in items]
    raws = [item.raw for item in items]
    if analyser is not None:
        pendings = analyser.submit_all(raws, rt.ruleset, _own_domains(rt))
    else:
        pendings = [Pending(raw, rt.ruleset) for raw in raws]
    return [Prepared(digest, path, pending) for (digest, path), pending in zip(archived, pendings)]


def process(rt: Runtime, item: Fetched, prepared: Prepared | None = None) -> str:
    """Returns the outcome: a decision, 'duplicate', 'error' (will retry) or 'quarantined'."""
    prepared = prepared or prepare(rt, [item])[0]
    digest_hex = prepared.digest_hex
    analysis = prepared.pending.result(rt.ruleset, _own_domains(rt))
    msg = analysis.msg
    if analysis.parse_error:  # recorded when claimed; the mail is quarantined in _handle
        log.error("PARSE-FAILED %s\n%s", digest_hex, analysis.parse_error.rstrip())
    row_id, state = _claim(rt, item, msg, digest_hex, str(prepared.path))
    if state != "todo":
        return state
    try:
        return _handle(rt, row_id, msg, analysis)
    except Exception as exc:  # noqa: BLE001 - one bad mail must not stop the loop
        log.exception("ERROR <%s> %s", msg.message_id if msg else digest_hex, exc)  # with the traceback
        return _record_error(rt, row_id, exc)


def _own_domains(rt: Runtime) -> tuple[str, ...]:
    return (rt.config.message_id_domain,)


def _message_id(msg: InboundMessage | None, digest_hex: str) -> str:
    """The ledger key; an absurdly long Message-ID (hostile) is replaced by a digest of itself."""
    mid = msg.message_id if msg and msg.message_id else f"{digest_hex}@archive.invalid"
    if len(mid) > 400:
        mid = f"{hashlib.sha256(mid.encode('utf-8', 'replace')).hexdigest()}@long.invalid"
    return mid


def _claim(rt: Runtime, item: Fetched, msg, digest_hex: str, path: str) -> tuple[int, str]:
    """Find or create the ledger row and count this attempt, in a commit of its own."""
    mid = _message_id(msg, digest_hex)
    with Session(rt.engine) as db:
        row = db.exec(select(InboundMail).where(or_(
            (InboundMail.mailbox == item.mailbox) & (InboundMail.uidvalidity == item.uidvalidity)
            & (InboundMail.uid == item.uid),
            InboundMail.message_id == mid))).first()
        if row is None:
            row = InboundMail(mailbox=item.mailbox, uidvalidity=item.uidvalidity, uid=item.uid,
                              message_id=mid, digest=digest_hex, archive_path=path,
                              sender=clip(msg.from_addr if msg else "", 320),
                              subject=(msg.subject if msg else "")[:2000],
                              received_at=rt.now())
        if row.status in (MailStatus.DONE, MailStatus.QUARANTINED):
            log.info("DUPLICATE <%s> digest=%s already %s", mid, digest_hex[:12], row.status)
            return row.id, "duplicate" if row.status == MailStatus.DONE else "quarantined"
        row.attempts += 1
        db.add(row)
        db.commit()
        return row.id, "todo"


def _handle(rt: Runtime, row_id: int, msg: InboundMessage | None, analysis: Analysis) -> str:
    if msg is None:
        return _empty(rt, row_id)
    rules, today, now = rt.ruleset, rt.today(), rt.now()
    with Session(rt.engine) as db:
        row = db.get(InboundMail, row_id)
        followup = _followup(rt, db, msg)
        if followup is not None:
            return _done(db, row, followup.outcome, followup.detail, followup.case_number, msg, now)
        verdict, source = _verdict(rt, db, msg, analysis)
        refs = [msg.in_reply_to, *msg.references]
        rec = record(db, verdict, rules, sender=msg.from_addr, refs=[r for r in refs if r],
                     message_id=msg.message_id, today=today, now=now)
        number = rec.case.number if rec.case else ""
        ctx = ReplyContext(sender=msg.from_addr, message_id=msg.message_id,
                           references=msg.references, case_number=number, updated=rec.updated,
                           form_attachment=source)
        for draft in drafts_for(verdict, ctx, rules, rt.templates, rt.config.documents_dir / "blank"):
            out = queue(db, draft, rt.sender, now)
            if out is not None and rec.case is not None and draft.purpose.startswith("reply"):
                rec.case.last_outbound_id = out.message_id
                db.add(rec.case)
        row.status, row.decision = MailStatus.DONE, verdict.decision
        row.rules, row.case_number = clip(",".join(verdict.rule_ids), 300), number
        row.processed_at = now
        db.add(row)
        db.commit()
    log.info("%s <%s> case=%s rules=%s", verdict.decision.upper(), msg.message_id,
             number or "-", ",".join(verdict.rule_ids))
    return verdict.decision


def _empty(rt: Runtime, row_id: int) -> str:
    """A message with no bytes at all has no sender to answer: ignored, its (empty) copy kept."""
    with Session(rt.engine) as db:
        row = db.get(InboundMail, row_id)
        if Path(row.archive_path).stat().st_size:
            raise ValueError("the message could not be parsed at all")
        row.status, row.decision, row.rules = MailStatus.DONE, Decision.IGNORED, Rule.MAIL_EMPTY
        row.processed_at = rt.now()
        db.add(row)
        db.commit()
    log.info("IGNORED <%s> case=- rules=MAIL-EMPTY", row.message_id)
    return "ignored"


def _followup(rt: Runtime, db: Session, msg: InboundMessage):
    """Unit reports, satisfaction answers and the admin's ledger go their own way (not loop mail);
    a bounce of our own mail is recorded (it is still ignored: never answered)."""
    if loop_reason(msg, (rt.ruleset.programme.mailbox,), (rt.config.message_id_domain,)):
        record_bounce(db, rt, msg)
        return None
    return handle(db, rt, msg)


def _done(db: Session, row: InboundMail, outcome: str, detail: str, number: str,
          msg: InboundMessage, now) -> str:
    row.status, row.decision, row.rules = MailStatus.DONE, outcome, detail[:300]
    row.case_number, row.processed_at = number, now
    db.add(row)
    db.commit()
    log.info("%s <%s> case=%s detail=%s", outcome.upper(), msg.message_id, number or "-", detail)
    return outcome


def _verdict(rt: Runtime, db: Session, msg: InboundMessage, analysis: Analysis):
    rules = rt.ruleset
    limited = over_rate(db, rt, msg.from_addr)
    if limited is not None:
        return limited, None
    if analysis.intake_error is not None:
        raise analysis.intake_error
    intake, source = analysis.intake or read_intake(msg, rules, _own_domains(rt))
    code = intake.form.credit_code if intake.form else None
    verdict = decide(intake, rules, rt.today(), lambda sid: seats_for(db, sid, code))
    return verdict, source


TRACEBACK_LIMIT = 16000  # characters of a traceback kept in the ledger row


def _record_error(rt: Runtime, row_id: int, exc: Exception) -> str:
    """The whole traceback goes into the row, so a quarantined mail says where it failed."""
    text = "".join(traceback.format_exception(exc)).strip()
    if len(text) > TRACEBACK_LIMIT:  # the outer frames go first: the failing call is at the end
        text = "…\n" + text[-TRACEBACK_LIMIT:]
    with Session(rt.engine) as db:
        row = db.get(InboundMail, row_id)
        row.last_error = text
        if row.attempts >= rt.config.max_attempts:
            row.status = MailStatus.QUARANTINED
        db.add(row)
        db.commit()
        return "quarantined" if row.status == MailStatus.QUARANTINED else "error"
