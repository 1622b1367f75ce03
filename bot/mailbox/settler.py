"""Moving done mail out of the inbox on a connection of its own, while the next batch is read.

After a batch's commits the intake moves its mails out of the inbox (to the processed folder, our
own sent copies to the sent folder). An IMAP server takes a while to MOVE a hundred mails (10-50 ms
here), and the main thread used to wait for it before it asked for the next batch. During a backlog
those moves now go to a thread with a second connection to the same inbox (the source's twin), and
the main thread fetches on; its next fetch leaves out the mails still being moved (`pending`).
A round's moves are handed to the thread only once that next fetch has read the headers (`hold`,
`release`): a move running on the other connection makes the server hold back the main
connection's view of the inbox until it is done.

What a crash leaves is unchanged: a mail is moved only after its commit, and a mail not moved yet
is recognised by the ledger the next time it is fetched (DUPLICATE) and moved then.

The second connection is a convenience, never a condition. A server may allow an account one
IMAP connection only, or drop the second one: the twin tries once (no back-off of its own), and a
move it could not make goes back to the main thread, which makes it on its own connection (with
its retries, failing as a move always could) at its next move or at the end of the pass; the rest
of the pass then moves there too. The mails stay `pending` until then, so none is fetched twice.

The last round of a pass (nothing more waiting) moves on the main connection, as before: a daemon
that wakes for one mail opens no second connection.
"""

from __future__ import annotations

import logging
import queue
import threading

from bot.mailbox.base import Fetched, Source

log = logging.getLogger(__name__)

_Move = tuple[list[Fetched], str | None]


class Settler:
    """The moves of one fetch pass; see the module docstring."""

    def __init__(self, source: Source):
        self.source = source
        self._twin: Source | None = None
        self._moves: queue.SimpleQueue[_Move | None] = queue.SimpleQueue()
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._returned: list[_Move] = []  # moves the twin could not make, for the main thread
        self._failed = False  # the twin failed: the rest of the pass moves on the main connection
        self._thread: threading.Thread | None = None
        self._held: list[_Move] = []  # see hold()

    def pending(self) -> frozenset[str]:
        """The keys of the mails handed to the thread and not moved yet."""
        with self._lock:
            return frozenset(self._pending)

    def move(self, items: list[Fetched], folder: str | None = None, *, background: bool = False) -> None:
        """Move `items` (Source.mark_done_many): in the thread when `background` and the source has
        a twin that has not failed in this pass, else now. Moves the twin gave back go first."""
        self._move_returned()
        if not items:
            return
        if not (background and self._start()):
            self.source.mark_done_many(items, folder)
            return
        with self._lock:
            self._pending.update(item.key for item in items)
        self._moves.put((items, folder))

    def hold(self, items: list[Fetched], folder: str | None = None) -> None:
        """A move for the thread, handed to it at the next release(); until then the mails count
        as pending. Made now when there is no thread to take it (a Maildir, a twin that failed).

        The intake holds a round's moves until it has read the next batch's headers. Handed over
        at once, a MOVE of a hundred mails on the twin's connection locked the inbox while the
        main connection's NOOP waited to sync its view: the main thread spent ~0.28 s of a
        500-mail backlog waiting there, ~0.05-0.1 s with the moves held (bench/README.md)."""
        if not items:
            return
        if not self._start():
            self.move(items, folder)
            return
        with self._lock:
            self._pending.update(item.key for item in items)
        self._held.append((items, folder))

    def release(self) -> None:
        """The held moves to the thread (or made now, if it cannot take them)."""
        held, self._held = self._held, []
        for items, folder in held:
            with self._lock:
                self._pending.difference_update(item.key for item in items)
            self.move(items, folder, background=True)

    def finish(self) -> None:
        """Wait for the moves handed over and make those the twin gave back; close the twin."""
        self.release()
        self._stop()
        self._move_returned()

    def close(self) -> None:
        """Wait for the moves handed over and close the twin (on the way out of a failed pass too:
        what could not be moved, or was still held, stays in the inbox for the ledger to recognise)."""
        self._held = []
        self._stop()

    def _start(self) -> bool:
        """The thread running (its twin made, not yet connected); False for a source without a
        twin, and after the twin failed (or was closed: one twin per pass)."""
        if self._thread is None and self._twin is None:
            self._twin = self.source.twin()
            if self._twin is not None:
                self._thread = threading.Thread(target=self._run, name="mailbox-settler", daemon=True)
                self._thread.start()
        with self._lock:
            return self._thread is not None and not self._failed

    def _stop(self) -> None:
        if self._thread is not None:
            self._moves.put(None)
            self._thread.join()
            self._thread = None
        if self._twin is not None:
            self._twin.close()

    def _move_returned(self) -> None:
        with self._lock:
            returned, self._returned = self._returned, []
        for items, folder in returned:
            self.source.mark_done_many(items, folder)
            with self._lock:
                self._pending.difference_update(item.key for item in items)

    def _run(self) -> None:
        while (move := self._moves.get()) is not None:
            items, folder = move
            if not self._failed:
                try:
                    self._twin.mark_done_many(items, folder)
                except Exception as exc:  # noqa: BLE001 - the main connection makes the move instead
                    log.warning("SETTLE the second connection failed (%s); %d mail(s) are moved on the "
                                "main connection", exc, len(items))
                else:
                    with self._lock:
                        self._pending.difference_update(item.key for item in items)
                    continue
            with self._lock:
                self._failed = True
                self._returned.append(move)
