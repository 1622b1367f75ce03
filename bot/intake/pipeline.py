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
from bot.followup.inbound import Context, handle
from bot.followup.incoming import Followup
from bot.followup.trust import record_event
from bot.intake.archive import archive_raw
from bot.intake.bounces import record_bounce
from bot.intake.confirm import confirm_held
from bot.intake.prefetch import Analysis, Job
from bot.intake.ratelimit import over_rate
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
    """A mail archived and on its way through a worker."""

    digest_hex: str
    path: Path
    job: Job


def prepare(rt: Runtime, items: list[Fetched]) -> list[Prepared]:
    """Archive each mail first (nothing reads a mail before its raw copy is safe), then hand the
    batch to the workers, which read ahead while the main thread records."""
    archived = [archive_raw(rt.config.archive_dir, item.raw) for item in items]
    jobs = rt.analyser.submit_all([item.raw for item in items], rt.ruleset, own_domains(rt))
    return [Prepared(digest, path, job) for (digest, path), job in zip(archived, jobs)]


def process(rt: Runtime, item: Fetched, prepared: Prepared | None = None) -> str:
    """Returns the outcome: a decision, 'duplicate', 'error' (will retry) or 'quarantined'."""
    prepared = prepared or prepare(rt, [item])[0]
    digest_hex = prepared.digest_hex
    analysis = prepared.job.result(rt.ruleset)
    msg = analysis.msg
    if analysis.parse_error:  # recorded when claimed; the mail is quarantined in _handle
        log.error("PARSE-FAILED %s\n%s", digest_hex, analysis.parse_error.rstrip())
    row_id, state = _claim(rt, item, msg, digest_hex, prepared.path)
    if state != "todo":
        return state
    try:
        return _handle(rt, row_id, msg, analysis)
    except Exception as exc:  # noqa: BLE001 - one bad mail must not stop the loop
        log.exception("ERROR <%s> %s", msg.message_id if msg else digest_hex, exc)  # with the traceback
        return _record_error(rt, row_id, exc)


def own_domains(rt: Runtime) -> tuple[str, ...]:
    return (rt.config.message_id_domain,)


def _message_id(msg: InboundMessage | None, digest_hex: str) -> str:
    """The ledger key; an absurdly long Message-ID (hostile) is replaced by a digest of itself."""
    mid = msg.message_id if msg and msg.message_id else f"{digest_hex}@archive.invalid"
    if len(mid) > 400:
        mid = f"{hashlib.sha256(mid.encode('utf-8', 'replace')).hexdigest()}@long.invalid"
    return mid


def _claim(rt: Runtime, item: Fetched, msg, digest_hex: str, path: Path) -> tuple[int, str]:
    """Find or create the ledger row and count this attempt, in a commit of its own. A mail that
    has used up its attempts is quarantined here, before it is handled again: the tries that did
    not return (the process was killed) count as much as those that raised."""
    mid = _message_id(msg, digest_hex)
    with Session(rt.engine) as db:
        row = _ledger_row(db, item, mid)
        elsewhere = row is not None and (row.mailbox, row.uidvalidity, row.uid) != (
            item.mailbox, item.uidvalidity, item.uid)
        if elsewhere and not _same_mail(row, item.raw):
            log.warning("MESSAGE-ID-REUSED <%s>: another mail with this id; recorded apart", mid)
            mid = f"{digest_hex}@reused-id.invalid"
            row = _ledger_row(db, item, mid)
        if row is None:
            row = InboundMail(mailbox=item.mailbox, uidvalidity=item.uidvalidity, uid=item.uid,
                              message_id=mid, digest=digest_hex, archive_path=str(path),
                              sender=clip(msg.from_addr if msg else "", 320),
                              subject=(msg.subject if msg else "")[:2000],
                              received_at=rt.now())
        if row.status in (MailStatus.DONE, MailStatus.QUARANTINED):
            log.info("DUPLICATE <%s> digest=%s already %s", mid, digest_hex[:12], row.status)
            return row.id, "duplicate" if row.status == MailStatus.DONE else "quarantined"
        if row.attempts >= rt.config.max_attempts:
            return row.id, _quarantine_spent(db, rt, row)
        row.attempts += 1
        db.add(row)
        db.commit()
        return row.id, "todo"


def _ledger_row(db: Session, item: Fetched, mid: str) -> InboundMail | None:
    return db.exec(select(InboundMail).where(or_(
        (InboundMail.mailbox == item.mailbox) & (InboundMail.uidvalidity == item.uidvalidity)
        & (InboundMail.uid == item.uid),
        InboundMail.message_id == mid))).first()


