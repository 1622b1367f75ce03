"""In-process SMTP servers (aiosmtpd, background thread) that deliver into Dovecot over LMTP.

Each SMTP transaction is proxied to one LMTP transaction: MAIL is remembered, every RCPT is passed to
Dovecot's LMTP at once (so an unknown recipient gets Dovecot's own ``550 5.1.1`` for that recipient only),
DATA is delivered through the same LMTP session. Faults can be injected at CONNECT, RCPT or DATA.
The LMTP client runs on the listener's event loop (AsyncLmtp), and a connection whose transaction
ended cleanly is kept for the next one (LmtpCache), as a real MTA's connection cache does.
"""

from __future__ import annotations

import asyncio
import functools
import re
import logging
import smtplib
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword, Session

log = logging.getLogger("tests.rig.smtpd")

PHASES = ("CONNECT", "RCPT", "DATA", "AFTER-DATA")


# --------------------------------------------------------------------------------------------------
# fault injection
# --------------------------------------------------------------------------------------------------

@dataclass
class Fault:
    code: Optional[int]
    text: str
    times: Optional[int]
    phase: str
    recipients: Optional[frozenset]
    fired: int = 0

    def applies(self, addresses: Iterable[str] | None) -> bool:
        if self.recipients is None or addresses is None:
            return True
        return any(a.lower() in self.recipients for a in addresses)

    def reply(self) -> str:
        return f"{self.code} {self.text}".rstrip()


