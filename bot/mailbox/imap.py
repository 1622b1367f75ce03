"""IMAP source: UIDs with UIDVALIDITY, BODY.PEEK, MOVE after commit, IDLE, reconnect with backoff.

A NO/BAD answer becomes MailboxError("<COMMAND> failed: <server text>") at once. A dropped
connection (socket error, timeout, server BYE) is retried with exponential backoff after a fresh
connect, LOGIN and SELECT; a certificate that fails verification is never retried.
"""

from __future__ import annotations

import imaplib
import logging
import random
import ssl
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Collection, Iterator, TypeVar

from imapclient import IMAPClient

from bot.errors import MailboxError
from bot.mailbox.base import PEEK_FIELDS, Fetched, headers_of, make_key, message_id_of, within_bytes
from bot.retry import backoff_delay
from bot.tls import check_security, tls_context

if TYPE_CHECKING:
    from bot.config import Config

log = logging.getLogger(__name__)

_LOGOUT_SECONDS = 3.0  # at most, for the server's answer to LOGOUT when closing

_IMAPLIB_LOGGER = "imapclient.imaplib"  # where imapclient routes imaplib's own debug output
FETCH_CHUNK = 50  # messages per FETCH: bounded memory, few round trips
DELETED = b"\\Deleted"
T = TypeVar("T")


@dataclass(frozen=True)
class ImapSettings:
    """Where and how to reach the mailbox; `retries` bounds reconnect attempts per operation."""

    host: str
    port: int
    username: str
    password: str = field(repr=False)  # repr=False: settings end up in logs and tracebacks
    security: str = "tls"  # "tls" (implicit IMAPS), "starttls" or "plain" (loopback only)
    cafile: str | Path | None = None  # None: the system trust store
    inbox: str = "INBOX"
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    sent_folder: str = "Sent"  # where our own sent copies are filed (bot.outbox.confirm)
    timeout: float = 30.0
    idle_refresh: float = 540.0  # re-IDLE well before the 29-minute limit of RFC 2177
    retries: int = 8  # 1+2+4+...+60 s: about three minutes of outage before giving up

    def __post_init__(self) -> None:
        check_security(self.security, self.host, "imap")


def imap_settings(cfg: Config) -> ImapSettings:
    """The settings of the config's [imap] section (which must be there)."""
    i = cfg.imap
    return ImapSettings(host=i.host, port=i.port, username=i.username, password=i.password,
                        security=i.security, cafile=i.cafile, inbox=i.inbox,
                        processed_folder=i.processed_folder, quarantine_folder=i.quarantine_folder,
                        sent_folder=i.sent_folder)


