"""Maildir source and sink for the embedded default (no mail server needed).

Layout is Maildir++: the inbox is `root/{new,cur,tmp}`, folders are `root/.Name/{new,cur,tmp}`.
UIDs come from a per-mailbox counter kept in `root/.uidlist`, so a message keeps its number
for as long as it stays in the inbox, and the number is never reused. The list also holds a
UIDVALIDITY (its creation time): if the list is lost and numbering starts again at 1, the new
UIDVALIDITY keeps old ledger keys from matching new mail, as on an IMAP server.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Collection, Iterator

from bot.errors import MailboxError
from bot.mailbox.base import (
    HEADER_LIMIT,
    Fetched,
    headers_of,
    message_id_of,
    within_bytes,
)

log = logging.getLogger(__name__)

SUBDIRS = ("tmp", "new", "cur")
UIDLIST = ".uidlist"
UIDLIST_HEADER = "rb-uidlist 2"  # then UIDVALIDITY and the next UID
_counter = itertools.count()


@contextmanager
def _errors(command: str) -> Iterator[None]:
    """Disk errors become MailboxError("<COMMAND> failed: <reason>") like the IMAP source's."""
    try:
        yield
    except OSError as exc:
        raise MailboxError(f"{command} failed: {exc}") from exc


def ensure_maildir(path: Path, folder: bool = False) -> Path:
    """Create tmp/new/cur private to the service user (0700) if missing."""
    for sub in SUBDIRS:
        (path / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder:  # Maildir++ marks sub-folders with this empty file
        (path / "maildirfolder").touch(mode=0o600, exist_ok=True)
    return path


def _base(name: str) -> str:
    """The unique part of a Maildir file name, without the ":2,FLAGS" info that changes with flags."""
    return name.partition(":")[0]


def _escape(base: str) -> str:
    """A file name as one ASCII word of the uid list. Names of any encoding occur (a delivery
    agent keeps a sender's 8-bit name; Python reads undecodable bytes as surrogates): anything
    but plain printable ASCII is written as `x:HEX` (':' never occurs in a Maildir base name)."""
    if base.isascii() and base.isprintable() and " " not in base:
        return base
    return "x:" + base.encode("utf-8", "surrogateescape").hex()


def _unescape(word: str) -> str:
    return bytes.fromhex(word[2:]).decode("utf-8", "surrogateescape") if word.startswith("x:") else word


class MaildirSource:
    """Reads `root` as an inbox; see bot.mailbox.base.Source for the contract."""

    def __init__(
        self,
        root: Path,
        processed: str = "Processed",
        quarantine: str = "Quarantine",
        sent: str = "Sent",
        *,
        poll_interval: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.root = Path(root).absolute()
        self.processed_folder = processed
        self.quarantine_folder = quarantine
        self.sent_folder = sent
        self.name = f"maildir:{self.root}"
        self.poll_interval = poll_interval
        self._sleep = sleep
        self._paths: dict[str, Path] = {}  # base -> file, as of the last fetch_new
        self._snapshot: tuple[int, int] | None = None
        self._more = False
        self.uidvalidity = 0  # set from .uidlist by fetch_new

    def open(self) -> None:
        with _errors("OPEN"):
            ensure_maildir(self.root)

    def close(self) -> None:
        self._paths.clear()

    def fetch_new(self, limit: int = 100, max_bytes: int | None = None) -> list[Fetched]:
        with _errors("FETCH"):
            ensure_maildir(self.root)
            self._snapshot = self._dir_state()  # before listing: a delivery in between wakes wait()
            files = self._inbox_files()
            uids = self._assign_uids(files)
            oldest = sorted(uids.items(), key=lambda bu: bu[1])[:limit]  # read only what is returned
            if max_bytes is not None:
                oldest = within_bytes(oldest, [_size(files[base]) for base, _uid in oldest], max_bytes)
            items = [self._read(uid, files[base]) for base, uid in oldest]
        self._paths = {base: files[base] for base in uids}
        self._more = len(uids) > len(oldest)
        return [item for item in items if item is not None]

    def peek_new(self, limit: int = 100, max_bytes: int | None = None,
                 skip: Collection[str] = ()) -> list[Fetched]:
        # A file is read whole: a local read of a few KB costs what reading its header would.
        # `skip` is empty in practice: a Maildir's moves are renames made at once (no Settler twin).
        return [item for item in self.fetch_new(limit, max_bytes) if item.key not in skip]

    def twin(self) -> None:
        return None  # a move is a rename, made at once

    def fetch_whole(self, items: list[Fetched]) -> list[Fetched]:
        return list(items)

    def waiting(self) -> int:
        with _errors("COUNT"):
            ensure_maildir(self.root)
            return len(self._inbox_files())

    def mark_done(self, item: Fetched) -> None:
        with _errors("MOVE"):
            self._move_item(item, self.processed_folder)

    def mark_done_many(self, items: list[Fetched], folder: str | None = None) -> None:
        with _errors("MOVE"):
            for item in items:
                self._move_item(item, folder or self.processed_folder)

    def has_message_id(self, message_id: str) -> bool:
        with _errors("SEARCH"):
            ensure_maildir(self.root)
            return any(_has_message_id(path, message_id) for path in self._inbox_files().values())

    def quarantine(self, item: Fetched) -> None:
        with _errors("MOVE"):
            self._move_item(item, self.quarantine_folder)

    def restore(self, folder: str) -> int:
        source = self._folder_path(folder)
        moved = 0
        with _errors("MOVE"):
            if not source.is_dir():
                return 0
            ensure_maildir(self.root)
            for sub in ("new", "cur"):
                for path in sorted((source / sub).iterdir()):
                    os.rename(path, self.root / sub / path.name)
                    moved += 1
        log.info("%s: restored %d message(s) from %s", self.name, moved, folder)
        return moved

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self._changed():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._sleep(min(self.poll_interval, left))
        return True

    # -- helpers ------------------------------------------------------------------------

    def _changed(self) -> bool:
        with _errors("WAIT"):
            return self._more or self._snapshot is None or self._dir_state() != self._snapshot

    def _dir_state(self) -> tuple[int, int]:
        """Delivery (rename into new/) and our own moves change these directories' mtimes."""
        return ((self.root / "new").stat().st_mtime_ns, (self.root / "cur").stat().st_mtime_ns)

    def _inbox_files(self) -> dict[str, Path]:
        files: dict[str, Path] = {}
        for sub in ("new", "cur"):
            for entry in os.scandir(self.root / sub):
                if entry.is_file() and not entry.name.startswith("."):
                    files[_base(entry.name)] = Path(entry.path)
        return files

    def _assign_uids(self, files: dict[str, Path]) -> dict[str, int]:
        """Keep the numbers of mail still here, number newcomers oldest first, persist if changed."""
        loaded = self._load_uidlist()
        self.uidvalidity, next_uid, known = loaded or (_new_uidvalidity(), 1, {})
        uids = {base: uid for base, uid in known.items() if base in files}
        newcomers = sorted((b for b in files if b not in uids), key=lambda b: (_mtime(files[b]), b))
        for base in newcomers:
            uids[base] = next_uid
            next_uid += 1
        if loaded is None or newcomers or len(uids) != len(known):
            self._save_uidlist(next_uid, uids)
        return uids

    def _load_uidlist(self) -> tuple[int, int, dict[str, int]] | None:
        try:
            lines = (self.root / UIDLIST).read_text("ascii").splitlines()
        except FileNotFoundError:
            return None
        if not lines or not lines[0].startswith(UIDLIST_HEADER + " "):
            raise MailboxError(f"FETCH failed: {self.root / UIDLIST} is not a uid list")
        uidvalidity, next_uid = (int(word) for word in lines[0].split()[-2:])
        known = {_unescape(base): int(uid)
                 for uid, base in (line.split(" ", 1) for line in lines[1:] if line)}
        return uidvalidity, next_uid, known

    def _save_uidlist(self, next_uid: int, uids: dict[str, int]) -> None:
        ordered = sorted(uids.items(), key=lambda bu: bu[1])
        lines = [f"{UIDLIST_HEADER} {self.uidvalidity} {next_uid}"] + [
            f"{uid} {_escape(base)}" for base, uid in ordered]
        _write_atomically(self.root / UIDLIST, ("\n".join(lines) + "\n").encode("ascii"))

    def _read(self, uid: int, path: Path) -> Fetched | None:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:  # moved away by someone else since the listing
            return None
        base = _base(path.name)
        key = f"{self.name}:{self.uidvalidity}:{uid}:{base}"
        return Fetched(self.name, self.uidvalidity, uid, raw, key)

    def _move_item(self, item: Fetched, folder: str) -> None:
        base = item.key.rsplit(":", 1)[1]
        target = ensure_maildir(self._folder_path(folder), folder=True)
        path = self._locate(base)
        if path is None:
            if self._find(target, base) is None:
                raise MailboxError(f"MOVE failed: {item.key} is neither in the inbox nor in {folder}")
            return  # already moved (a retry after a crash): nothing to do
        # Same sub-directory on the other side, so flags in the name stay meaningful. The rename is
        # not fsync'd: if it is lost in a crash the mail shows up again and the ledger dedupes it.
        os.rename(path, target / path.parent.name / path.name)
        self._paths.pop(base, None)

    def _locate(self, base: str) -> Path | None:
        cached = self._paths.get(base)
        if cached is not None and cached.exists():
            return cached
        return self._find(self.root, base)

    @staticmethod
    def _find(maildir: Path, base: str) -> Path | None:
        for sub in ("new", "cur"):
            directory = maildir / sub
            if not directory.is_dir():
                continue
            for entry in os.scandir(directory):
                if _base(entry.name) == base:
                    return Path(entry.path)
        return None

    def _folder_path(self, folder: str) -> Path:
        if not folder or "/" in folder or folder in (".", "..") or folder.upper() == "INBOX":
            raise MailboxError(f"MOVE failed: {folder!r} is not a folder name")
        return self.root / f".{folder}"


class MaildirSink:
    """Delivers into a Maildir the way an MTA does: write to tmp/, fsync, rename into new/."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def deliver(self, raw: bytes) -> Path:
        with _errors("DELIVER"):
            ensure_maildir(self.root)
            name = _unique_name()
            temporary = self.root / "tmp" / name
            _write_file(temporary, raw, exclusive=True)
            final = self.root / "new" / name
            os.rename(temporary, final)
            _fsync_dir(final.parent)  # the rename itself must survive a crash
        return final


    def deliver_once(self, raw: bytes, key: str) -> Path:
        """Deliver under a name derived from `key`; a second delivery of the same key is a no-op,
        so a sender that crashed after writing can safely write again."""
        base = hashlib.sha256(key.encode()).hexdigest()[:40]
        with _errors("DELIVER"):
            ensure_maildir(self.root)
            for sub in ("new", "cur"):
                found = [e for e in os.scandir(self.root / sub) if e.name.startswith(base)]
                if found:
                    return Path(found[0].path)
            temporary = self.root / "tmp" / f"{base}.{os.getpid()}"
            _write_file(temporary, raw)
            final = self.root / "new" / f"{base}.{socket.gethostname()}"
            os.rename(temporary, final)
            _fsync_dir(final.parent)
        return final


def _has_message_id(path: Path, message_id: str) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEADER_LIMIT)
    except FileNotFoundError:  # moved away meanwhile
        return False
    return message_id_of(headers_of(head)) == message_id


def _unique_name() -> str:
    """time.MusecPpid_Qcounter.host, as in the Maildir spec; '/' and ':' escaped in the host."""
    now = time.time_ns()
    host = socket.gethostname().replace("/", r"\057").replace(":", r"\072")
    return f"{now // 10**9}.M{now // 1000 % 10**6}P{os.getpid()}Q{next(_counter)}R{os.urandom(4).hex()}.{host}"


def _write_file(path: Path, data: bytes, exclusive: bool = False) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    _write_file(temporary, data)
    os.replace(temporary, path)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _new_uidvalidity() -> int:
    """Seconds since the epoch, like Dovecot: a fresh list never repeats an earlier one's value."""
    return max(1, int(time.time()))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # taken meanwhile: reading it will say so


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0
