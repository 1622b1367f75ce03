"""Inbound mail, a chunk at a time: archive -> ledger rows -> decide -> cases + outbox, committed together.

The mailbox is changed by the caller only after the commits. A mail already done (same
mailbox/UIDVALIDITY/UID, or same Message-ID) is not processed again; one that keeps failing is
quarantined after `max_attempts` tries, and a try that killed the process counts too
(bot.intake.ledger says how, with chunks). A chunk's mails are handled in one transaction, in
mailbox order (in several when a sender thread waits for SQLite's write lock); a mail whose
handling raises rolls its transaction back, is recorded as an error on its own, and the others
are handled again without it. The answers a transaction queues are claimed in it and handed to
the sender threads (bot.outbox.handoff).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from bot.cases import (
    clip,
    forget_reads,
    hold_numbers,
    read_codes,
    record,
    same_code,
    seats_in_transaction,
    write_numbers,
)
from bot.context import Runtime
from bot.followup.inbound import Context, handle
from bot.followup.incoming import Followup
from bot.followup.trust import record_event
from bot.intake.archive import archive_batch
from bot.intake.bounces import record_bounce
from bot.intake.confirm import confirm_held
from bot.intake.inhand import InHand
from bot.intake.ledger import (
    AGAIN,
    NEW,
    TODO,
    Arrival,
    claim_chunk,
    claim_one,
    record_error,
    release_unreached,
)
from bot.intake.prefetch import Analysis, Job
from bot.intake.ratelimit import CHUNK_COUNTS, ChunkCounts, count_chunk, over_rate
from bot.intake.replies import ReplyContext, drafts_for
from bot.mailbox.base import Fetched
from bot.message.loop import loop_reason
from bot.message.model import InboundMessage
from bot.outbox.compose import new_message_id
from bot.outbox.handoff import Handoff
from bot.outbox.queue import (
    ANSWER_COUNTS,
    claim_on_queue,
    claimed_here,
    count_answers,
    log_sent,
    queue,
    write_sent,
)
from bot.rules.decide import decide
from bot.store import later
from bot.store.models import InboundMail
from bot.store.states import MailStatus
from bot.verdict import Decision, Rule

log = logging.getLogger(__name__)

NOT_REACHED = ""  # the outcome of a mail left for the next pass (a stop was requested)
# How long a chunk waits for the sender threads to take what was handed over before it. Waiting
# keeps the queue (and memory) small and leaves the GIL to the senders; a sender stuck on a slow
# server does not hold the intake longer than this: the answers then stay in the table for drain.
HANDOFF_WAIT = 2.0


@dataclass
class Prepared:
    """A mail archived and on its way through a worker."""

    digest_hex: str
    path: Path
    job: Job


@dataclass
class Handled:
    """What handling one mail came to, and its log line (written once the outcome is committed)."""

    outcome: str
    line: tuple = ()


@dataclass
class Hooks:
    """What the daemon's loop lends the pipeline: a stop request, the watchdog's beat, the in-hand
    file, and the sender threads' hand-over (the answers of a chunk go to them claimed, unqueried)."""

    in_hand: InHand
    stopping: Callable[[], bool] = lambda: False
    beat: Callable[[], None] = lambda: None
    handoff: Handoff | None = None


@dataclass
class _Entry:
    arrival: Arrival
    analysis: Analysis
    row_id: int = 0
    row: InboundMail | None = None  # as claimed (a new row), detached: see Claim.row
    outcome: str = NOT_REACHED


def prepare(rt: Runtime, items: list[Fetched]) -> list[Prepared]:
    """Archive the batch first (nothing reads a mail before its raw copy is safe), then hand it to
    the workers, which read ahead while the main thread records."""
    archived = archive_batch(rt.config.archive_dir, [item.raw for item in items])
    jobs = rt.analyser.submit_all([item.raw for item in items], rt.ruleset, own_domains(rt))
    return [Prepared(digest, path, job) for (digest, path), job in zip(archived, jobs)]


def process_batch(rt: Runtime, items: list[Fetched], hooks: Hooks) -> list[str]:
    """The outcome of each mail, in order: a decision, 'duplicate', 'error' (will retry),
    'quarantined', or NOT_REACHED when a stop request came first."""
    prepared = prepare(rt, items)
    outcomes: list[str] = []
    while len(outcomes) < len(items) and not hooks.stopping():
        start = len(outcomes)
        end = _chunk_end(rt, prepared, start)
        outcomes += _process_chunk(rt, items[start:end], prepared[start:end], hooks)
    return outcomes + [NOT_REACHED] * (len(items) - len(outcomes))


