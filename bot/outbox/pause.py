"""The sending pace after a server said "later", shared by every thread that sends for one loop.

A temporary failure (a 4xx such as "451 rate limited", a refused or dropped connection, an outage)
pauses all sending: 2 s, then 4, 8 … up to 60 s while the failures go on; a mail that goes through
ends it. Without it each sender thread tried the next mail 0.2 s after the last had failed, every
pass began by trying again at once, and each try charged a mail a try and a back-off of its own.
The mail itself waits in the outbox as before: nothing is dropped, only not offered yet.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

log = logging.getLogger(__name__)

FIRST, LONGEST = 2.0, 60.0  # seconds


class SendPause:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._pause = 0.0  # the length of the pause in force or last ended
        self._until = 0.0  # clock() before which nothing is sent

    def note(self, retried: bool, sent: bool) -> None:
        """What a round of sending came to: a temporary failure starts the pause or doubles it
        (once per round: the other threads' failures of the same round do not double it again);
        a mail sent ends the run of failures."""
        with self._lock:
            now = self._clock()
            if retried:
                if now < self._until:
                    return
                self._pause = min(LONGEST, self._pause * 2 or FIRST)
                self._until = now + self._pause
                log.info("SMTP-PAUSE %.0f s: the server asked to try later", self._pause)
            elif sent:
                self._pause = 0.0

    def left(self) -> float:
        """Seconds until sending may go on (0 when it may now)."""
        with self._lock:
            return max(0.0, self._until - self._clock())

    def wait(self, stop: threading.Event) -> None:
        """Until the pause is over, or `stop` is set."""
        while not stop.is_set() and (left := self.left()) > 0:
            stop.wait(min(left, 0.5))
