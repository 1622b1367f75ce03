"""The early reader's head start: the first mails of the inbox, read while the command line imports.

`run` starts its first mail-reading worker before the command line's own imports
(bot.intake.early). The worker's imports end ~0.3 s before the command line's, and the command
line then still opens the database, logs in and fetches its first batch: one core idled for about
0.35 s of a 500-mail backlog's ~4.5 s. As soon as the command line has its config and rules, it
sends them to the waiting worker (HeadStart), which reads the first mails of the inbox on a
connection of its own, peeking only, and keeps what it made of each (ReadAhead). When the sandbox
later hands it one of these mails, the answer is already there.

What is kept is exactly what the sandbox would have got, or nothing:
- a result is found by the mail's bytes (SHA-256), and used only for a full reading under rules
  equal to those it was made with and the same own domains;
- each mail is read under the per-mail limits of the config: a mail that runs past its time ends
  the worker (SIGALRM, default action: native code cannot ignore it), one that grows past its
  memory ends it too (a thread checks the worker's memory as often as the sandbox would, and its
  peak is checked after each mail). Both happen before the worker has said it is ready, so the
  sandbox counts a failed start and reads the mail again in a new worker, where its limits charge
  that mail alone;
- the reading ahead stops as soon as the sandbox sends anything: it never delays a mail it hands
  over by more than the one mail being read at that moment.
Our own sent copies (an X-Loop header) are left alone: the intake files them unread.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import resource
import signal
import threading
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from bot.intake.prefetch import Analysis, WorkerLimits
    from bot.mailbox.imap import ImapSettings
    from bot.rules.model import Ruleset

# How far ahead: more mails than the time the command line needs allows (~0.4 s at ~2.5 ms a mail
# of the usual mix), and few enough bytes that the worker's memory hardly grows: each result is
# kept pickled, as it would be sent (about the size of the mail), and dropped once handed over.
MOST_MAILS = 300
MOST_BYTES = 8 * 2**20
_CHUNK = 10  # bodies per FETCH: a first mail is read soon, and the pipe is checked between them
_TIMEOUT = 5.0  # seconds for the IMAP server's answers: the head start never waits long
# A mail read ahead may take at most this (and at most half its limit): a slower one ends the
# worker, and is read again by a new one under the sandbox's own clock.
_MOST_SECONDS = 5.0


@dataclass(frozen=True)
class HeadStart:
    """What the command line sends its early reader: where the inbox is, and how to read it."""

    imap: ImapSettings
    rules: bytes  # the Ruleset, pickled
    own_domains: tuple[str, ...]
    limits: WorkerLimits  # the per-mail limits of the config
    most_mails: int = MOST_MAILS
    most_bytes: int = MOST_BYTES

    @property
    def budget(self) -> float:
        return min(_MOST_SECONDS, self.limits.seconds / 2)


Task = Callable[..., "Analysis"]


class ReadAhead:
    """Results of the mails read ahead, each given out once, pickled (as they are sent back)."""

    def __init__(self, rules: Ruleset | None = None, own_domains: tuple[str, ...] = ()):
        self.rules = rules
        self.own_domains = own_domains
        self._results: dict[bytes, bytes] = {}
        self._checked: tuple[object, bool] | None = None  # (rules object, equal to ours)
        self._asked = 0  # mails handed over since: what is still kept after many is never asked for

    def __len__(self) -> int:
        return len(self._results)

    def keep(self, raw: bytes, analysis: Analysis) -> None:
        analysis.read_ahead = True
        self._results[_digest(raw)] = pickle.dumps(analysis, pickle.HIGHEST_PROTOCOL)

    def take(self, raw: bytes, rules: Ruleset | None, own_domains: tuple[str, ...],
             mode: str) -> bytes | None:
        """The pickled Analysis of `raw` read ahead, if it is the one the worker would make now."""
        from bot.intake.prefetch import FULL  # cycle: prefetch runs the head start

        self._asked += 1
        if self._asked > 2 * MOST_MAILS:  # mail that was claimed elsewhere, or moved meanwhile
            self._results.clear()
        if not self._results or mode != FULL or tuple(own_domains) != self.own_domains:
            return None
        if not self._same_rules(rules):
            self._results.clear()  # the rules changed: nothing read ahead is worth keeping
            return None
        return self._results.pop(_digest(raw), None)

    def _same_rules(self, rules: Ruleset | None) -> bool:
        if self._checked is None or self._checked[0] is not rules:
            self._checked = (rules, rules is not None and rules == self.rules)
        return self._checked[1]


def read_ahead(conn: Connection, start: HeadStart, task: Task) -> ReadAhead:
    """Read the first mails of the inbox with `task` until `conn` has a message, or the limits of
    `start` are reached. Any trouble with the mailbox ends the head start, never the worker."""
    from bot.intake.prefetch import limit_address_space  # cycle: prefetch runs the head start
    from bot.mailbox.imap import ImapSource  # start-up: only a worker given a head start connects

    rules = pickle.loads(start.rules)
    ahead = ReadAhead(rules, start.own_domains)
    limit_address_space(start.limits.address_space)
    done = threading.Event()
    threading.Thread(target=_watch_memory, args=(start.limits.memory_mb, done), name="ahead-memory",
                     daemon=True).start()
    source = ImapSource(replace(start.imap, retries=0, timeout=_TIMEOUT))
    try:
        waiting = source.peek_new(limit=start.most_mails, max_bytes=start.most_bytes)
        waiting = [item for item in waiting if b"x-loop" not in item.raw.lower()]
        for at in range(0, len(waiting), _CHUNK):
            if conn.poll(0):
                return ahead
            for item in source.fetch_whole(waiting[at:at + _CHUNK]):
                if conn.poll(0) or len(item.raw) > start.most_bytes:
                    return ahead  # the sandbox has work; or one mail over the whole budget
                _read_one(ahead, item.raw, rules, start, task)
    except Exception:  # noqa: BLE001 - the intake meets the same trouble and reports it
        pass
    finally:
        source.close()
        done.set()
    return ahead


def _read_one(ahead: ReadAhead, raw: bytes, rules: Ruleset, start: HeadStart, task: Task) -> None:
    from bot.intake.prefetch import FULL, sendable  # cycle: prefetch runs the head start

    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.setitimer(signal.ITIMER_REAL, start.budget)
    try:
        analysis = task(raw, rules, start.own_domains, FULL)
    except BaseException:  # noqa: BLE001 - not kept: the sandbox reads it again and records why
        return
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    if _peak_mb() > start.limits.memory_mb:
        # Over the limit the sandbox polls: it would have stopped this mail, and a worker this
        # large would be stopped under the next one. The mail is read again in a new worker.
        raise SystemExit(0)
    ahead.keep(raw, sendable(analysis, raw))


def _watch_memory(memory_mb: int, done: threading.Event) -> None:
    """End the worker when it (with the readers it runs) grows past `memory_mb` during the head
    start: the sandbox would stop a mail there, and no mail is charged yet."""
    from bot.intake.prefetch import POLL, rss_tree  # cycle: prefetch runs the head start

    while not done.wait(POLL):
        if rss_tree(os.getpid()) > memory_mb * 2**20:
            os._exit(0)


def _peak_mb() -> float:
    """The highest resident memory of the worker and of the readers it ran (KB on Linux)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def _digest(raw: bytes) -> bytes:
    return hashlib.sha256(raw).digest()
