"""Parsing a mail and reading its form, in worker processes that are killed when a mail overruns.

These two steps are pure (bytes and rules in, the parsed message and the intake out), take most of
a mail's CPU time, and are where hostile input does its damage (a regex on a megabyte of spaces, a
sheet of a million cells). So they never run in the main process: each mail is read by a worker
under a wall-time and memory limit per mail. A worker that overruns is killed and replaced, and the
mail is read again in the cheapest way (its headers only), so that it still gets its answer
(FORM-UNREADABLE) and the loop goes on. During a backlog the workers read the next mails while the
main thread records the current one; results are used in mailbox order, so outcomes do not depend
on the number of workers. Each worker holds a few mails at a time (_AHEAD): the main thread gives
work only when it polls, once per mail it records, and a worker with one mail would sit idle
between two polls; with a few it reads on, and the next chunk finds more mails ready.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import pickle
import queue
import resource
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Callable

from bot.errors import WorkerStartError
from bot.intake.ahead import HeadStart, ReadAhead, read_ahead
from bot.intake.early import EarlyReader, serve_reader
from bot.message.model import InboundMessage
from bot.rules.decide import Intake
from bot.rules.model import Ruleset
from bot.startup import uncollected

if TYPE_CHECKING:
    from bot.config import Config

log = logging.getLogger(__name__)

FULL, HEADERS = "full", "headers"  # how much of a mail a job reads
_PAGE = os.sysconf("SC_PAGE_SIZE")
POLL = 0.05  # seconds between checks of a busy worker's clock and memory
# The main thread polls the workers for every mail it records; reading /proc for each poll cost
# ~0.4 ms a mail. Under POLL, so that a worker being waited for (finish) is still read at every
# check, and a greedy mail is stopped as soon as before.
_RSS_EVERY = POLL * 0.8
_START_SECONDS = 120.0  # a worker not ready by then is taken as failed to start
_START_FAILURES = 3  # workers in a row that fail to start before intake gives up
_READY = "ready"  # a worker's first message, once its imports are done
_READ_AHEAD = "read ahead"  # before it, from a reader given a head start: how many mails it read ahead
# Mails a worker holds at once: it reads them one after the other, and each mail's clock starts
# when the one before it is done (the worker says when). Four keep a worker busy between the main
# thread's polls; more would only hold more raw mail in the worker.
_AHEAD = 4


@dataclass(frozen=True)
class WorkerLimits:
    """Per mail: wall time and resident memory of the worker (its children included)."""

    seconds: float = 60.0
    memory_mb: int = 1024

    @classmethod
    def of(cls, cfg: Config) -> WorkerLimits:
        return cls(cfg.mail_seconds, cfg.mail_memory_mb)

    @property
    def address_space(self) -> int:
        """A hard backstop in the worker itself, well above the resident limit polled from outside
        (native libraries reserve address space they never touch)."""
        return max(4 * self.memory_mb, 2048) * 2**20


@dataclass
class Analysis:
    """What the pure steps made of one raw mail."""

    msg: InboundMessage | None
    parse_error: str = ""  # the traceback when parse_message failed
    intake: tuple[Intake, object] | None = None  # read_intake's (Intake, form attachment)
    intake_error: BaseException | None = None  # raised again where the intake is needed
    fresh_form: bool = False  # a reply that carries a form of its own (see read.fresh_form)
    ledger: bool = False  # an admin's mail with the filled ledger attached
    overrun: str = ""  # why the full reading was stopped ("" when it was not)
    seconds: float = 0.0  # wall time of the job that gave this result
    peak_rss: int = 0  # bytes, the worker's highest resident memory seen during that job
    read_ahead: bool = False  # read before it was handed over (bot.intake.ahead)


Task = Callable[[bytes, Ruleset, tuple[str, ...], str], Analysis]


@dataclass(eq=False)
class Job:
    """One mail on its way through a worker; `result()` waits for it under the limits."""

    sandbox: "Sandbox"
    raw: bytes
    rules: Ruleset
    own_domains: tuple[str, ...]
    mode: str = FULL
    analysis: Analysis | None = None
    deaths: int = 0  # workers that died under this job (not killed by us)

    def ready(self, rules: Ruleset) -> bool:
        """Whether result(rules) would return at once (the worker has answered under these rules)."""
        if self.analysis is None:
            self.sandbox.poll()
        return rules is self.rules and self.analysis is not None and not (
            self.analysis.overrun and self.mode == FULL)

    def result(self, rules: Ruleset | None = None) -> Analysis:
        """The analysis; read again when the rules in force changed since the job was queued,
        and again headers-only when the full reading overran its limits."""
        if rules is not None and rules is not self.rules:
            self.rules, self.analysis = rules, None
            self.sandbox.enqueue(self)
        self.sandbox.finish(self)
        if self.analysis.overrun and self.mode == FULL:
            overrun = self.analysis.overrun
            self.mode, self.analysis = HEADERS, None
            self.sandbox.enqueue(self)
            self.sandbox.finish(self)
            self.analysis.overrun = overrun
        return self.analysis


@dataclass(frozen=True)
class _Sent:
    """A mail handed to a worker: when, and under which rules and mode (an answer to an older
    request of the same job, made before its rules changed, is not its answer)."""

    job: Job
    at: float
    rules: Ruleset
    mode: str

    def current(self) -> bool:
        return self.job.rules is self.rules and self.job.mode == self.mode


@dataclass(eq=False)
class _Worker:
    process: multiprocessing.Process
    conn: Connection
    rules_key: str = ""
    jobs: deque[_Sent] = field(default_factory=deque)  # handed over and not answered yet
    started: float = 0.0  # when the worker began the first of `jobs` (the one it is reading)
    peak: int = 0  # the highest memory seen since then
    rss: int = 0  # its memory when last read, at `sampled` (_RSS_EVERY)
    sampled: float = 0.0
    ready: bool = False  # its imports done: a mail's clock starts only on a ready worker
    limited: bool = False  # its address-space limit sent (Sandbox._limit)
    born: float = field(default_factory=time.monotonic)


@dataclass
class Sandbox:
    """A few worker processes, started when the first mail arrives and replaced when killed."""

    workers: int = 1
    limits: WorkerLimits = field(default_factory=WorkerLimits)
    # None: the intake's reading (bot.intake.reading.analyse, imported by the workers only); else a
    # top-level function, so that spawned workers can import it (a test's reader of its own).
    task: Task | None = None
    early: EarlyReader | None = None  # a worker started before the command line's imports

    def __post_init__(self) -> None:
        self.workers = max(1, self.workers)
        self._pool: list[_Worker] = []
        self._queue: deque[Job] = deque()
        self._rules: tuple[Ruleset, str, bytes] | None = None  # the rules, their digest, pickled
        self._start_failures = 0

    def warm(self) -> None:
        """Start the workers now: their start-up (imports, ~0.2-0.4 s here) then runs beside the rest
        of the service's own start (the mailbox, the first fetch) instead of after it."""
        while len(self._pool) < self.workers:
            self._start()

    def submit(self, raw: bytes, rules: Ruleset, own_domains: tuple[str, ...]) -> Job:
        job = Job(self, raw, rules, own_domains)
        self.enqueue(job)
        return job

    def submit_all(self, raws: list[bytes], rules: Ruleset, own_domains: tuple[str, ...]) -> list[Job]:
        return [self.submit(raw, rules, own_domains) for raw in raws]

    def enqueue(self, job: Job) -> None:
        if job not in self._queue:  # queued again before its turn (its rules changed meanwhile)
            self._queue.append(job)
        self._dispatch()

    def finish(self, job: Job) -> None:
        """Run the pool until `job` has its analysis (other workers keep reading ahead meanwhile)."""
        while job.analysis is None:
            if job in self._queue:
                self._queue.remove(job)  # waited for before its turn: it goes first
                self._queue.appendleft(job)
            self._dispatch()
            self._collect(POLL)
            self._enforce()

    def poll(self) -> None:
        """Hand finished results over and give idle workers their next mail, without waiting: the
        main thread calls this between mails, so that the workers keep reading ahead while it
        records (they get work only when it is here to give it)."""
        self._collect(0)
        self._dispatch()
        self._enforce()

    def close(self) -> None:
        for worker in self._pool:
            _stop(worker)
        self._pool.clear()
        if self.early is not None:  # started for a `run` that never read a mail
            self.early.stop()
            self.early = None

    # -- scheduling ------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        while self._queue:
            worker = self._idle_worker()
            if worker is None:
                return
            job = self._queue.popleft()
            key, blob = self._packed(job.rules)
            try:
                if worker.rules_key != key:
                    worker.conn.send(("rules", key, blob))
                    worker.rules_key = key
                # Read before the mail goes: a worker may have read a small one and answered before
                # this thread runs again (on a busy machine), and its time would come out negative.
                now = time.monotonic()
                worker.conn.send(("job", job.raw, job.own_domains, job.mode))
            except (OSError, ValueError):  # the worker died: replace it, its mails go again
                self._queue.appendleft(job)
                self._requeue(worker.jobs)
                self._replace(worker)
                continue
            worker.jobs.append(_Sent(job, now, job.rules, job.mode))
            if len(worker.jobs) == 1:  # it starts on this one now
                worker.started = now
                worker.peak = _sample(worker, now)  # at least what it holds when it starts

    def _idle_worker(self) -> _Worker | None:
        """A ready worker with room for another mail, the least busy. Workers are started here as
        needed, but a new one gets its first mail only once it is ready: its start-up (a second or
        more on a loaded machine) must not count against the mail's time limit."""
        if len(self._pool) < self.workers:
            self._start()
        for worker in self._pool:
            if not worker.limited:
                self._limit(worker)
        room = [w for w in self._pool if w.ready and len(w.jobs) < _AHEAD]
        return min(room, key=lambda w: len(w.jobs), default=None)

    def _collect(self, timeout: float) -> None:
        busy = {w.conn: w for w in self._pool if w.jobs or not w.ready}
        if not busy:
            return
        for conn in wait(list(busy), timeout):
            worker = busy[conn]
            if not worker.ready:
                self._started(worker)
                continue
            while worker.jobs and self._receive(worker) and conn.poll(0):
                pass  # every answer already in the pipe: the clock of the mail it reads now is right

    def _receive(self, worker: _Worker) -> bool:
        """One answer of `worker`, for the first of its mails; False when the worker died."""
        try:
            done_at, analysis = worker.conn.recv()
            if isinstance(analysis, bytes):  # read ahead, and kept pickled (bot.intake.ahead)
                analysis = pickle.loads(analysis)
        except (EOFError, OSError):  # died mid-job: a segfault, the OOM killer, RLIMIT_AS
            self._died(worker)
            return False
        except Exception as exc:  # noqa: BLE001 - a result that cannot be unpickled here
            done_at, analysis = time.monotonic(), Analysis(None, parse_error=f"{type(exc).__name__}: {exc}")
        sent = worker.jobs.popleft()
        if analysis.msg is not None and not analysis.msg.raw:
            analysis.msg.raw = sent.job.raw  # left out by the worker (_sendable)
        analysis.seconds = done_at - worker.started
        analysis.peak_rss = worker.peak
        if sent.current():
            sent.job.analysis = analysis
        if worker.jobs:  # it went on with the next at once, or when that arrived
            worker.started = max(done_at, worker.jobs[0].at)
            worker.peak = worker.rss
        return True

    def _started(self, worker: _Worker) -> None:
        """A new worker's first message: ready, or its end (it died while starting)."""
        try:
            message = worker.conn.recv()
        except (EOFError, OSError):
            message = None
        if isinstance(message, tuple) and message[0] == _READ_AHEAD:
            log.info("SANDBOX worker %s read %d mails ahead while the command started",
                     worker.process.pid, message[1])
            return  # its READY follows
        worker.ready = message == _READY
        if worker.ready:
            self._start_failures = 0
            return
        worker.process.join(timeout=1.0)  # its pipe closes a moment before it can be reaped
        self._failed_start(worker, f"exit code {worker.process.exitcode}")

    def _failed_start(self, worker: _Worker, why: str) -> None:
        log.warning("SANDBOX worker %s failed to start: %s", worker.process.pid, why)
        self._replace(worker)
        self._start_failures += 1
        if self._start_failures >= _START_FAILURES:
            raise WorkerStartError(f"{self._start_failures} mail-reading workers in a row failed "
                                   f"to start (last: {why})")

    def _enforce(self) -> None:
        """Kill a worker whose current mail has overrun its time or memory, or that does not
        get ready."""
        for worker in [w for w in self._pool if w.limited and not w.ready]:
            if time.monotonic() - worker.born > _START_SECONDS:
                self._failed_start(worker, f"not ready after {_START_SECONDS:g} s")
        now = time.monotonic()
        for worker in [w for w in self._pool if w.jobs]:
            worker.peak = max(worker.peak, _sample(worker, now))
            elapsed = now - worker.started
            if elapsed > self.limits.seconds:
                self._overrun(worker, f"over the time limit of {self.limits.seconds:g} s")
            elif worker.peak > self.limits.memory_mb * 2**20:
                self._overrun(worker, f"over the memory limit of {self.limits.memory_mb} MB")

    def _died(self, worker: _Worker) -> None:
        """A worker that dies may have been hit by something else (the OOM killer chose it while
        another process grew): the mail is read once more before its death counts against it.
        Only the mail it was reading is charged; the ones it held after it go to another worker."""
        job = worker.jobs[0].job
        job.deaths += 1
        if job.deaths > 1:
            self._overrun(worker, "the worker process died while reading the mail")
            return
        log.warning("SANDBOX worker %s died; reading its mail again", worker.process.pid)
        self._requeue(worker.jobs)
        self._replace(worker)

    def _overrun(self, worker: _Worker, why: str) -> None:
        sent = worker.jobs.popleft()
        log.warning("SANDBOX killed worker %s: %s", worker.process.pid, why)
        if sent.current():
            sent.job.analysis = Analysis(None, overrun=why, peak_rss=worker.peak,
                                         seconds=time.monotonic() - worker.started)
        self._requeue(worker.jobs)
        self._replace(worker)

    def _requeue(self, held: deque[_Sent]) -> None:
        """The mails a worker held and had not answered go first again, in their order (a mail
        queued again already, after its rules changed, keeps its place)."""
        self._queue.extendleft(reversed([s.job for s in held
                                         if s.current() and s.job not in self._queue]))
        held.clear()

    # -- processes -------------------------------------------------------------------------------

    def _start(self) -> _Worker:
        adopted = self._adopted()
        process, conn = adopted or _spawn(self.task)
        worker = _Worker(process, conn)
        self._pool.append(worker)
        if not adopted:  # the early reader may be reading ahead: it is told when there is work
            self._limit(worker)
        return worker

    def _limit(self, worker: _Worker) -> None:
        """A worker's first message (see serve()): its address-space limit. It ends a head start
        (bot.intake.ahead), and the worker's start is timed from here."""
        worker.limited, worker.born = True, time.monotonic()
        try:
            worker.conn.send(self.limits.address_space)
        except OSError:  # it died while starting: _started sees its end and counts the failure
            pass

    def _adopted(self) -> tuple[multiprocessing.Process, Connection] | None:
        """The reader the command line started before its own imports, when it reads mail as
        this sandbox does (a test's task of its own gets its own workers)."""
        early, self.early = self.early, None
        if early is None:
            return None
        if self.task is not None:
            early.stop()
            return None
        early.sent()
        return early.process, early.conn

    def _replace(self, worker: _Worker) -> None:
        _stop(worker)
        self._pool.remove(worker)

    def _packed(self, rules: Ruleset) -> tuple[str, bytes]:
        if self._rules is None or self._rules[0] is not rules:
            blob = pickle.dumps(rules)
            self._rules = (rules, hashlib.sha256(blob).hexdigest(), blob)
        return self._rules[1], self._rules[2]


