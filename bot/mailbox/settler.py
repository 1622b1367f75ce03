"""Moving done mail out of the inbox on a connection of its own, while the next batch is read.

After a batch's commits the intake moves its mails out of the inbox (to the processed folder, our
own sent copies to the sent folder). An IMAP server takes a while to MOVE a hundred mails (about
0.6 s of a 500-mail backlog's 5 s here), and the main thread used to wait for it before it asked
for the next batch. During a backlog those moves now go to a thread with a second connection to
the same inbox (the source's twin), and the main thread fetches on; its next fetch leaves out the
mails still being moved (`pending`).

What a crash leaves is unchanged: a mail is moved only after its commit, and a mail not moved yet
is recognised by the ledger the next time it is fetched (DUPLICATE) and moved then. A move that
fails in the thread (the server is down past the retries) is raised in the main thread at its
next move or at the end of the pass, as it was raised by the move itself before.

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
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def pending(self) -> frozenset[str]:
        """The keys of the mails handed to the thread and not moved yet."""
        with self._lock:
            return frozenset(self._pending)

    def move(self, items: list[Fetched], folder: str | None = None, *, background: bool = False) -> None:
        """Move `items` (Source.mark_done_many): in the thread when `background` and the source has
        a twin, else now. A background move that failed is raised here first."""
        self._raise_failure()
        if not items:
            return
        if not (background and self._start()):
            self.source.mark_done_many(items, folder)
            return
        with self._lock:
            self._pending.update(item.key for item in items)
        self._moves.put((items, folder))

    def finish(self) -> None:
        """Wait for the moves handed over, close the twin, and raise a move that failed."""
        self.close()
        self._raise_failure()

    def close(self) -> None:
        """Wait for the moves handed over and close the twin (on the way out of a failed pass too:
        what could not be moved stays in the inbox for the ledger to recognise)."""
        if self._thread is not None:
            self._moves.put(None)
            self._thread.join()
            self._thread = None
        if self._twin is not None:
            twin, self._twin = self._twin, None
            twin.close()

    def _start(self) -> bool:
        """The thread running (its twin made, not yet connected); False for a source without one."""
        if self._thread is None:
            self._twin = self.source.twin()
            if self._twin is None:
                return False
            self._thread = threading.Thread(target=self._run, name="mailbox-settler", daemon=True)
            self._thread.start()
        return True

    def _raise_failure(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error

    def _run(self) -> None:
        while (move := self._moves.get()) is not None:
            items, folder = move
            try:
                if self._error is None:  # after a failure the rest stay in the inbox too
                    self._twin.mark_done_many(items, folder)
            except BaseException as exc:  # noqa: BLE001 - raised in the main thread (_raise_failure)
                log.warning("SETTLE %d mail(s) not moved: %s; they stay in the inbox", len(items), exc)
                self._error = exc
            finally:
                with self._lock:
                    self._pending.difference_update(item.key for item in items)
