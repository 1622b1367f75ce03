"""Parsing a mail and reading its form, ahead of time, in worker processes.

These two steps are pure (bytes and rules in, the parsed message and the intake out) and take
most of a mail's CPU time. In a batch, workers do them for the next mails while the main thread
archives, records and answers the current one. The archive, the database, the decision and the
reply stay in the main process, in mailbox order, so every outcome is what it would be without
workers; any worker trouble (a crash, a rules change meanwhile) means the step is done again
inline. `parse_workers = 0` in the config turns the workers off.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import pickle
import threading
import time
import traceback
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

from bot.intake.read import read_intake
from bot.message.model import InboundMessage
from bot.message.parse import parse_message
from bot.rules.model import Ruleset

log = logging.getLogger(__name__)

MIN_BATCH = 4  # fewer mails than this are read inline: a worker round trip would only add latency


@dataclass
class Analysis:
    """What the pure steps made of one raw mail."""

    msg: InboundMessage | None
    parse_error: str = ""  # the traceback when parse_message failed
    intake: tuple | None = None  # read_intake's (Intake, form attachment); None: not read yet
    intake_error: BaseException | None = None  # raised again where the intake is needed


def analyse(raw: bytes, rules: Ruleset, own_domains: tuple[str, ...],
            read_form: bool = True) -> Analysis:
    """Parse `raw` and, with `read_form`, read its intake. Inline, the form is read later, after the
    ledger has counted the attempt, so that a mail that kills the process is quarantined in time."""
    if not raw:
        return Analysis(None)
    try:
        msg = parse_message(raw)
    except Exception:  # noqa: BLE001 - the pipeline records and quarantines it
        return Analysis(None, parse_error=traceback.format_exc())
    if not read_form:
        return Analysis(msg)
    try:
        return Analysis(msg, intake=read_intake(msg, rules, own_domains))
    except Exception as exc:  # noqa: BLE001 - raised only if the mail turns out to need an intake
        return Analysis(msg, intake_error=exc)


class Pending:
    """One mail's analysis: a worker's future, or nothing yet (then it is done inline)."""

    def __init__(self, raw: bytes, rules: Ruleset, future: Future | None = None):
        self.raw, self.rules, self.future = raw, rules, future
        self._result: Analysis | None = None

    def result(self, rules: Ruleset, own_domains: tuple[str, ...]) -> Analysis:
        if self._result is None or rules is not self.rules:
            self._result = (self._from_worker(rules)
                            or analyse(self.raw, rules, own_domains, read_form=False))
            self.rules = rules
        return self._result

    def _from_worker(self, rules: Ruleset) -> Analysis | None:
        future, self.future = self.future, None
        if future is None or rules is not self.rules:
            return None  # no worker, or the rules changed since: read it again with the new ones
        try:
            return future.result()
        except Exception as exc:  # noqa: BLE001 - a broken pool or an unpicklable result
            log.warning("ANALYSIS worker failed (%s: %s); reading the mail inline",
                        type(exc).__name__, exc)
            return None


class Analyser:
    """A pool of worker processes, started on the first batch big enough to need it."""

    def __init__(self, workers: int):
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._rules: tuple[Ruleset, str, bytes] | None = None  # the rules, their digest, pickled

    def submit_all(self, raws: list[bytes], rules: Ruleset,
                   own_domains: tuple[str, ...]) -> list[Pending]:
        pool = self._pool_for(len(raws))
        if pool is None:
            return [Pending(raw, rules) for raw in raws]
        key, blob = self._packed(rules)
        try:
            return [Pending(raw, rules, pool.submit(_work, raw, key, blob, own_domains))
                    for raw in raws]
        except Exception as exc:  # noqa: BLE001 - a broken pool: inline now, a new pool next time
            log.warning("ANALYSIS pool unusable (%s); reading this batch inline", exc)
            self.close()
            return [Pending(raw, rules) for raw in raws]

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _pool_for(self, size: int) -> ProcessPoolExecutor | None:
        if self.workers <= 0 or size < MIN_BATCH:
            return None
        if self._pool is not None and getattr(self._pool, "_broken", False):
            self.close()
        if self._pool is None:
            # spawn, not fork: the parent has threads (the outbox sender) and open connections.
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_watch_parent, initargs=(os.getpid(),))
            log.info("ANALYSIS started %d worker process(es)", self.workers)
        return self._pool

    def _packed(self, rules: Ruleset) -> tuple[str, bytes]:
        if self._rules is None or self._rules[0] is not rules:
            blob = pickle.dumps(rules)
            self._rules = (rules, hashlib.sha256(blob).hexdigest(), blob)
        return self._rules[1], self._rules[2]


# -- in the worker process ----------------------------------------------------------------------

_cached: tuple[str, Ruleset] | None = None


def _work(raw: bytes, key: str, blob: bytes, own_domains: tuple[str, ...]) -> Analysis:
    global _cached  # one ruleset per worker process, replaced when the main process's changes
    if _cached is None or _cached[0] != key:
        _cached = (key, pickle.loads(blob))
    result = analyse(raw, _cached[1], own_domains)
    if result.intake_error is not None:
        try:
            pickle.dumps(result.intake_error)
        except Exception:  # noqa: BLE001 - keep the text when the exception cannot travel
            result.intake_error = RuntimeError(f"{type(result.intake_error).__name__}: {result.intake_error}")
    return result


def _watch_parent(parent: int) -> None:
    """A worker whose parent died (kill -9) exits instead of waiting forever for work."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
