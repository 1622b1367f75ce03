"""How the daemon is told to stop, and tells systemd it is alive.

SIGTERM and SIGINT only ask: the loop finishes the mail in hand, flushes the outbox, releases the
lease and returns, and the process exits 0. A signal that arrives while the loop is only waiting
(IMAP IDLE, a poll, a back-off sleep) ends the wait at once; one that arrives while a mail is being
processed waits for that mail. A second signal during the stop is ignored: systemd's own timeout
(TimeoutStopSec, then SIGKILL) bounds it, and every step is crash-safe anyway.
"""

from __future__ import annotations

import logging
import signal
import threading
from contextlib import contextmanager
from typing import Iterator

from bot.service.systemd import Notifier

log = logging.getLogger(__name__)


class Interrupted(BaseException):
    """Raised out of a wait by a stop signal; a BaseException, so that the loop's handlers of
    ordinary errors do not mistake it for a failure and retry."""


class Lifecycle:
    def __init__(self, notifier: Notifier | None = None):
        self.notifier = notifier or Notifier()
        self._stop = threading.Event()
        self._waiting = False

    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def request_stop(self, reason: str = "") -> None:
        if not self._stop.is_set():
            log.info("STOPPING %s: finishing the current mail, flushing the outbox", reason)
            self.notifier.stopping()
        self._stop.set()

    def beat(self) -> None:
        """The loop made progress: ping the systemd watchdog (rate-limited there)."""
        self.notifier.ping()

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Mark a wait that a stop signal may cut short (Interrupted is raised out of it)."""
        if self._stop.is_set():
            raise Interrupted()
        self._waiting = True
        try:
            yield
        finally:
            self._waiting = False

    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT request a stop (main thread only, as Python requires)."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum, _frame) -> None:
        self.request_stop(signal.Signals(signum).name)
        if self._waiting:
            self._waiting = False
            raise Interrupted()