def _chunk_end(rt: Runtime, prepared: list[Prepared], start: int) -> int:
    """A chunk is the next mail and those after it that the workers have read already (at most
    commit_batch): the main thread never sits idle waiting for a whole chunk to be read."""
    prepared[start].job.result(rt.ruleset)
    end, limit = start + 1, min(len(prepared), start + max(1, rt.config.commit_batch))
    while end < limit and prepared[end].job.ready(rt.ruleset):
        end += 1
    return end


def process(rt: Runtime, item: Fetched, in_hand: InHand) -> str:
    """One mail on its own (the chunk of one)."""
    return process_batch(rt, [item], Hooks(in_hand))[0]


def own_domains(rt: Runtime) -> tuple[str, ...]:
    return rt.config.own_domains


def _process_chunk(rt: Runtime, items: list[Fetched], prepared: list[Prepared], hooks: Hooks) -> list[str]:
    entries = [_entry(rt, item, p) for item, p in zip(items, prepared)]
    claims = claim_chunk(rt, [e.arrival for e in entries])
    group: list[_Entry] = []
    for entry, claim in zip(entries, claims):
        entry.row_id, entry.row = claim.row_id, claim.row
        if claim.state == NEW:
            group.append(entry)
            continue
        _handle_group(rt, group, hooks)  # mailbox order: the new mails before this one first
        group = []
        if claim.state == AGAIN and not hooks.stopping():
            hooks.beat()
            rt.analyser.poll()
            entry.outcome = _process_alone(rt, entry)
        elif claim.state != AGAIN:
            entry.outcome = claim.state
    _handle_group(rt, group, hooks)
    release_unreached(rt, [e.row_id for e, c in zip(entries, claims)
                           if c.state == NEW and e.outcome == NOT_REACHED])
    return [e.outcome for e in entries]


def _entry(rt: Runtime, item: Fetched, prepared: Prepared) -> _Entry:
    analysis = prepared.job.result(rt.ruleset)
    if analysis.parse_error:  # recorded when claimed; the mail is quarantined in _handle
        log.error("PARSE-FAILED %s\n%s", prepared.digest_hex, analysis.parse_error.rstrip())
    return _Entry(Arrival(item, analysis.msg, prepared.digest_hex, prepared.path), analysis)


def _process_alone(rt: Runtime, entry: _Entry) -> str:
    """A row an earlier try left unfinished: this try is counted before it starts, in its own commit."""
    state = claim_one(rt, entry.row_id)
    if state != TODO:
        return state
    try:
        with Session(rt.engine) as db:
            handled = _handle(rt, db, db.get(InboundMail, entry.row_id), entry.arrival.msg,
                              entry.analysis, count=False)
            db.commit()
    except Exception as exc:  # noqa: BLE001 - one bad mail must not stop the loop
        _log_error(entry, exc)
        return record_error(rt, entry.row_id, exc, counted=True)
    _write_log(handled)
    return handled.outcome


def _handle_group(rt: Runtime, group: list[_Entry], hooks: Hooks) -> None:
    """New mails in as few transactions as the sender threads allow (a transaction ends early
    when one of them waits for SQLite's write lock: bot.store.turns). A mail that raises is taken
    out and recorded as an error (this try counted); its transaction is rolled back and the others
    of it are handled again without it."""
    pending = list(group)
    counts: dict = {}  # read by the first transaction (_count_chunk), handed on to the next ones
    while pending and not hooks.stopping():
        done, failed = _try_group(rt, pending, hooks, counts)
        pending = pending[done:]
        if failed is not None:
            counts.clear()  # the rolled-back transaction had counted mails it did not keep
            entry = pending.pop(failed[0])
            _log_error(entry, failed[1])
            entry.outcome = record_error(rt, entry.row_id, failed[1], counted=False)