def _spawn(task: Task | None) -> tuple[multiprocessing.Process, Connection]:
    # spawn, not fork: the parent has threads (the outbox senders) and open connections.
    ctx = multiprocessing.get_context("spawn")
    parent_end, child_end = ctx.Pipe()
    # The target is a function of a module that imports nothing at its top, so that the reader's
    # imports are made in serve_reader, without the collector; a task of a test's own is sent.
    process = ctx.Process(target=serve_reader, args=(child_end, os.getpid(), task), name="mail-reader",
                          daemon=True)
    process.start()
    child_end.close()
    return process, parent_end


def _stop(worker: _Worker) -> None:
    process = worker.process
    if process.is_alive():
        process.kill()
    process.join(timeout=5)
    worker.conn.close()


def _sample(worker: _Worker, now: float) -> int:
    """The worker's memory, read again when the last reading is older than _RSS_EVERY."""
    if now - worker.sampled >= _RSS_EVERY:
        worker.rss, worker.sampled = rss_tree(worker.process.pid), now
    return worker.rss


def rss_tree(pid: int) -> int:
    """Resident bytes of a process and its descendants (a reader may run a converter)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/statm", "rb") as statm:
                total += int(statm.read().split()[1]) * _PAGE
            with open(f"/proc/{current}/task/{current}/children", "rb") as children:
                todo += [int(child) for child in children.read().split()]
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return total


# -- in the worker process ----------------------------------------------------------------------


def serve(conn: Connection, parent: int, task: Task) -> None:
    """The worker's loop: its address-space limit arrives first (for the early reader, after a
    head start: bot.intake.ahead), then the rules once per change, then mails, read one at a
    time. A thread takes them off the pipe as they come, so that the parent never waits to hand
    over a mail while this one reads another. The limit comes by the
    pipe, not with the start, because a reader started early (bot.intake.early) learns it only
    when the sandbox of the configuration takes it over."""
    _watch_parent(parent)
    # Before the address-space limit: a native library reserves address space as it loads (numpy,
    # which openpyxl loaded before it was imported without it, took +126 MB here for its BLAS
    # threads, one per core), and a preload must not fail under the limit on a machine with many cores.
    # openpyxl itself loads later, for the first workbook calamine leaves to it, with numpy hidden.
    with uncollected():
        from bot.forms.formats import preload_usual_readers  # start-up: the readers, in a worker only

        preload_usual_readers()
    try:
        first = conn.recv()
        ahead = ReadAhead()
        if isinstance(first, HeadStart):  # the early reader, while the command line imports
            ahead = read_ahead(conn, first, task)
            conn.send((_READ_AHEAD, len(ahead)))
            first = conn.recv()
        address_space = first
    except (EOFError, OSError):  # the parent closed it unused
        return
    limit_address_space(address_space)
    conn.send(_READY)  # the imports that spawning costs are done: mails may be timed from now
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    threading.Thread(target=_take, args=(conn, inbox), name="mail-inbox", daemon=True).start()
    rules: Ruleset | None = None
    while True:
        message = inbox.get()
        if message is None:
            return
        if message[0] == "rules":
            rules = pickle.loads(message[2])
            continue
        _kind, raw, own_domains, mode = message
        result = ahead.take(raw, rules, own_domains, mode)
        if result is not None:
            conn.send((time.monotonic(), result))
            continue
        try:
            result = task(raw, rules, own_domains, mode)
        except MemoryError:
            result = Analysis(None, overrun="out of memory while reading the mail")
        except Exception:  # noqa: BLE001 - a bug in a reader is this mail's error, not the worker's
            result = Analysis(None, parse_error=traceback.format_exc())
        conn.send((time.monotonic(), sendable(result, raw)))  # when it was done: the next mail's clock


def limit_address_space(limit: int) -> None:
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):  # a lower hard limit already: keep it
        pass


def _take(conn: Connection, inbox: queue.SimpleQueue) -> None:
    """Messages from the parent into `inbox`; None when the pipe ends or a message cannot be
    taken (out of memory while unpickling a mail): the worker then exits, and the parent sees it
    die under the mail it was reading."""
    try:
        while True:
            inbox.put(conn.recv())
    except BaseException:  # noqa: BLE001 - any end of the pipe ends the worker
        inbox.put(None)


def sendable(result: Analysis, raw: bytes) -> Analysis:
    """An exception that cannot travel back is replaced by its text, and the mail's own bytes do
    not travel back at all: the parent has them (Sandbox._receive puts them back). They were more
    than half of what a worker sent (52 of 93 KB for a mail of the usual mix)."""
    if result.msg is not None and result.msg.raw == raw:
        result.msg.raw = b""
    if result.intake_error is not None:
        try:
            pickle.dumps(result.intake_error)
        except Exception:  # noqa: BLE001
            result.intake_error = RuntimeError(
                f"{type(result.intake_error).__name__}: {result.intake_error}")
    return result


def _watch_parent(parent: int) -> None:
    """A worker whose parent died (kill -9) exits instead of waiting forever for work."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