class SmtpFaults:
    """Thread-safe fault controller shared by both SMTP listeners.

    ``set(code=451, text="4.3.0 try later", times=None, phase="DATA", recipients=None)`` replaces any
    faults with one; ``add(...)`` adds another (the first matching fault fires). ``times=None`` means until
    ``clear()``; an int means that many firings, then the fault removes itself.

    Phases:
      * ``"CONNECT"``: at the greeting the server answers ``code text`` (e.g. 421) and closes the
        connection; with ``code=None`` (or 0) it drops the connection without a greeting.
        ``recipients`` is ignored.
      * ``"RCPT"``: the matching ``RCPT TO`` gets ``code text`` (per recipient).
      * ``"DATA"``: the whole transaction gets ``code text`` after the data if any of its accepted
        recipients matches (SMTP has one DATA reply per transaction); nothing is delivered.
      * ``"AFTER-DATA"`` (``code=None``): the message IS delivered, then the connection is dropped
        before the reply to the final dot: the client cannot know whether the server took it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.fired: list[tuple[str, str]] = []  # (phase, reply) of every firing, for assertions
        self._session_limit: Optional[int] = None
        self.message_limit: Optional[int] = None  # see limit_messages()
        self._sessions = 0  # connections open now, on both listeners
        self.most_sessions = 0  # the most open at once since limit_sessions() or clear()
        self.pipelining = True  # see offer_pipelining()

    def offer_pipelining(self, offered: bool) -> None:
        """Whether EHLO offers PIPELINING (RFC 2920), as Postfix and Exim do by default
        (the default here), or not, as some small servers. aiosmtpd reads pipelined commands either way."""
        with self._lock:
            self.pipelining = offered

    def limit_sessions(self, limit: Optional[int]) -> None:
        """At most `limit` connections at once (None: no limit). One more gets a greeting of
        ``421 4.7.0 Error: too many connections`` and is closed, as Postfix answers beyond its
        smtpd_client_connection_count_limit (a firing of phase CONNECT)."""
        with self._lock:
            self._session_limit = limit
            self.most_sessions = self._sessions

    def limit_messages(self, limit: Optional[int]) -> None:
        """At most `limit` messages on one connection (None: no limit): MAIL FROM after them gets
        ``421 4.7.0 too many messages in this connection`` and the connection is closed, as Exim
        answers beyond its smtp_accept_max_per_connection (a firing of phase MAIL)."""
        with self._lock:
            self.message_limit = limit

    def over_message_limit(self, carried: int) -> Optional[str]:
        """The 421 for a MAIL FROM on a connection that has carried `carried` messages, or None."""
        with self._lock:
            if self.message_limit is None or carried < self.message_limit:
                return None
            reply = "421 4.7.0 rig.test too many messages in this connection"
            self.fired.append(("MAIL", reply))
            return reply

    def open_session(self) -> Optional[Fault]:
        """Count a new connection in; a fault (421) when it is one too many (it is not counted)."""
        with self._lock:
            if self._session_limit is not None and self._sessions >= self._session_limit:
                reply = "421 4.7.0 Error: too many connections"
                self.fired.append(("CONNECT", reply))
                return Fault(code=421, text="4.7.0 Error: too many connections", times=None,
                             phase="CONNECT", recipients=None)
            self._sessions += 1
            self.most_sessions = max(self.most_sessions, self._sessions)
            return None

    def close_session(self) -> None:
        with self._lock:
            self._sessions -= 1

    def set(self, code: Optional[int] = 451, text: str = "4.3.0 try later", times: Optional[int] = None,
            phase: str = "DATA", recipients: Optional[Iterable[str]] = None) -> Fault:
        with self._lock:
            self._faults.clear()
        return self.add(code=code, text=text, times=times, phase=phase, recipients=recipients)

    def add(self, code: Optional[int] = 451, text: str = "4.3.0 try later", times: Optional[int] = None,
            phase: str = "DATA", recipients: Optional[Iterable[str]] = None) -> Fault:
        phase = phase.upper()
        if phase not in PHASES:
            raise ValueError(f"phase must be one of {PHASES}, not {phase!r}")
        if code is None and phase not in ("CONNECT", "AFTER-DATA"):
            raise ValueError("code=None (drop the connection) only works with phase='CONNECT' or 'AFTER-DATA'")
        if times is not None and times < 1:
            raise ValueError("times must be None or >= 1")
        if isinstance(recipients, str):
            recipients = [recipients]
        f = Fault(code=code or None, text=text, times=times, phase=phase,
                  recipients=None if recipients is None else frozenset(r.lower() for r in recipients))
        with self._lock:
            self._faults.append(f)
        return f

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self.fired.clear()
            self._session_limit = None
            self.message_limit = None
            self.most_sessions = self._sessions
            self.pipelining = True

    @property
    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, phase: str, addresses: Iterable[str] | None = None) -> Optional[Fault]:
        """The fault that fires now for this phase (consuming one of its ``times``), or None."""
        addresses = list(addresses) if addresses is not None else None
        with self._lock:
            for f in self._faults:
                if f.phase == phase and f.applies(addresses):
                    f.fired += 1
                    if f.times is not None and f.fired >= f.times:
                        self._faults.remove(f)
                    self.fired.append((phase, f.reply() if f.code else "<drop>"))
                    return f
        return None


class SmtpAccepted:
    """Thread-safe list of ``(mail_from, rcpt_tos, raw_bytes)`` accepted and delivered."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._items: list[tuple[str, list[str], bytes]] = []

    def append(self, item: tuple[str, list[str], bytes]) -> None:
        with self._cond:
            self._items.append(item)
            self._cond.notify_all()

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def snapshot(self) -> list[tuple[str, list[str], bytes]]:
        with self._lock:
            return list(self._items)

    def wait_for(self, n: int, timeout: float = 15.0) -> list[tuple[str, list[str], bytes]]:
        """Block until at least n items were accepted; AssertionError after timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._items) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"SMTP accepted {len(self._items)} messages, expected >= {n}")
                self._cond.wait(left)
            return list(self._items)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __iter__(self):
        return iter(self.snapshot())

    def __getitem__(self, i):
        with self._lock:
            return self._items[i]

    def __bool__(self) -> bool:
        return len(self) > 0

    def __repr__(self) -> str:
        return f"SmtpAccepted({self.snapshot()!r})"


# --------------------------------------------------------------------------------------------------
# the SMTP -> LMTP proxy
# --------------------------------------------------------------------------------------------------

class _RigSession(Session):
    """aiosmtpd's Session logs a deprecation warning whenever AUTH sets ``login_data``."""

    rig_lmtp = None  # the LMTP connection of the current transaction
    rig_carried = 0  # messages delivered on this connection (SmtpFaults.limit_messages)

    @property
    def login_data(self):
        return self._login_data

    @login_data.setter
    def login_data(self, value) -> None:
        self._login_data = value