def _try_group(rt: Runtime, group: list[_Entry], hooks: Hooks,
               counts: dict) -> tuple[int, tuple[int, Exception] | None]:
    """(mails handled and committed, (index, exception) of the mail that raised or None)."""
    handled: list[tuple[_Entry, Handled]] = []
    handoff = hooks.handoff  # open and with room, waited for before taking a write turn
    if handoff is not None and not handoff.wait_for_room(HANDOFF_WAIT):
        handoff = None
    # Not expired on commit: the claimed rows leave the session loaded, for the sender threads.
    with rt.turns.turn(), Session(rt.engine, expire_on_commit=False) as db:
        rt.suppressions.lend(db)
        if handoff is not None:
            claim_on_queue(db, rt.holder_id)
        rates = _count_chunk(rt, db, group, counts)
        read_codes(db, [_credit_code(e.analysis) for e in group])
        later.hold(db)  # its case events and outbox rows go in at its commit
        hold_numbers(db)  # and its cases' numbers are counted on from one UPDATE of the counter
        rows: list[InboundMail] = []
        for index, entry in enumerate(group):
            if hooks.stopping():
                break  # the rest stay in the inbox; their claims are taken back (release_unreached)
            hooks.beat()
            rt.analyser.poll()  # the workers read the next mails while this one is recorded
            hooks.in_hand.hold(entry.row_id)
            try:
                row = db.merge(entry.row, load=False)  # no SELECT: the claim's row as committed
                db.expunge(row)  # its outcome is written with the others' at commit (below)
                handled.append((entry, _handle(rt, db, row, entry.arrival.msg, entry.analysis,
                                               count=True)))
                rates.handled(row)
                rows.append(row)
            except Exception as exc:  # noqa: BLE001 - one bad mail must not stop the loop
                db.rollback()
                hooks.in_hand.clear()
                return 0, (index, exc)
            if rt.turns.wanted():
                break  # a sender waits to write: commit now, go on in a new transaction
        # The chunk's outcomes, case events and mails go in together: one batch of UPDATEs of the
        # mails' rows and one INSERT per table, not one of each per mail between its queries.
        db.add_all(rows)
        later.add_held(db)
        write_numbers(db)
        claimed = claimed_here(db)
        sent = _commit_with_sent(db, hooks.handoff)
        for row in claimed:
            db.expunge(row)
    hooks.in_hand.clear()
    log_sent(sent)
    if handoff is not None:
        handoff.put(claimed)
    for entry, result in handled:
        entry.outcome = result.outcome
        _write_log(result)
    return len(handled), None


def _commit_with_sent(db: Session, handoff: Handoff | None) -> list:
    """Commit, with the rows the senders sent meanwhile marked sent: this transaction holds SQLite's
    write lock, which each of them would otherwise have waited for (bot.outbox.sentmarks)."""
    marks = handoff.sent if handoff is not None else None
    sent = marks.take() if marks is not None else []
    try:
        write_sent(db.connection(), sent)
        db.commit()
    except BaseException:
        if sent:
            marks.put_back(sent)
        raise
    return sent


def _count_chunk(rt: Runtime, db: Session, group: list[_Entry], counts: dict) -> ChunkCounts:
    """What the chunk's mails are checked against, read for all of them at once by the chunk's
    first transaction: the mails done per sender (RATE-LIMIT) and the answers sent per recipient
    (the outbox's cap). Kept up to date as its mails are done and its answers queued, they go on
    in `counts` to the next transaction when a sender's turn cuts the chunk (bot.store.turns: on
    SQLite, several times a second during a backlog) instead of being read again."""
    if counts:
        db.info.update(counts)
        return db.info[CHUNK_COUNTS]
    senders = [e.arrival.msg.from_addr for e in group if e.arrival.msg is not None]
    units = [address for unit in rt.ruleset.units for address in unit.emails]  # referrals go there
    count_answers(db, [*senders, *units], rt.sender, rt.now())
    rates = count_chunk(db, rt, senders)
    counts.update({key: db.info[key] for key in (CHUNK_COUNTS, ANSWER_COUNTS) if key in db.info})
    return rates


def _credit_code(analysis: Analysis) -> str | None:
    """The credit code the mail's form carries as read (decide() may still complete it)."""
    form = analysis.intake[0].form if analysis.intake else None
    return form.credit_code if form else None


def _log_error(entry: _Entry, exc: Exception) -> None:
    msg = entry.arrival.msg
    log.error("ERROR <%s> %s", msg.message_id if msg else entry.arrival.digest_hex, exc,
              exc_info=exc)  # with the traceback


def _write_log(handled: Handled) -> None:
    if handled.line:
        log.info(*handled.line)


def _handle(rt: Runtime, db: Session, row: InboundMail, msg: InboundMessage | None,
            analysis: Analysis, count: bool) -> Handled:
    """Decide one mail and write its outcome into `db` (the caller commits) and into `row`, which
    the caller adds to `db` if it is not there. `count`: this try is counted here, with its outcome
    (a chunk's new mail), not before it started."""
    handled = _outcome(rt, db, row, msg, analysis)
    if count:  # set with the outcome: one UPDATE of the row (a query in between would flush it alone)
        row.attempts += 1
    return handled


