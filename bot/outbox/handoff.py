"""Mail the intake claimed in its own commit, passed straight to the sender threads.

In a backlog every answer would otherwise be found again by a sender's query and claimed in a
write transaction of its own, which on SQLite waits behind the intake's transaction (the busy
handler sleeps in steps of up to 100 ms). The intake knows its new rows: it writes them claimed
for this process in the commit that creates them (bot.outbox.queue.claim_on_queue) and hands them
over here.
A crash before they are sent leaves them claimed by a dead holder, which recover_stale (or, when
a sent copy proves delivery, bot.outbox.confirm) puts back; rows still here when the pass ends are
handed back (pending again). What the senders sent comes back the other way (`sent`): the intake
writes it in its own commit (bot.outbox.sentmarks).
"""

from __future__ import annotations

import threading
from collections import deque

from bot.outbox.sentmarks import SentMarks
from bot.store.models import Outbox


# Rows a sender takes at once. The first final dot of a batch marks the whole batch (bot.outbox.queue,
# BATCH_MARK): on SQLite each mark is a turn at the write lock that ends the intake's transaction,
# so fewer, larger batches leave the intake longer chunks. Measured on the benchmark's backlog
# (bench/README.md): 16 against 8 and 4, the senders still keep up. The intake hands over what
# one transaction answered, often a few rows; a sender takes the hand-overs queued behind its
# first one with it while they fit in one batch (106 batches of 6 rows became 65 of 10).
HANDOFF_BATCH = 16


class Handoff:
    """A queue of claimed rows in batches (each sender takes one at a time), holding at most
    about `room` rows (wait_for_room). Closed when a sender meets a temporary failure: the rows
    then wait in the table with their back-off, and the intake stops claiming until the next pass."""

    def __init__(self, batch: int, room: int = 64, sent: SentMarks | None = None):
        self.sent = sent  # the senders' "sent", for the intake's commit
        self._batch = max(1, batch)
        self._room = max(1, room)  # rows queued at most before the intake waits (their mail is in memory)
        self._batches: deque[list[Outbox] | None] = deque()  # None: a wake-up (wake)
        self._open = threading.Event()
        self._open.set()
        self._rows = 0  # rows queued and not yet taken
        self._taken = threading.Condition()
        self._stalled = False  # a wait ran out with the queue full: no more waits until it has room

    def is_open(self) -> bool:
        return self._open.is_set()

    def close(self) -> None:
        self._open.clear()
        with self._taken:
            self._taken.notify_all()

    def wait_for_room(self, timeout: float) -> bool:
        """Wait until the senders have taken enough for another chunk's answers (at most `timeout`
        seconds). The intake outruns the senders in a backlog; without this the rows, each with
        its whole mail, would pile up here (~2 MB per 1,000 mails). False: no room in time, or
        closed; the intake then leaves its answers in the table, pending, for drain. After one
        wait in vain (a slow server) the next calls do not wait until the senders have made
        room: the intake goes on at its own pace meanwhile."""
        with self._taken:
            if not self._stalled:
                self._taken.wait_for(lambda: self._rows < self._room or not self.is_open(), timeout)
            room = self._rows < self._room
            self._stalled = not room
            return room and self.is_open()

    def put(self, rows: list[Outbox]) -> None:
        with self._taken:
            self._rows += len(rows)
            self._batches.extend(rows[start:start + self._batch] for start in range(0, len(rows), self._batch))
            self._taken.notify_all()

    def take(self, timeout: float) -> list[Outbox] | None:
        """The next batch, with the batches queued right behind it while they fit in one; [] when
        none came within `timeout`; None when woken by wake()."""
        with self._taken:
            if not self._taken.wait_for(lambda: self._batches, timeout):
                return []
            batch = self._batches.popleft()
            if batch is None:
                return None
            while self._batches and self._batches[0] and len(batch) + len(self._batches[0]) <= self._batch:
                batch = batch + self._batches.popleft()
            self._rows -= len(batch)
            self._taken.notify_all()
            return batch

    def wake(self, threads: int) -> None:
        with self._taken:
            self._batches.extend([None] * threads)
            self._taken.notify_all()

    def empty(self) -> bool:
        """No rows wait to be taken (the wake-ups of other threads do not count: a thread that
        took them would leave the others asleep until their wait ran out)."""
        with self._taken:
            return self._rows == 0

    def leftovers(self) -> list[Outbox]:
        """Every row still queued (wake-ups dropped), taking them out."""
        with self._taken:
            rows = [row for batch in self._batches if batch for row in batch]
            self._batches.clear()
            self._rows = 0
            self._taken.notify_all()
            return rows