class _RigSMTP(SMTP):
    """aiosmtpd SMTP with CONNECT faults and cleanup of the per-session LMTP connection."""

    def __init__(self, handler, *, faults: SmtpFaults, **kw):
        super().__init__(handler, **kw)
        self._faults = faults
        self._counted = False  # counted among the open sessions (SmtpFaults.limit_sessions)

    def _create_session(self) -> Session:
        return _RigSession(self.loop)

    def _getaddr(self, arg: str):
        # aiosmtpd parses the address of every MAIL and RCPT with the email package's header parser
        # and defines a typing.Protocol class (an ABC) on each call: a sixth to an eighth of the
        # relay's CPU. The result depends on the argument and the limit only, and a client names
        # the same few addresses again and again.
        return _parsed_address(arg, self.local_part_limit)

    async def _handle_client(self) -> None:
        f = self._faults.open_session()
        self._counted = f is None
        f = f or self._faults.take("CONNECT")
        if f is not None:
            if f.code:
                try:
                    await self.push(f.reply())
                except Exception:  # noqa: BLE001 - client may be gone already
                    pass
            if self.transport is not None:
                self.transport.close()
            return
        await super()._handle_client()

    def connection_lost(self, error) -> None:
        if self.session is not None:
            _close_lmtp(self.session)
        if self._counted:
            self._counted = False
            self._faults.close_session()
        super().connection_lost(error)


@functools.lru_cache(maxsize=4096)
def _parsed_address(arg: str, local_part_limit: int) -> tuple:
    """aiosmtpd's own SMTP._getaddr, cached (its only state is the local-part limit)."""
    probe = SMTP.__new__(SMTP)
    probe.local_part_limit = local_part_limit
    return SMTP._getaddr(probe, arg)


def _close_lmtp(session) -> None:
    lmtp = getattr(session, "rig_lmtp", None)
    session.rig_lmtp = None
    if lmtp is not None:
        lmtp.close()


LMTP_TIMEOUT = 30.0  # seconds for a connect or a reply, as smtplib's timeout was


class AsyncLmtp:
    """An LMTP client on the relay's event loop. smtplib's, run in executor threads, cost four
    hand-offs between the loop and a thread for every message (open and MAIL, RCPT, RCPT, DATA),
    a fifth of the relay's CPU. Replies are read as smtplib reads them (getreply), and errors are
    smtplib's: OSError (TimeoutError, ConnectionError) or an SMTPException."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.loop = asyncio.get_running_loop()

    @classmethod
    async def connect(cls, host: str, port: int) -> "AsyncLmtp":
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), LMTP_TIMEOUT)
        client = cls(reader, writer)
        try:
            code, text = await client.reply()
            if code != 220:
                raise smtplib.SMTPConnectError(code, text)
            code, text = await client.command(b"LHLO rig.test")
            if code != 250:
                raise smtplib.SMTPHeloError(code, text)
        except BaseException:
            client.close()
            raise
        return client

    async def reply(self) -> tuple[int, bytes]:
        lines = []
        async with asyncio.timeout(LMTP_TIMEOUT):  # not wait_for: that makes a task per line
            while True:
                line = await self.reader.readline()
                if not line:
                    self.close()
                    raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
                lines.append(line[4:].strip(b" \t\r\n"))
                try:
                    code = int(line[:3])
                except ValueError:
                    code = -1
                    break
                if line[3:4] != b"-":
                    break
        return code, b"\n".join(lines)

    async def command(self, line: bytes) -> tuple[int, bytes]:
        self.writer.write(line + b"\r\n")
        return await self.reply()

    async def mail(self, sender: str) -> tuple[int, bytes]:
        # ASCII, as smtplib sends a command without SMTPUTF8 (it raised UnicodeEncodeError too)
        return await self.command(f"MAIL FROM:{smtplib.quoteaddr(sender)}".encode("ascii"))

    async def rcpt(self, recipient: str) -> tuple[int, bytes]:
        return await self.command(f"RCPT TO:{smtplib.quoteaddr(recipient)}".encode("ascii"))

    async def data(self, raw: bytes, n: int) -> list[tuple[int, bytes]]:
        """DATA: one reply per accepted recipient. A connection lost after the first reply leaves
        the others undelivered as far as we know: a real MTA has the message in its queue by then
        and answers 250; a 451 here would make the client send again to a recipient who has it
        already (Dovecot restarted under a backlog did that)."""
        code, text = await self.command(b"DATA")
        if code != 354:
            raise smtplib.SMTPDataError(code, text)
        body = re.sub(rb"(?m)^\.", b"..", raw)  # smtplib's _quote_periods
        if body[-2:] != b"\r\n":
            body += b"\r\n"
        self.writer.write(body + b".\r\n")
        replies = [await self.reply()]
        try:
            for _ in range(n - 1):
                replies.append(await self.reply())
        except (OSError, smtplib.SMTPException) as e:
            log.info("LMTP lost after %d of %d replies: %r", len(replies), n, e)
            replies += [LOST] * (n - len(replies))
        return replies

    def quit(self) -> None:
        """QUIT without waiting for the answer, then close (what is written is sent first). From
        the loop's thread, from any other, or after the loop has ended."""
        if self._elsewhere(self.quit):
            return
        if not self.writer.is_closing():
            self.writer.write(b"QUIT\r\n")
        self.writer.close()

    def close(self) -> None:
        """Close, from the loop's thread, from any other, or after the loop has ended."""
        if not self._elsewhere(self.close):
            self.writer.close()

    def _elsewhere(self, again: Callable[[], None]) -> bool:
        """False on the loop's own thread (go on). Else True, once `again` is left to the loop,
        or, the loop being gone, the server is told we left (the socket itself goes with us)."""
        try:
            if asyncio.get_running_loop() is self.loop:
                return False
        except RuntimeError:
            pass
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(again)
            return True
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return True


