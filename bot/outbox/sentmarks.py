"""The sender threads' "sent", written in the intake's own commit while it holds SQLite's write lock.

After the server's 250 a mail is sent; its row says so at the next write. Until then it is
`finalizing`, and a crash there is settled as a crash at the final dot is: by the sent copy, or,
without one, the mail counts as sent (bot.outbox.queue). So the write may wait a little, and it
need not be the sender's own. On SQLite each sender's write was a turn at the one write lock, and
each turn cut the intake's transaction short (bot.store.turns): during a backlog its chunks were
about two mails long, and every chunk paid its counts, claims and commit again (bench/README.md
measures what that costs). Now a sender leaves its rows here when somebody holds or waits for the lock;
the intake writes them before its next commit, and whatever is left is written by the next sender
that finds the lock free, by an idle sender, and when the senders stop. PostgreSQL locks rows, so
its senders find the lock free and write at once, as before.
"""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy.engine import Engine

from bot.outbox.queue import record_sent
from bot.store.models import Outbox
from bot.store.turns import NO_TURNS

Sent = tuple[Outbox, datetime]  # a row the server took, and when


class SentMarks:
    def __init__(self, engine: Engine, turns=NO_TURNS):
        self._engine, self._turns = engine, turns
        self._lock = threading.Lock()
        self._rows: list[Sent] = []

    def __len__(self) -> int:
        with self._lock:
            return len(self._rows)

    def record(self, sent: list[Sent]) -> None:
        """A sender's rows: written now when nobody holds or waits for the write lock, else left
        to the one who does (the intake writes them with its chunk)."""
        if not sent:
            return
        with self._lock:
            self._rows += sent
        self.flush_if_free()

    def flush_if_free(self) -> None:
        """flush() when rows are left and nobody holds or waits for the write lock (an idle sender
        asks: the intake is between chunks, so nobody else writes them now)."""
        if len(self) and not self._turns.taken():
            self.flush()

    def flush(self) -> None:
        """Write what is left, in a transaction and a turn of its own."""
        with self._turns.turn():
            rows = self.take()
            if not rows:
                return
            try:
                record_sent(self._engine, rows)
            except BaseException:
                self.put_back(rows)
                raise

    def take(self) -> list[Sent]:
        """Every row left, taken out: the caller writes them (write_sent) or puts them back."""
        with self._lock:
            rows, self._rows = self._rows, []
        return rows

    def put_back(self, rows: list[Sent]) -> None:
        """Rows whose write was rolled back: they wait for the next one."""
        with self._lock:
            self._rows[:0] = rows
