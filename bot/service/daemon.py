"""The loop that connects the stages: fetch -> process -> move; drain the outbox; run scheduled jobs."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from functools import partial

from bot.context import Runtime
from bot.errors import MailboxError
from bot.followup.notify import tell_admin
from bot.intake.bounces import on_refused
from bot.intake.inhand import InHand
from bot.intake.ledger import blame_left_behind
from bot.intake.pipeline import NOT_REACHED, Hooks, process_batch
from bot.intake.reevaluate import reevaluate_deferred
from bot.mailbox.base import Source
from bot.mailbox.settler import Settler
from bot.outbox.confirm import confirm_copies, copy_message_id, settle_unconfirmed
from bot.outbox.handoff import HANDOFF_BATCH, Handoff
from bot.outbox.pause import SendPause
from bot.outbox.queue import (
    BATCH_MARK,
    DrainResult,
    drain,
    next_grace_end,
    send_claimed,
    unclaim,
    unconfirmed,
)
from bot.outbox.sentmarks import SentMarks
from bot.outbox.transport import grace_of
from bot.retry import backoff_delay
from bot.service import lease
from bot.service.lifecycle import Interrupted, Lifecycle

log = logging.getLogger(__name__)

SETTLE_LIMIT = 30.0  # seconds `run --once` waits for sent copies before leaving them to the next run


@dataclass
class PassResult:
    processed: int = 0
    outcomes: dict | None = None


def fetch_pass(rt: Runtime, source: Source, batch: int | None = None,
               life: Lifecycle | None = None, handoff: Handoff | None = None) -> PassResult:
    """Process everything waiting in the inbox, if this process holds the mailbox lease. With a
    lifecycle, a stop request ends the pass after the mail in hand (the rest stays in the inbox).
    With a hand-over, the answers go to the sender threads claimed (BackgroundSender.handoff)."""
    result = PassResult(outcomes={})
    batch = batch or rt.config.fetch_batch
    hooks = Hooks(in_hand_file(rt, source), handoff=handoff)
    if life is not None:
        hooks.stopping, hooks.beat = life.stop_requested, life.beat
    settler = Settler(source)
    try:
        first = True
        while not hooks.stopping() and lease.acquire(rt.engine, source.name, rt.holder_id, rt.now()):
            if first:  # a try a killed holder of the lease left unfinished counts against its mail
                blame_left_behind(rt, hooks.in_hand)
                first = False
            if not _fetch_round(rt, source, batch, hooks, result, settler):
                break
        settler.finish()
    finally:
        settler.close()
        hooks.in_hand.close()
    return result


def in_hand_file(rt: Runtime, source: Source) -> InHand:
    return InHand(rt.config.storage_dir / "intake", source.name)


def _fetch_round(rt: Runtime, source: Source, batch: int, hooks: Hooks, result: PassResult,
                 settler: Settler) -> bool:
    """One batch from the inbox; False when the inbox has nothing more for this pass."""
    if grace_of(rt.transport) is not None:
        settle_unconfirmed(rt.engine, rt.now(), source.has_message_id)
    items = source.peek_new(limit=batch, max_bytes=rt.config.batch_bytes, skip=settler.pending())
    settler.release()  # the last round's moves, now that this round's headers are read
    lease.record_fetch(rt.engine, source.name, rt.holder_id, rt.now(), len(items))
    copies, mail = _split_copies(rt, items)
    mail = source.fetch_whole(mail)  # the copies are filed unread: only new mail is fetched whole
    done: list = []
    quarantined = 0
    for item, outcome in zip(mail, process_batch(rt, mail, hooks)):
        if outcome == NOT_REACHED:
            continue  # a stop was requested: what is left stays in the inbox for the next start
        result.outcomes[outcome] = result.outcomes.get(outcome, 0) + 1
        if outcome == "error":
            continue  # stays in the inbox; tried again next pass
        result.processed += 1
        if outcome == "quarantined":
            source.quarantine(item)
            quarantined += 1
        else:
            done.append(item)
    more = len(items) >= batch and bool(done or copies or quarantined)
    # Moved after their commits, in one round trip; a crash before the move only means the
    # ledger recognises them next time. While more mail waits, on the settler's connection once
    # the next round has read its headers (Settler.hold), while that round is handled.
    if more:
        settler.hold(done)
        settler.hold(copies, source.sent_folder)
    else:
        settler.move(done)
        settler.move(copies, folder=source.sent_folder)
    if copies:
        result.processed += len(copies)
        result.outcomes["sent-copy"] = result.outcomes.get("sent-copy", 0) + len(copies)
    return more


def _split_copies(rt: Runtime, items: list) -> tuple[list, list]:
    """(our own copies of mail we sent, the rest), from the headers: a copy confirms its delivery
    and is filed, not answered (the outbox row holds the same bytes, so it is not archived again).
    One query for the batch."""
    marked, address = {}, rt.sender.address
    for item in items:
        try:
            message_id = copy_message_id(item.raw, address)
        except Exception:  # noqa: BLE001 - a header we cannot read: the pipeline handles the mail
            log.exception("SENT-COPY check failed for %s; processing it as inbound mail", item.key)
            continue
        if message_id is not None:
            marked[item.key] = message_id
    ours = confirm_copies(rt.engine, list(marked.values()), rt.now())
    copies = [item for item in items if marked.get(item.key) in ours]
    return copies, [item for item in items if marked.get(item.key) not in ours]


class BackgroundSender:
    """Drains the outbox while mail is being processed, so replies leave during a backlog
    instead of after it: one thread per transport (the runtime's own and its extra SMTP
    connections), which the outbox's claims keep from sending a mail twice. The intake hands its
    answers over already claimed (`handoff`); the threads also send whatever else is due. Leaving
    the block normally lets the threads finish what is due; leaving it by an exception stops them
    (and what is still handed over goes back to the table, pending).

    A server may allow one account fewer connections at once than configured (it refuses the extra
    ones, often with "421 too many connections"). A thread whose connection cannot be opened while
    others are still sending then stops for this pass and passes its rows on, not charged a try;
    only the last thread standing takes a refused connection as an outage (back-off, as before).
    After a temporary failure every thread pauses (`pause`, kept by the loop from pass to pass): a
    server that asks for a slower pace is not sent the next mail 0.2 s later by each thread."""

    def __init__(self, rt: Runtime, jobs, pause: SendPause | None = None):
        self.rt, self.jobs = rt, jobs
        self.pause = pause or SendPause()
        self.handoff = Handoff(HANDOFF_BATCH, sent=SentMarks(rt.engine, rt.turns))
        self._stop = threading.Event()
        self._finish = False
        self._fatal: BaseException | None = None
        self._bounce_lock = threading.Lock()  # one suppression + admin notice at a time
        transports = [rt.transport, *rt.extra_transports]
        self._sending = len(transports)  # threads not stopped by a refused connection (_spare)
        self._sending_lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(t,), name=f"outbox-sender-{n}",
                                          daemon=True) for n, t in enumerate(transports)]

    def __enter__(self) -> "BackgroundSender":
        if self.pause.left():  # the server asked to wait: this pass's answers wait in the table
            self.handoff.close()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self._finish = exc_type is None
        self._stop.set()
        self.handoff.wake(len(self._threads))
        for thread in self._threads:
            thread.join()
        self.handoff.sent.flush()
        self._give_back(self.handoff.leftovers())
        if self._fatal is not None and exc_type is None:
            raise self._fatal

    def _run(self, transport) -> None:
        try:
            self._drain(transport)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread by __exit__
            # Not an error of one mail (those are Exceptions, handled in _drain): an interrupt or
            # an exit stops the whole run, as it would if the main thread had been sending.
            self._fatal = exc
            self._stop.set()

    def _drain(self, transport) -> None:
        rt = self.rt
        recover = True  # rows a dead sender left behind: looked for once per pass, not every round
        busy = False
        while True:
            self.pause.wait(self._stop)  # the rest of the pass's answers wait in the table meanwhile
            if self.pause.left():  # the pass ended during the pause: its mail goes after it
                return
            # Once the pass ends, nothing new is handed over: a thread takes what is left without
            # waiting. Waiting, it could sleep the whole 0.2 s after another thread had taken its
            # wake-up, and the pass's end waited for it (a `run --once` 0.2 s longer).
            batch = self.handoff.take(timeout=0 if busy or self._stop.is_set() else 0.2)
            if not batch:
                self.handoff.sent.flush_if_free()
            if self._stop.is_set() and not self._finish:
                self._give_back(batch or [])
                return
            try:
                if batch:
                    sent = self._send_handed(transport, batch)
                else:
                    sent = drain(rt.engine, transport, rt.now, limit=20, recover=recover,
                                 on_permanent=self._on_permanent, holder=rt.holder_id,
                                 turns=rt.turns, spare=self._spare)
                    recover = False
                busy = bool(sent.sent or sent.failed)
                self.pause.note(retried=bool(sent.retried), sent=bool(sent.sent))
            except Exception:  # noqa: BLE001 - the main loop drains again; keep the pass going
                log.exception("SENDER error; the outbox is drained again after the pass")
                self.handoff.close()  # the intake's answers wait in the table, not for this thread
                with self._sending_lock:  # a refused connection of the last other thread is an outage
                    self._sending -= 1
                return
            if sent.untried is not None:  # this connection was refused; the others send on
                log.info("SMTP-CONNECTION not opened, %d other(s) send on in this pass: %s",
                         self._sending, sent.refused)
                return
            if self._stop.is_set() and not busy and self.handoff.empty():
                return

    def _send_handed(self, transport, rows) -> DrainResult:
        """Send a batch the intake handed over. After a temporary failure the hand-over closes:
        the rest wait in the table with their back-off, as drain leaves them. Rows this thread's
        connection could not take go back to the hand-over, still claimed, for the others."""
        if not self.handoff.is_open():
            self._give_back(rows)
            return DrainResult()
        sent = send_claimed(self.rt.engine, transport, rows, self.rt.now, holder=self.rt.holder_id,
                            on_permanent=self._on_permanent, turns=self.rt.turns, spare=self._spare,
                            record=self.handoff.sent.record)
        if sent.untried:
            self.handoff.put(sent.untried)
        if sent.retried:
            self.handoff.close()
        return sent

    def _spare(self) -> bool:
        """Asked by a thread whose connection could not be opened: True when another thread still
        sends, and this one then counts as stopped; False for the last one (an outage)."""
        with self._sending_lock:
            if self._sending <= 1:
                return False
            self._sending -= 1
            return True

    def _give_back(self, rows) -> None:
        with self.rt.turns.turn():
            unclaim(self.rt.engine, rows, self.rt.holder_id, self.rt.now())

    def _on_permanent(self, row, exc, addresses) -> None:
        with self._bounce_lock:
            on_refused(self.rt, row, exc, addresses)


def run_once(rt: Runtime, source: Source, jobs) -> PassResult:
    """`run --once`: take what is waiting, send what is due (retrying now, not on backoff), exit."""
    _check_rules(rt, jobs)
    source.open()
    try:
        with BackgroundSender(rt, jobs) as senders:
            result = fetch_pass(rt, source, handoff=senders.handoff)
            # Errors are retried right away, up to the attempt limit, so one run settles each mail.
            for _ in range(rt.config.max_attempts):
                if not result.outcomes.get("error"):
                    break
                again = fetch_pass(rt, source, handoff=senders.handoff)
                result.processed += again.processed
                result.outcomes = _merge(result.outcomes, again.outcomes, drop="error")
        jobs.run_due(force=True)
        drain_all(rt, jobs, respect_backoff=False)
        settled = _settle_copies(rt, source, jobs)
        result.processed += settled.processed
        result.outcomes = _merge(result.outcomes, settled.outcomes, drop="")
    finally:
        source.close()
        lease.release(rt.engine, source.name, rt.holder_id)
    return result


def _settle_copies(rt: Runtime, source: Source, jobs) -> PassResult:
    """Before `run --once` exits: file the sent copies that came back, and wait a little (the grace,
    and the margin of a batch's mark after a crash: BATCH_MARK; at most SETTLE_LIMIT) for mail whose
    delivery only its copy can confirm, sending again what never arrived. What is still open then is
    settled by the next run."""
    total = PassResult(outcomes={})
    grace = grace_of(rt.transport)
    if grace is None:
        return total
    deadline = time.monotonic() + min((grace + BATCH_MARK).total_seconds(), SETTLE_LIMIT) + 1.0
    while True:
        filed = fetch_pass(rt, source)
        total.processed += filed.processed
        total.outcomes = _merge(total.outcomes, filed.outcomes, drop="")
        # New answers and mail the server never took; what just failed keeps its backoff.
        sent = drain_all(rt, jobs)
        if not (filed.processed or sent or unconfirmed(rt.engine)):
            return total
        if time.monotonic() > deadline:
            log.warning("SETTLE gave up waiting for %d sent copies", unconfirmed(rt.engine))
            return total
        if not filed.processed:
            time.sleep(0.2)


def drain_all(rt: Runtime, jobs, respect_backoff: bool = True, pause: SendPause | None = None) -> int:
    """Send everything sendable now, including what sending itself queues (a bounce notice);
    returns how many mails went out. With the loop's `pause`, nothing while it is in force, and
    what this drain meets counts in it."""
    total = 0
    while pause is None or not pause.left():
        sent = drain(rt.engine, rt.transport, rt.now, respect_backoff=respect_backoff,
                     on_permanent=partial(on_refused, rt), holder=rt.holder_id)
        total += sent.sent
        if pause is not None:
            pause.note(retried=bool(sent.retried), sent=bool(sent.sent))
        if not (sent.sent or sent.failed) or sent.retried:
            return total
    return total


def run_forever(rt: Runtime, source: Source, jobs, life: Lifecycle | None = None) -> None:
    """Serve until the lifecycle asks to stop; then the mail in hand is finished, the outbox
    flushed and the lease released before returning."""
    life = life or Lifecycle()
    source.open()
    life.notifier.ready(f"reading {source.name}")
    failures = 0
    pause = SendPause()  # a server's "later" holds for the passes after it too
    try:
        while not life.stop_requested():
            try:
                life.beat()
                _check_rules(rt, jobs)
                with BackgroundSender(rt, jobs, pause) as senders:
                    fetch_pass(rt, source, life=life, handoff=senders.handoff)
                if life.stop_requested():
                    break
                jobs.run_due()
                drain_all(rt, jobs, pause=pause)
                with life.waiting():  # and no longer than the pause: then what waits is sent
                    source.wait(min(_wait_seconds(rt, life), pause.left() or float("inf"),
                                    _until_grace_ends(rt)))
                failures = 0
            except Interrupted:
                break
            except MailboxError as exc:
                failures = _pause(life, failures, "MAILBOX %s; retrying in %.0fs", exc)
            except Exception:  # noqa: BLE001 - the database or a job failed: keep serving, slowly
                failures = _pause(life, failures, "LOOP-ERROR; retrying in %.0fs", exc_info=True)
        _flush(rt, jobs)
    finally:
        source.close()
        lease.release(rt.engine, source.name, rt.holder_id)
    log.info("STOPPED: lease of %s released", source.name)


def _wait_seconds(rt: Runtime, life: Lifecycle) -> float:
    # The watchdog must hear from the loop while it waits for mail.
    interval = life.notifier.watchdog_interval
    return rt.config.poll_seconds if interval is None else min(rt.config.poll_seconds, interval)


def _until_grace_ends(rt: Runtime) -> float:
    """Seconds until a `finalizing` row's grace ends: the loop looks for its copy then. After a
    crash, the mails of a marked batch that never left (BATCH_MARK) go out again then, not a poll
    later."""
    if grace_of(rt.transport) is None:
        return float("inf")
    now = rt.now()
    end = next_grace_end(rt.engine, now)
    return float("inf") if end is None else (end - now).total_seconds() + 0.1


def _pause(life: Lifecycle, failures: int, message: str, *args, exc_info: bool = False) -> int:
    delay = backoff_delay(failures, rng=None)
    if exc_info:
        log.exception(message, delay)
    else:
        log.warning(message, *args, delay)
    try:
        with life.waiting():
            _sleep_beating(life, delay)
    except Interrupted:
        pass  # the loop sees the stop request
    return failures + 1


def _sleep_beating(life: Lifecycle, seconds: float) -> None:
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        life.beat()
        time.sleep(min(left, 1.0))


def _flush(rt: Runtime, jobs) -> None:
    """On the way out: send what is due now (mail in back-off stays queued for the next start)."""
    try:
        sent = drain_all(rt, jobs)
        log.info("STOPPING flushed the outbox: %d sent", sent)
    except Exception:  # noqa: BLE001 - a failed flush leaves the rows pending; nothing is lost
        log.exception("STOPPING could not flush the outbox; it is sent at the next start")


def _check_rules(rt: Runtime, jobs) -> None:
    """Reload changed rule files; deferred cases are re-matched whenever the rules in force change."""
    before = rt.rules.current
    problem = rt.rules.reload_if_changed()
    if problem:
        tell_admin(rt, "admin_rules_refused", problems=problem)
    if rt.rules.current is not before or not jobs.reevaluated:
        reevaluate_deferred(rt)
        jobs.reevaluated = True


def _merge(a: dict, b: dict, drop: str) -> dict:
    merged = {k: v for k, v in a.items() if k != drop}
    for k, v in b.items():
        merged[k] = merged.get(k, 0) + v
    return merged
