"""Which mail of a chunk is being handled right now: one small file per mailbox, rewritten in place.

Chunks of mail are claimed and recorded in a few commits (bot.intake.ledger), so the database does
not know which mail of a chunk a killed process was handling. This file does: its row id is written
before each mail is handled, with one pwrite. Written data lives in the kernel's page cache, so it
survives the death of the process (kill -9, the OOM killer, a segfault: what a poison mail does),
which is all it is for. It is not fsync'd: after a power cut it may be lost or stale, and the next
pass then counts no try for that chunk, which only gives a poison mail one more try (the rows of the
chunk are still taken one at a time, each try counted in the database). One file per mailbox: only
the holder of the mailbox lease handles its mail.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

_WIDTH = 24  # bytes: a row id in decimal, space-padded; one write, always the same size


class InHand:
    """The in-hand file of one mailbox under `folder`."""

    def __init__(self, folder: Path, mailbox: str):
        name = hashlib.sha256(mailbox.encode("utf-8", "surrogateescape")).hexdigest()[:16]
        self.path = Path(folder) / f"in-hand-{name}"
        self._fd: int | None = None

    def hold(self, row_id: int) -> None:
        """The mail of ledger row `row_id` is being handled from now on."""
        self._write(str(row_id).encode().ljust(_WIDTH))

    def clear(self) -> None:
        """No mail is in hand (its outcome is committed, or was never started)."""
        self._write(b" " * _WIDTH)

    def left_behind(self) -> int | None:
        """The row a previous process was handling when it stopped, if it left one."""
        try:
            text = self.path.read_bytes()[:_WIDTH].strip()
        except FileNotFoundError:
            return None
        return int(text) if text.isdigit() else None

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def _write(self, data: bytes) -> None:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        os.pwrite(self._fd, data, 0)