class LmtpCache:
    """Idle LMTP connections, each after a transaction that ended with every reply read, one list
    per event loop (the submission and the plain listener run one each, and a connection belongs
    to the loop that opened it).

    A real MTA keeps its LMTP connections open between messages (Postfix's connection cache), so
    the mailbox server does not greet, log in and log out a client for every message. A cached
    connection may have died meanwhile (Dovecot stopped or restarted): the relay then drops it and
    opens a new one, so a stopped Dovecot is still answered by the connect that fails.
    """

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._idle: dict[asyncio.AbstractEventLoop, list[AsyncLmtp]] = {}

    def take(self) -> Optional[AsyncLmtp]:
        """An idle connection of the running loop, or None."""
        loop = asyncio.get_running_loop()
        with self._lock:
            idle = self._idle.get(loop)
            return idle.pop() if idle else None

    def give(self, lmtp: AsyncLmtp) -> None:
        with self._lock:
            idle = self._idle.setdefault(lmtp.loop, [])
            if len(idle) < self.size:
                idle.append(lmtp)
                return
        lmtp.quit()

    def clear(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for lmtp in connections:
                lmtp.quit()


class LmtpRelayHandler:
    def __init__(self, lmtp_addr: Callable[[], tuple[str, int]], faults: SmtpFaults,
                 accepted: SmtpAccepted, mailbox: Callable[[str], Path] | None = None):
        self.lmtp_addr = lmtp_addr
        self.faults = faults
        self.accepted = accepted
        self.mailbox = mailbox  # a recipient's Maildir (INBOX), to see what a lost LMTP delivered
        self.cache = LmtpCache()
        self.opened = 0  # LMTP connections opened (not taken from the cache), for tests

    async def _lmtp_open(self, mail_from: str) -> AsyncLmtp:
        """An LMTP connection with MAIL given: a cached one when it still answers, else a new one."""
        cached = self.cache.take()
        if cached is not None:
            try:
                if (await cached.mail(mail_from or ""))[0] == 250:
                    return cached
            except (OSError, smtplib.SMTPException):
                pass
            except BaseException:  # cancelled: the SMTP client hung up meanwhile
                cached.close()
                raise
            cached.close()
        host, port = self.lmtp_addr()
        lmtp = await AsyncLmtp.connect(host, port)
        self.opened += 1
        try:
            code, msg = await lmtp.mail(mail_from or "")
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, msg, mail_from)
        except BaseException:
            lmtp.close()
            raise
        return lmtp

    async def _run(self, fn, *args):
        """A blocking helper in the default executor, never on the event loop."""
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname  # what aiosmtpd does itself when there is no hook
        if self.faults.pipelining:
            responses.insert(len(responses) - 1, "250-PIPELINING")  # before the last line, "250 HELP"
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        _close_lmtp(session)
        refusal = self.faults.over_message_limit(session.rig_carried)
        if refusal is not None:
            # Closed once the reply is written: aiosmtpd pushes it after this hook returns.
            asyncio.get_running_loop().call_soon(server.transport.close)
            return refusal
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RSET(self, server, session, envelope):
        _close_lmtp(session)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        f = self.faults.take("RCPT", [address])
        if f is not None:
            return f.reply()
        lmtp = getattr(session, "rig_lmtp", None)
        if lmtp is None:
            try:
                lmtp = await self._lmtp_open(envelope.mail_from)
            except smtplib.SMTPResponseException as e:
                return f"{e.smtp_code} {e.smtp_error.decode(errors='replace')}"
            except (OSError, smtplib.SMTPException) as e:
                log.info("LMTP unavailable at RCPT: %r", e)
                return "451 4.4.1 mailbox server unavailable, try again later"
            session.rig_lmtp = lmtp
        try:
            code, msg = await lmtp.rcpt(address)
        except (OSError, smtplib.SMTPException) as e:
            _close_lmtp(session)
            log.info("LMTP failed at RCPT: %r", e)
            return "451 4.4.1 mailbox server unavailable, try again later"
        if code // 100 == 2:
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
            return "250 OK"
        return f"{code} {msg.decode(errors='replace')}"

    def _settle_lost(self, rcpt: str, raw: bytes, reply: tuple[int, bytes]) -> tuple[int, bytes]:
        """A recipient whose LMTP reply was lost (Dovecot stopped mid-delivery) counts as delivered
        when the message is in its mailbox: a real MTA has the mail queued by then and never asks
        the client to send again what a recipient already has."""
        if reply != LOST or self.mailbox is None:
            return reply
        message_id = _message_id(raw)
        time.sleep(0.3)  # a delivery under way when the connection broke is renamed into new/ by now
        if message_id and _in_maildir(self.mailbox(rcpt), message_id):
            return (250, b"2.0.0 delivered (the reply was lost)")
        return reply

    async def handle_DATA(self, server, session, envelope):
        # A real MTA owns the message once the final dot is in: a client that hangs up before our
        # answer (a sender killed with -9) must not cut the delivery short. aiosmtpd cancels this
        # handler on EOF or a lost connection; unshielded, the cancel ran the LMTP QUIT in another
        # thread beside the DATA still being relayed, and Dovecot stored "quit" as the first header
        # line or dropped the message.
        return await asyncio.shield(self._deliver(server, session, envelope))

    async def _deliver(self, server, session, envelope):
        raw: bytes = envelope.original_content
        rcpts = list(envelope.rcpt_tos)
        f = self.faults.take("DATA", rcpts)
        lmtp = getattr(session, "rig_lmtp", None)
        session.rig_lmtp = None
        if f is not None:
            if lmtp is not None:
                lmtp.quit()
            return f.reply()
        if lmtp is None:  # e.g. after an LMTP error at a later RCPT; reconnect, re-add recipients
            try:
                lmtp = await self._lmtp_open(envelope.mail_from)
                ok = []
                for r in rcpts:
                    code, _msg = await lmtp.rcpt(r)
                    if code // 100 == 2:
                        ok.append(r)
            except (OSError, smtplib.SMTPException):
                if lmtp is not None:
                    lmtp.quit()
                return "451 4.4.1 mailbox server unavailable, try again later"
            if not ok:
                lmtp.quit()
                return "451 4.4.1 mailbox server refused the recipients, try again later"
            rcpts = ok
        try:
            replies = await lmtp.data(raw, len(rcpts))
        except (OSError, smtplib.SMTPException) as e:
            log.info("LMTP failed at DATA: %r", e)
            replies = [LOST] * len(rcpts)
        if LOST in replies:
            lmtp.quit()
            replies = [await self._run(self._settle_lost, r, raw, reply) for r, reply in zip(rcpts, replies)]
        else:
            self.cache.give(lmtp)  # every reply read: the connection is ready for the next MAIL
        if all(reply == LOST for reply in replies):
            return "451 4.4.1 delivery to mailbox server failed, try again later"
        delivered = [r for r, (code, _) in zip(rcpts, replies) if code // 100 == 2]
        if delivered:
            self.accepted.append((envelope.mail_from, delivered, raw))
            session.rig_carried += 1
        if delivered and self.faults.take("AFTER-DATA", rcpts) is not None:
            if server.transport is not None:  # the client may have hung up already
                server.transport.abort()  # delivered, but the client never hears so
            return "250 OK delivered (never seen: connection dropped)"
        if len(delivered) == len(rcpts):
            return "250 OK delivered"
        if delivered:
            # SMTP has one reply per transaction: a real MTA would bounce for the others; we log it
            log.warning("partial LMTP delivery: %s", list(zip(rcpts, replies)))
            return "250 OK partially delivered"
        code, msg = replies[0]
        return f"{code} {msg.decode(errors='replace')}"


LOST = (451, b"4.4.1 connection lost")  # no LMTP reply came for a recipient


def _message_id(raw: bytes) -> bytes:
    match = re.search(rb"^message-id:[ \t]*(<[^>\r\n]+>)", raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0],
                      re.IGNORECASE | re.MULTILINE)
    return match.group(1) if match else b""


