"""Fair turns at SQLite's one write lock, between the threads of this process.

SQLite lets one connection write at a time. A connection that finds the lock taken sleeps in its
busy handler, in steps of up to 100 ms, and tries again. During a backlog the intake holds the lock
for a chunk's whole handling and takes it again within a millisecond of each commit, so the sender
threads, which need one short write before each final dot, slept through every gap: the replies
left only after the backlog was done (measured: 169 of 640 mails sent during a 12 s intake, then
90 a second). Writers that take a turn here are served in the order they asked, and the intake
ends its transaction early when a sender waits (`wanted`). PostgreSQL locks rows, not the
database, and needs none of this (NO_TURNS).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager, nullcontext


class WriteTurns:
    """A ticket lock: first come, first served; the thread holding a turn may take it again."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next = 0  # the ticket the next thread to ask gets
        self._serving = 0  # the ticket whose turn it is
        self._owner: int | None = None
        self._depth = 0

    @contextmanager
    def turn(self):
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
            else:
                ticket, self._next = self._next, self._next + 1
                while self._serving != ticket:
                    self._cond.wait()
                self._owner, self._depth = me, 1
        try:
            yield
        finally:
            with self._cond:
                self._depth -= 1
                if self._depth == 0:
                    self._owner, self._serving = None, self._serving + 1
                    self._cond.notify_all()

    def wanted(self) -> bool:
        """Whether another thread waits for a turn (asked by the one holding it)."""
        with self._cond:
            return self._next - self._serving > 1

    def taken(self) -> bool:
        """Whether a thread holds a turn or waits for one (asked by one that could write later)."""
        with self._cond:
            return self._next != self._serving


class NoTurns:
    """For a database that needs no turns: every turn is free, and nobody ever waits."""

    def turn(self):
        return nullcontext()

    def wanted(self) -> bool:
        return False

    def taken(self) -> bool:
        return False


NO_TURNS = NoTurns()


def turns_for(dialect: str) -> WriteTurns | NoTurns:
    return WriteTurns() if dialect == "sqlite" else NO_TURNS
