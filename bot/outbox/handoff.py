"""Mail the intake claimed in its own commit, passed straight to the sender threads.

In a backlog every answer would otherwise be found again by a sender's query and claimed in a
write transaction of its own, which on SQLite waits behind the intake's transaction (the busy
handler sleeps in steps of up to 100 ms). The intake knows its new rows: it writes them claimed
for this process in the commit that creates them (bot.outbox.queue.claim_on_queue) and hands them
over here.
A crash before they are sent leaves them claimed by a dead holder, which recover_stale puts back
like any other claim; rows still here when the pass ends are handed back (pending again).
"""

from __future__ import annotations

import queue
import threading

from bot.store.models import Outbox


class Handoff:
    """A queue of claimed rows in small batches (each sender takes one at a time). Closed when a
    sender meets a temporary failure: the rows then wait in the table with their back-off, and
    the intake stops claiming until the next pass."""

    def __init__(self, batch: int):
        self._batch = max(1, batch)
        self._queue: queue.Queue[list[Outbox] | None] = queue.Queue()
        self._open = threading.Event()
        self._open.set()

    def is_open(self) -> bool:
        return self._open.is_set()

    def close(self) -> None:
        self._open.clear()

    def put(self, rows: list[Outbox]) -> None:
        for start in range(0, len(rows), self._batch):
            self._queue.put(rows[start:start + self._batch])

    def take(self, timeout: float) -> list[Outbox] | None:
        """The next batch; [] when none came within `timeout`; None when woken by wake()."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return []

    def wake(self, threads: int) -> None:
        for _ in range(threads):
            self._queue.put(None)

    def empty(self) -> bool:
        return self._queue.empty()

    def leftovers(self) -> list[Outbox]:
        """Every row still queued (wake-ups dropped), taking them out."""
        rows: list[Outbox] = []
        while True:
            try:
                batch = self._queue.get_nowait()
            except queue.Empty:
                return rows
            rows += batch or []