def _same_mail(row: InboundMail, raw: bytes) -> bool:
    """The same bytes (line ends aside: IMAP gives CRLF, a Maildir LF) as the mail on record."""
    try:
        known = Path(row.archive_path).read_bytes()
    except OSError:
        return True  # cannot tell: the Message-ID decides, as it always did
    return known.replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")


def _quarantine_spent(db: Session, rt: Runtime, row: InboundMail) -> str:
    row.status = MailStatus.QUARANTINED
    row.last_error = (row.last_error + "\n" if row.last_error else "") + (
        f"quarantined when claimed: {row.attempts} tries did not finish (the process was stopped)")
    db.add(row)
    record_event(db, rt, "quarantined", row.sender, row.case_number,
                 f"主题为“{row.subject[:80]}”的来信连续{row.attempts}次处理未完成，已隔离，请人工查看",
                 f"<{row.message_id}> set aside after {row.attempts} unfinished tries")
    db.commit()
    log.error("QUARANTINED <%s> after %d tries that did not finish", row.message_id, row.attempts)
    return "quarantined"


def _handle(rt: Runtime, row_id: int, msg: InboundMessage | None, analysis: Analysis) -> str:
    if msg is None:
        return _unreadable(rt, row_id, analysis)
    rules, today, now = rt.ruleset, rt.today(), rt.now()
    with Session(rt.engine) as db:
        row = db.get(InboundMail, row_id)
        followup = _followup(rt, db, msg, analysis, row_id)
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


def _unreadable(rt: Runtime, row_id: int, analysis: Analysis) -> str:
    """No message came out of the bytes. A message of no bytes at all has no sender to answer:
    ignored, its (empty) copy kept. One whose very headers overran the limits is set aside at
    once (reading it again would only overrun again); anything else is an error, tried again."""
    with Session(rt.engine) as db:
        row = db.get(InboundMail, row_id)
        if analysis.overrun:
            row.status, row.last_error = MailStatus.QUARANTINED, f"reading overran: {analysis.overrun}"
            record_event(db, rt, "quarantined", row.sender, "",
                         f"主题为“{row.subject[:80]}”的来信超出处理时间或内存限制，已隔离，请人工查看",
                         f"<{row.message_id}> set aside: {analysis.overrun}")
            db.add(row)
            db.commit()
            return "quarantined"
        if Path(row.archive_path).stat().st_size:
            raise ValueError("the message could not be parsed at all")
        row.status, row.decision, row.rules = MailStatus.DONE, Decision.IGNORED, Rule.MAIL_EMPTY
        row.processed_at = rt.now()
        message_id = row.message_id
        db.add(row)
        db.commit()
    log.info("IGNORED <%s> case=- rules=MAIL-EMPTY", message_id)
    return "ignored"


def _followup(rt: Runtime, db: Session, msg: InboundMessage, analysis: Analysis, row_id: int):
    """Unit reports, satisfaction answers, confirmation codes and the admin's ledger go their own
    way (not loop mail); a bounce of our own mail is recorded (it is still ignored: never answered)."""
    if loop_reason(msg, (rt.ruleset.programme.mailbox,), own_domains(rt)):
        record_bounce(db, rt, msg)
        return None  # the intake path ignores it under LOOP-AUTO
    limited = over_rate(db, rt, msg)
    if limited is not None:
        return Followup(str(limited.decision), "", ",".join(limited.rule_ids))
    confirmed = confirm_held(db, rt, msg)
    if confirmed is not None:
        return confirmed
    return handle(db, rt, msg, Context(row_id, analysis.fresh_form, analysis.ledger))


def _done(db: Session, row: InboundMail, outcome: str, detail: str, number: str,
          msg: InboundMessage, now) -> str:
    row.status, row.decision, row.rules = MailStatus.DONE, outcome, detail[:300]
    row.case_number, row.processed_at = number, now
    db.add(row)
    db.commit()
    log.info("%s <%s> case=%s detail=%s", outcome.upper(), msg.message_id, number or "-", detail)
    return outcome


def _verdict(rt: Runtime, db: Session, msg: InboundMessage, analysis: Analysis):
    if analysis.intake_error is not None:
        raise analysis.intake_error
    intake, source = analysis.intake
    code = intake.form.credit_code if intake.form else None
    verdict = decide(intake, rt.ruleset, rt.today(),
                     lambda sid: seats_for(db, sid, code, msg.from_addr))
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