def _outcome(rt: Runtime, db: Session, row: InboundMail, msg: InboundMessage | None,
             analysis: Analysis) -> Handled:
    """What the mail comes to: its row's outcome, and the case and the mail it causes."""
    if msg is None:
        return _unreadable(rt, db, row, analysis)
    rules, today, now = rt.ruleset, rt.today(), rt.now()
    followup = _followup(rt, db, msg, analysis, row.id)
    if followup is not None:
        forget_reads(db)  # a report, an answer or the admin's ledger may change a case
        return _done(db, row, followup.outcome, followup.detail, followup.case_number, msg, now)
    verdict, source = _verdict(rt, db, msg, analysis)
    refs = [msg.in_reply_to, *msg.references]
    # The reply's Message-ID is chosen first, so the case is written with it once (not updated
    # again after the reply is queued).
    reply_id = new_message_id(rt.sender.domain)
    rec = record(db, verdict, rules, sender=msg.from_addr, refs=[r for r in refs if r],
                 message_id=msg.message_id, today=today, now=now, reply_id=reply_id)
    number = rec.case.number if rec.case else ""
    ctx = ReplyContext(sender=msg.from_addr, message_id=msg.message_id,
                       references=msg.references, case_number=number, updated=rec.updated,
                       form_attachment=source)
    for draft in drafts_for(verdict, ctx, rules, rt.templates, rt.config.documents_dir / "blank"):
        if draft.purpose.startswith("reply"):
            draft.message_id = reply_id
        out = queue(db, draft, rt.sender, now)
        if draft.message_id and rec.case is not None and (out is None or out.message_id != reply_id):
            rec.case.last_outbound_id = rec.previous_reply_id  # no reply was queued after all
    row.status, row.decision = MailStatus.DONE, verdict.decision
    row.rules, row.case_number = clip(",".join(verdict.rule_ids), 300), number
    row.processed_at = now
    return Handled(verdict.decision, ("%s <%s> case=%s rules=%s", verdict.decision.upper(),
                                      msg.message_id, number or "-", ",".join(verdict.rule_ids)))


def _unreadable(rt: Runtime, db: Session, row: InboundMail, analysis: Analysis) -> Handled:
    """No message came out of the bytes. A message of no bytes at all has no sender to answer:
    ignored, its (empty) copy kept. One whose very headers overran the limits is set aside at
    once (reading it again would only overrun again); anything else is an error, tried again."""
    if analysis.overrun:
        row.status, row.last_error = MailStatus.QUARANTINED, f"reading overran: {analysis.overrun}"
        record_event(db, rt, "quarantined", row.sender, "",
                     f"主题为“{row.subject[:80]}”的来信超出处理时间或内存限制，已隔离，请人工查看",
                     f"<{row.message_id}> set aside: {analysis.overrun}")
        return Handled("quarantined")
    if Path(row.archive_path).stat().st_size:
        raise ValueError("the message could not be parsed at all")
    row.status, row.decision, row.rules = MailStatus.DONE, Decision.IGNORED, Rule.MAIL_EMPTY
    row.processed_at = rt.now()
    return Handled("ignored", ("IGNORED <%s> case=- rules=MAIL-EMPTY", row.message_id))


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
          msg: InboundMessage, now) -> Handled:
    row.status, row.decision, row.rules = MailStatus.DONE, outcome, detail[:300]
    row.case_number, row.processed_at = number, now
    return Handled(outcome, ("%s <%s> case=%s detail=%s", outcome.upper(), msg.message_id,
                             number or "-", detail))


def _verdict(rt: Runtime, db: Session, msg: InboundMessage, analysis: Analysis):
    if analysis.intake_error is not None:
        raise analysis.intake_error
    intake, source = analysis.intake
    form = intake.form
    read_codes(db, [])  # same_code() keeps what it reads for record() and the chunk's next mails
    sessions = tuple(s.id for s in rt.ruleset.sessions)  # counted together, once per transaction
    with_code = same_code(db, form.credit_code if form else None)  # deciding writes nothing
    verdict = decide(intake, rt.ruleset, rt.today(), lambda sid: seats_in_transaction(
        db, sid, msg.from_addr, with_code, sessions))
    return verdict, source