def _in_maildir(maildir: Path, message_id: bytes) -> bool:
    """Whether a delivered message (new/ or cur/, never tmp/) carries `message_id`."""
    for sub in ("new", "cur"):
        for path in (maildir / sub).glob("*") if (maildir / sub).is_dir() else ():
            try:
                head = path.read_bytes()[:16384]
            except OSError:
                continue
            if message_id in head:
                return True
    return False


class _RigController(Controller):
    def __init__(self, handler, *, faults: SmtpFaults, **kw):
        self._faults = faults
        super().__init__(handler, **kw)

    def factory(self):
        return _RigSMTP(self.handler, faults=self._faults, **self.SMTP_kwargs)


class SmtpServers:
    """The submission listener (STARTTLS + AUTH required) and the plain loopback listener."""

    def __init__(self, host: str, port: int, plain_port: int, tls_context: ssl.SSLContext,
                 user: str, password: str, lmtp_addr: Callable[[], tuple[str, int]],
                 mailbox: Callable[[str], Path] | None = None):
        self.host = host
        self.port = port
        self.plain_port = plain_port
        self.user = user
        self.password = password
        self.faults = SmtpFaults()
        self.accepted = SmtpAccepted()
        self.handler = LmtpRelayHandler(lmtp_addr, self.faults, self.accepted, mailbox)
        common = dict(
            hostname=host,
            server_hostname="rig.test",  # avoids socket.getfqdn() (slow DNS)
            data_size_limit=64 * 1024 * 1024,
            enable_SMTPUTF8=True,
            ready_timeout=5.0,
            faults=self.faults,
        )
        self.submission = _RigController(
            self.handler, port=port, tls_context=tls_context, require_starttls=True,
            authenticator=self._authenticate, auth_required=True, auth_require_tls=True, **common)
        self.plain = _RigController(self.handler, port=plain_port, **common)

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            ok = (auth_data.login.decode(errors="replace") == self.user
                  and auth_data.password.decode(errors="replace") == self.password)
            return AuthResult(success=ok, handled=False)
        return AuthResult(success=False, handled=False)

    def start(self) -> None:
        self.submission.start()
        try:
            self.plain.start()
        except Exception:
            self.submission.stop()
            raise

    def stop(self) -> None:
        # The idle LMTP connections are closed by their loops, which run until the controllers stop.
        self.handler.cache.clear()
        for c in (self.plain, self.submission):
            try:
                c.stop(no_assert=True)
            except Exception:  # noqa: BLE001
                log.exception("stopping SMTP controller")
        self.handler.cache.clear()  # any given back meanwhile
