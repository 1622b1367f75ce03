"""What every mail source offers: fetch without side effects, then move only when told to.

The pipeline archives and commits a message before it calls `mark_done` or `quarantine`, so a
source must never change the mailbox on its own (no \\Seen on fetch, no delete on read).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Collection, Protocol, runtime_checkable


@dataclass(frozen=True)
class Fetched:
    """One message as read from a source; `key` is stable for as long as the message stays put."""

    mailbox: str
    uidvalidity: int
    uid: int
    raw: bytes
    key: str
    whole: bool = True  # False: `raw` holds only the header fields of a peek (Source.peek_new)

    def __repr__(self) -> str:  # the raw bytes would flood logs and tracebacks
        return f"Fetched(key={self.key!r}, size={len(self.raw)})"


PEEK_FIELDS = ("Message-ID", "X-Loop")  # what tells our own sent copy (bot.outbox.confirm)
HEADER_LIMIT = 64 * 1024  # a header block is a few KB; never read a body to find one


def headers_of(raw: bytes) -> Message:
    """The header fields of a raw mail, read from its header block only (fast on any size)."""
    end = raw.find(b"\r\n\r\n", 0, HEADER_LIMIT)
    if end < 0:
        end = raw.find(b"\n\n", 0, HEADER_LIMIT)
    return BytesHeaderParser(policy=compat32).parsebytes(raw[: end if end >= 0 else HEADER_LIMIT])


def message_id_of(headers: Message) -> str | None:
    """The Message-ID without its angle brackets, or None."""
    value = str(headers.get("Message-ID") or "").strip().strip("<>").strip()
    return value or None


def within_bytes(keys: list, sizes: list[int], max_bytes: int) -> list:
    """The longest prefix of `keys` whose sizes add up to at most `max_bytes`, and never less than
    one: a batch is capped by bytes as well as count, so that forty 25 MB mails are not held in
    memory at once, while a single large mail still goes through."""
    total, taken = 0, []
    for key, size in zip(keys, sizes):
        if taken and total + size > max_bytes:
            break
        taken.append(key)
        total += size
    return taken


def make_key(mailbox: str, uidvalidity: int, uid: int) -> str:
    """The ledger key of an IMAP message: the UID is only meaningful together with UIDVALIDITY."""
    return f"{mailbox}:{uidvalidity}:{uid}"


@runtime_checkable
class Source(Protocol):
    """A mailbox the daemon reads from; see the module docstring for the contract."""

    name: str
    sent_folder: str

    def open(self) -> None: ...

    def close(self) -> None: ...

    def fetch_new(self, limit: int = 100, max_bytes: int | None = None) -> list[Fetched]:
        """Messages still in the inbox, oldest first, read without setting \\Seen: at most
        `limit` of them and, past the first, at most `max_bytes` of raw mail together."""
        ...

    def peek_new(self, limit: int = 100, max_bytes: int | None = None,
                 skip: Collection[str] = ()) -> list[Fetched]:
        """As fetch_new, but an item may hold only the header fields PEEK_FIELDS (`whole` False):
        enough to recognise our own sent copies, which are then filed without reading them. Mail
        whose key is in `skip` (being moved by bot.mailbox.settler) is left out."""
        ...

    def fetch_whole(self, items: list[Fetched]) -> list[Fetched]:
        """The peeked items in full, in order; an item gone from the inbox meanwhile (or whose
        UID means another message now) is left out: the next fetch finds it, or not."""
        ...

    def mark_done(self, item: Fetched) -> None:
        """Move the message to the processed folder (created if missing)."""
        ...

    def mark_done_many(self, items: list[Fetched], folder: str | None = None) -> None:
        """mark_done for a batch, in as few server round trips as the source allows; `folder`
        instead of the processed folder (our own sent copies go to `sent_folder`)."""
        ...

    def twin(self) -> Source | None:
        """A second source on the same inbox with a connection of its own, on which another
        thread can move mail while this one fetches (bot.mailbox.settler); None where a move is
        made at once anyway."""
        ...

    def has_message_id(self, message_id: str) -> bool:
        """Whether a message with this Message-ID (without <>) is in the inbox."""
        ...

    def quarantine(self, item: Fetched) -> None:
        """Move the message to the quarantine folder (created if missing)."""
        ...

    def wait(self, timeout: float) -> bool:
        """Block up to `timeout` seconds; True when new mail may be waiting."""
        ...

    def restore(self, folder: str) -> int:
        """Move every message of `folder` back to the inbox; returns how many moved."""
        ...

    def waiting(self) -> int:
        """How many messages are in the inbox now (for `status` and `check`)."""
        ...