class ImapSource:
    """Reads one IMAP folder; see bot.mailbox.base.Source for the contract."""

    def __init__(
        self,
        settings: ImapSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ):
        self.settings = settings
        self.name = f"{settings.username}/{settings.inbox}"
        self.sent_folder = settings.sent_folder
        self.uidvalidity: int | None = None  # of the inbox, as of the last SELECT
        self._sleep = sleep
        self._rng = rng
        self._context = tls_context(settings.security, settings.cafile, "imap")
        self._client: IMAPClient | None = None
        self._folders: set[str] = set()  # folders known to exist on this connection
        self._more = False  # the last fetch_new hit its limit: more mail is waiting
        # The highest UID this connection has been told of (SELECT, SEARCH). Another connection
        # (a twin: bot.mailbox.settler) may read mail that arrived since; a UID FETCH or MOVE of it
        # here finds nothing until this connection syncs (Dovecot answers "No messages found").
        self._told = 0

    # -- the Source protocol ------------------------------------------------------------

    def open(self) -> None:
        self._retrying("CONNECT", lambda client: None)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            # LOGOUT is a courtesy, bounded: a stop that interrupted an IDLE before its DONE leaves a
            # connection the server will not answer, and a stopping daemon waited the full timeout.
            client.socket().settimeout(min(self.settings.timeout, _LOGOUT_SECONDS))
            client.logout()
        except (OSError, imaplib.IMAP4.error):
            _shutdown(client)

    def fetch_new(self, limit: int = 100, max_bytes: int | None = None) -> list[Fetched]:
        return self._retrying("FETCH", lambda client: self._fetch_new(client, limit, max_bytes))

    def peek_new(self, limit: int = 100, max_bytes: int | None = None,
                 skip: Collection[str] = ()) -> list[Fetched]:
        return self._retrying("FETCH", lambda client: self._peek_new(client, limit, max_bytes, skip))

    def fetch_whole(self, items: list[Fetched]) -> list[Fetched]:
        if all(item.whole for item in items):
            return list(items)
        return self._retrying("FETCH", lambda client: self._fetch_whole(client, items))

    def waiting(self) -> int:
        return self._retrying("SEARCH", lambda client: len(_call("SEARCH", client.search, ["UNDELETED"])))

    def mark_done(self, item: Fetched) -> None:
        self._retrying("MOVE", lambda client: self._move_item(client, item, self.settings.processed_folder))

    def mark_done_many(self, items: list[Fetched], folder: str | None = None) -> None:
        """One MOVE for a whole batch: a round trip per message was a seventh of ingest time."""
        folder = folder or self.settings.processed_folder
        if self.uidvalidity is None:
            self.open()  # a twin's first move: the UIDs are compared with its inbox's UIDVALIDITY
        current = [i for i in items if i.mailbox == self.name and i.uidvalidity == self.uidvalidity]
        if current:

            def move_all(client: IMAPClient) -> None:
                self._ensure_folder(client, folder)
                self._move(client, [i.uid for i in current], folder)

            self._retrying("MOVE", move_all)
        for item in items:
            if item not in current:
                self._retrying("MOVE", lambda client, item=item: self._move_item(client, item, folder))

    def twin(self) -> ImapSource:
        """A second source on the same inbox, with a connection of its own (made when first used):
        the intake's moves run on it while this one fetches (bot.mailbox.settler). It tries once:
        what it cannot do, this source does with its retries."""
        return ImapSource(replace(self.settings, retries=0), sleep=self._sleep, rng=self._rng)

    def has_message_id(self, message_id: str) -> bool:
        return bool(self._retrying("SEARCH", lambda client: self._with_message_id(client, message_id)))

    def quarantine(self, item: Fetched) -> None:
        self._retrying("MOVE", lambda client: self._move_item(client, item, self.settings.quarantine_folder))

    def restore(self, folder: str) -> int:
        return self._retrying("MOVE", lambda client: self._restore(client, folder))

    def wait(self, timeout: float) -> bool:
        if self._more:
            return True
        client = self._retrying("CONNECT", lambda client: client)
        if not client.has_capability("IDLE"):
            self._sleep(timeout)  # polling: after the interval, mail may be waiting
            return True
        try:
            return self._idle(client, timeout)
        except (OSError, imaplib.IMAP4.error) as exc:
            # Blind while the connection was down: say "maybe", fetch_new reconnects with backoff.
            log.warning("%s: IDLE interrupted (%s); reconnecting on next fetch", self.name, exc)
            self._drop()
            return True

    # -- connection handling ------------------------------------------------------------

    def _retrying(self, command: str, operation: Callable[[IMAPClient], T]) -> T:
        """Run `operation` on a live connection, reconnecting with backoff when the link drops."""
        for attempt in range(self.settings.retries + 1):
            phase = "CONNECT"
            try:
                client = self._connection()
                phase = command
                return operation(client)
            except ssl.SSLCertVerificationError as exc:
                self._drop()
                raise MailboxError(f"{phase} failed: certificate verification failed: {exc.verify_message}") from exc
            except (OSError, imaplib.IMAP4.abort) as exc:
                self._drop()
                if attempt >= self.settings.retries:
                    raise MailboxError(f"{phase} failed: {exc} (gave up after {attempt + 1} attempts)") from exc
                delay = backoff_delay(attempt, rng=self._rng)
                log.warning("%s: %s failed (%s); reconnecting in %.1f s", self.name, phase, exc, delay)
                self._sleep(delay)
        raise AssertionError("unreachable")

    def _connection(self) -> IMAPClient:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _connect(self) -> IMAPClient:
        s = self.settings
        client = IMAPClient(s.host, s.port, ssl=s.security == "tls", ssl_context=self._context, timeout=s.timeout)
        quiet_imaplib(client)
        try:
            if s.security == "starttls":
                _call("STARTTLS", client.starttls, self._context)
            self._login(client)
            self._select_inbox(client)
        except BaseException:
            _shutdown(client)
            raise
        log.info("%s: connected to %s:%d (%s), UIDVALIDITY %s", self.name, s.host, s.port, s.security, self.uidvalidity)
        return client

    def _login(self, client: IMAPClient) -> None:
        try:
            _call("LOGIN", client.login, self.settings.username, self.settings.password)
        except MailboxError as exc:
            if "[UNAVAILABLE]" in str(exc):  # RFC 5530: a temporary failure (auth restarting): retry
                raise imaplib.IMAP4.abort(str(exc)) from exc
            raise

    def _select_inbox(self, client: IMAPClient) -> None:
        info = _call("SELECT", client.select_folder, self.settings.inbox)
        uidvalidity = int(info[b"UIDVALIDITY"])
        if self.uidvalidity is not None and uidvalidity != self.uidvalidity:
            # Old UIDs now mean nothing; keys carry UIDVALIDITY and the ledger also dedupes by Message-ID.
            log.warning("%s: UIDVALIDITY changed from %d to %d", self.name, self.uidvalidity, uidvalidity)
        self.uidvalidity = uidvalidity
        self._told = int(info.get(b"UIDNEXT", 1)) - 1

    def _drop(self) -> None:
        client, self._client = self._client, None
        self._folders.clear()
        if client is not None:
            _shutdown(client)

    # -- operations (run inside _retrying) ----------------------------------------------

    def _fetch_new(self, client: IMAPClient, limit: int, max_bytes: int | None) -> list[Fetched]:
        waiting = self._search(client)
        uids = waiting[:limit]
        if max_bytes is not None and uids:
            sizes = _call("FETCH", client.fetch, uids, ["RFC822.SIZE"])
            uids = within_bytes(uids, [sizes.get(u, {}).get(b"RFC822.SIZE", 0) for u in uids], max_bytes)
        self._more = len(waiting) > len(uids)  # wait() must not sleep on a backlog
        items: list[Fetched] = []
        for chunk in _chunks(uids, FETCH_CHUNK):
            data = _call("FETCH", client.fetch, chunk, ["BODY.PEEK[]"])
            for uid in chunk:
                raw = data.get(uid, {}).get(b"BODY[]")
                if raw is not None:  # None: expunged by someone else meanwhile
                    items.append(self._fetched(uid, raw))
        return items

    def _peek_new(self, client: IMAPClient, limit: int, max_bytes: int | None,
                  skip: Collection[str]) -> list[Fetched]:
        """Sizes and the PEEK_FIELDS of the waiting mail in one FETCH; the bodies come later, and
        only for the mail that is not our own sent copy (fetch_whole). Mail whose key is in `skip`
        (being moved on another connection) is not waiting."""
        waiting = self._search(client)
        if skip:
            waiting = [uid for uid in waiting if make_key(self.name, self.uidvalidity or 0, uid) not in skip]
        uids = waiting[:limit]
        items: list[Fetched] = []
        if uids:
            data = _call("FETCH", client.fetch, uids, ["RFC822.SIZE", _PEEK])
            present = [u for u in uids if u in data]  # the others were expunged meanwhile
            if max_bytes is not None:
                present = within_bytes(present, [data[u].get(b"RFC822.SIZE", 0) for u in present],
                                       max_bytes)
            uids = present
            items = [self._fetched(uid, _header_fields(data[uid]), whole=False) for uid in present]
        self._more = len(waiting) > len(uids)  # wait() must not sleep on a backlog
        return items

    def _with_message_id(self, client: IMAPClient, message_id: str) -> list[int]:
        return self._search(client, ["UNDELETED", "HEADER", "Message-ID", message_id])

    def _search(self, client: IMAPClient, criteria: list[str] | None = None) -> list[int]:
        """The UIDs of the inbox's mail that matches `criteria` (not deleted), in order. A NOOP first:
        a SEARCH looks only at mail the connection has been told of, and mail that arrived since its
        last command (new mail, the sent copy that decides whether a mail goes out again) counts."""
        _call("NOOP", client.noop)
        found = sorted(_call("SEARCH", client.search, criteria or ["UNDELETED"]))
        if found:
            self._told = max(self._told, found[-1])
        return found

    def _told_of(self, client: IMAPClient, uids: list[int]) -> None:
        """Sync this connection first when `uids` holds mail it has not been told of (read on
        another connection): else the server would look for them in its old view, and not find them."""
        if uids and max(uids) > self._told:
            _call("NOOP", client.noop)
            self._told = max(self._told, max(uids))

    def _fetch_whole(self, client: IMAPClient, items: list[Fetched]) -> list[Fetched]:
        wanted = [i for i in items if not i.whole and i.uidvalidity == self.uidvalidity]
        self._told_of(client, [i.uid for i in wanted])
        bodies: dict[int, bytes] = {}
        for chunk in _chunks([i.uid for i in wanted], FETCH_CHUNK):
            data = _call("FETCH", client.fetch, chunk, ["BODY.PEEK[]"])
            bodies.update({uid: data[uid][b"BODY[]"] for uid in chunk
                           if data.get(uid, {}).get(b"BODY[]") is not None})
        whole = []
        for item in items:
            if item.whole:
                whole.append(item)
            elif item.uid in bodies and item.uidvalidity == self.uidvalidity:
                whole.append(self._fetched(item.uid, bodies[item.uid]))
        return whole

    def _fetched(self, uid: int, raw: bytes, whole: bool = True) -> Fetched:
        uidvalidity = self.uidvalidity or 0
        return Fetched(self.name, uidvalidity, uid, raw, make_key(self.name, uidvalidity, uid), whole)

    def _move_item(self, client: IMAPClient, item: Fetched, folder: str) -> None:
        if item.mailbox != self.name:
            raise MailboxError(f"MOVE failed: {item.key} does not belong to {self.name}")
        uids = self._current_uids(client, item)
        if not uids:
            log.warning("%s: %s is no longer in %s; nothing to move", self.name, item.key, self.settings.inbox)
            return
        self._ensure_folder(client, folder)
        self._move(client, uids, folder)

    def _current_uids(self, client: IMAPClient, item: Fetched) -> list[int]:
        if item.uidvalidity == self.uidvalidity:
            return [item.uid]
        # UIDVALIDITY changed since the fetch, so the old UID may name another message: find it by
        # Message-ID. Copies with the same Message-ID share one outcome in the ledger anyway.
        message_id = message_id_of(headers_of(item.raw))
        if not message_id:
            return []
        return self._with_message_id(client, message_id)

    def _move(self, client: IMAPClient, uids: list[int], folder: str) -> None:
        self._told_of(client, uids)
        if client.has_capability("MOVE"):
            _call("MOVE", client.move, uids, folder)
            return
        # RFC 6851 fallback. fetch_new skips \Deleted, so a crash before EXPUNGE cannot re-deliver.
        _call("COPY", client.copy, uids, folder)
        _call("STORE", client.add_flags, uids, [DELETED], True)
        if client.has_capability("UIDPLUS"):
            _call("EXPUNGE", client.uid_expunge, uids)  # only ours, not what others flagged
        else:
            _call("EXPUNGE", client.expunge)

    def _ensure_folder(self, client: IMAPClient, folder: str) -> None:
        if folder in self._folders:
            return
        if not _call("LIST", client.folder_exists, folder):
            try:
                _call("CREATE", client.create_folder, folder)
            except MailboxError:
                if not _call("LIST", client.folder_exists, folder):  # else: created by someone else meanwhile
                    raise
        self._folders.add(folder)

    def _restore(self, client: IMAPClient, folder: str) -> int:
        if folder == self.settings.inbox or not _call("LIST", client.folder_exists, folder):
            return 0
        _call("SELECT", client.select_folder, folder)
        try:
            uids = sorted(_call("SEARCH", client.search, ["UNDELETED"]))
            if uids:
                self._move(client, uids, self.settings.inbox)
        finally:
            self._select_inbox(client)
        log.info("%s: restored %d message(s) from %s", self.name, len(uids), folder)
        return len(uids)

    def _idle(self, client: IMAPClient, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            # Re-IDLE periodically: servers end IDLE after 30 min and NATs forget quiet links sooner.
            if self._idle_round(client, min(remaining, self.settings.idle_refresh)):
                return True
            # Between rounds a NOOP makes the server report mail it had not announced yet.
            if any(_signals_mail(r) for r in _call("NOOP", client.noop)[1]):
                return True
        return False

    def _idle_round(self, client: IMAPClient, seconds: float) -> bool:
        client.idle()
        started = time.monotonic()
        news = False
        try:
            while not news and (left := seconds - (time.monotonic() - started)) > 0:
                responses = client.idle_check(timeout=left)
                news = any(_signals_mail(r) for r in responses)
                if not responses and time.monotonic() - started < seconds - 0.05:
                    # Readable but no line: EOF or a torn TLS record. Say "maybe"; idle_done() below
                    # raises if the connection is gone, and wait() then drops it.
                    news = True
        finally:
            # Responses that arrive while IDLE ends count too (a raise here reaches wait()).
            late = client.idle_done()[1]
        return news or any(_signals_mail(r) for r in late)


def _call(command: str, method: Callable[..., T], *args: object) -> T:
    """Run one IMAP command; a NO/BAD answer becomes MailboxError("<COMMAND> failed: <server text>")."""
    try:
        return method(*args)
    except imaplib.IMAP4.abort:
        raise  # the connection is gone: _retrying reconnects
    except imaplib.IMAP4.error as exc:
        raise MailboxError(f"{command} failed: {_server_text(exc)}") from exc


def _server_text(exc: Exception) -> str:
    """imapclient says "select failed: <text>"; keep only the server's text."""
    text = str(exc)
    head, sep, rest = text.partition(" failed: ")
    return rest if sep and " " not in head else text


def _signals_mail(response: tuple) -> bool:
    if response and response[0] == b"BYE":
        return True  # the server is leaving; the caller reconnects and fetches
    return len(response) >= 2 and response[1] in (b"EXISTS", b"RECENT")


_PEEK = "BODY.PEEK[HEADER.FIELDS (" + " ".join(f.upper() for f in PEEK_FIELDS) + ")]"


def _header_fields(response: dict) -> bytes:
    """The header block of a HEADER.FIELDS fetch (the server echoes the field list in the key)."""
    for key, value in response.items():
        if isinstance(key, bytes) and key.startswith(b"BODY[HEADER.FIELDS") and value is not None:
            return value
    return b"\r\n"


def quiet_imaplib(client: IMAPClient) -> None:
    """imapclient sets imaplib's debug level to 5 and sends it to the `imapclient.imaplib` logger,
    so imaplib formats a repr of every line and literal it reads (each mail's whole body, and the
    whole answer again) for a message the logger then drops: 0.2 ms of CPU a fetched mail of 24 KB,
    seven times the fetch itself. Left on when that logger would write it."""
    if not logging.getLogger(_IMAPLIB_LOGGER).isEnabledFor(logging.DEBUG):
        client._imap.debug = 0


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _shutdown(client: IMAPClient) -> None:
    try:
        client.shutdown()
    except (OSError, imaplib.IMAP4.error):
        pass  # already closed: nothing left to release
