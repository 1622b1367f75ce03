"""Transports hand one finished message to the outside world: SMTP, or a Maildir when embedded.

Failure contract (the outbox sender retries on `permanent=False` and stops on `permanent=True`):
- DeliveryError(permanent=False): 4xx, network errors, timeouts, dropped connections, a greeting
  refused (that says nothing about this message). Nothing was delivered; retry later.
- DeliveryError(permanent=True): 5xx for the sender or the data, authentication failed (535),
  TLS certificate not verified, STARTTLS or AUTH not offered. Retrying will not help. A 5xx whose
  text only asks for a slower pace (NetEase's "MI:SFQ", Tencent's "frequency limited") is not
  permanent: see refusal_is_permanent.
- RecipientsRefused (a DeliveryError): some or all recipients were refused at RCPT. `refused` maps
  each refused address to (code, text); `accepted` lists who HAS the message already: retry or fail
  only the refused ones, never resend to `accepted`. `permanent` is True only if every refusal is 5xx.
- OutcomeUnknown (a DeliveryError): the connection broke after the final dot was sent, before the
  server's answer. The server may have the message; only its sent copy (bot.outbox.confirm) can tell.
- ConnectFailed (a DeliveryError, never permanent): no connection could be opened and greeted
  (refused, dropped, a 4xx at the greeting, EHLO, STARTTLS or AUTH), so no part of the message
  left. A server that caps the connections one account may hold at once says so this way; the
  outbox's sender threads then send on over the connections they have (bot.service.daemon).

A server that ends the session before a message begins (it hung up while we were not looking, or
it answers MAIL FROM with 421 once a connection has carried the messages it allows) gets that
message again at once over a new connection: nothing of it was taken, so this is no failure.

Sent copy: with `sent_copy` on, every message also names our own address (the envelope sender) as
one more recipient of the same transaction, so a copy reaches our mailbox exactly when the server
accepted the message. That is the proof the outbox needs after a crash at the final dot.
"""

from __future__ import annotations

import hashlib
import logging
import re
import smtplib
import socket
import ssl
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Protocol, runtime_checkable

from bot.errors import DeliveryError, MailboxError
from bot.mailbox.maildir import MaildirSink
from bot.message.decode import decode_8bit
from bot.tls import check_security, tls_context

log = logging.getLogger(__name__)

# A sender thread runs these over every message while it holds the GIL the intake needs: as
# regular expressions over a 60 KB referral they took ~0.5 and ~0.2 ms, as below ~0.07 and ~0.05.

def crlf(raw: bytes) -> bytes:
    """Every line ended by CRLF (SMTP wants it; servers hardened against smuggling refuse a bare
    LF). A CRLF stays as it is and a lone CR is left alone, as `(?<!\\r)\\n` -> CRLF would."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def dot_stuffed(data: bytes) -> bytes:
    """A line that starts with a dot gets another one (RFC 5321 4.5.2), as smtplib.data() does."""
    if data.startswith(b".") or b"\n." in data:
        return smtplib._quote_periods(data)
    return data


@runtime_checkable
class Transport(Protocol):
    """Sends one message; raises DeliveryError as described in the module docstring.

    `confirm_grace`: how long a mail whose final dot went unanswered waits for its sent copy
    (bot.outbox.confirm) before it is sent again; None when the transport needs no such proof."""

    @property
    def confirm_grace(self) -> timedelta | None: ...

    def send(self, raw: bytes, mail_from: str, rcpt_to: list[str], before_dot=None) -> None: ...

    def close(self) -> None: ...


def grace_of(transport: Transport) -> timedelta | None:
    """The transport's sent-copy grace. A transport that does not say (a wrapper that only adds
    delay or faults around a real one) needs no proof of delivery."""
    return getattr(transport, "confirm_grace", None)


class OutcomeUnknown(DeliveryError):
    """The final dot went out and the answer did not come back: delivered or not, nobody knows yet."""


class ConnectFailed(DeliveryError):
    """No connection could be opened and greeted, for a reason that may pass: nothing was sent."""


# Providers answer a sender who goes too fast with a 5xx as often as with a 4xx (NetEase:
# "550 MI:SFQ" (the sender's quota per 15 minutes), Tencent: "550 Ip frequency limited",
# "550 Connection frequency limited"). Such a refusal is about our pace, not about the message or a
# recipient: it is temporary, or a backlog morning would fail every answer after the quota and set
# each enterprise's address aside for days.
_PACE = re.compile(r"frequency|too frequent|\brate[ -]?limit|too many (?:messages|mails|connections)|"
                   r"too much mail|MI:SFQ|频率|频繁|过快", re.IGNORECASE)


def refusal_is_permanent(code: int, text: str) -> bool:
    """A 5xx, unless its text says the server only wants a slower pace."""
    return code >= 500 and not _PACE.search(text)


class RecipientsRefused(DeliveryError):
    """Some or all recipients were refused; `accepted` ones already have the message."""

    def __init__(self, refused: dict[str, tuple[int, str]], accepted: list[str]):
        self.refused = refused
        self.accepted = accepted
        listed = "; ".join(f"{rcpt}: {code} {text}" for rcpt, (code, text) in refused.items())
        kind = "all recipients" if not accepted else f"{len(refused)} of {len(refused) + len(accepted)} recipients"
        super().__init__(f"RCPT TO refused for {kind}: {listed}",
                         permanent=all(refusal_is_permanent(c, t) for c, t in refused.values()))


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to submit mail; `helo` None means this machine's host name."""

    host: str
    port: int
    security: str = "starttls"  # "tls" (implicit), "starttls" or "plain" (loopback only)
    username: str | None = None  # None: no AUTH
    password: str | None = field(default=None, repr=False)  # repr=False: never in logs
    cafile: str | Path | None = None  # None: the system trust store
    timeout: float = 30.0
    helo: str | None = None
    sent_copy: bool = False  # also deliver each message to the envelope sender (our mailbox)
    confirm_grace: float = 30.0  # seconds the outbox waits for that copy before sending again

    def __post_init__(self) -> None:
        check_security(self.security, self.host, "smtp")


IDLE_CHECK = 5.0  # seconds idle after which the connection is checked with NOOP


class SmtpTransport:
    """smtplib with one connection reused across sends; not thread-safe (one per sender thread)."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self._context = tls_context(settings.security, settings.cafile, "smtp")
        self._smtp: smtplib.SMTP | None = None
        self._last_used = 0.0
        self._carried = 0  # messages the open connection has taken

    @property
    def confirm_grace(self) -> timedelta | None:
        """How long a sent copy may take to arrive; None when no copy is sent (nothing to wait for)."""
        return timedelta(seconds=self.settings.confirm_grace) if self.settings.sent_copy else None

    def send(self, raw: bytes, mail_from: str, rcpt_to: list[str], before_dot=None) -> None:
        """`before_dot()` runs after the whole message is transmitted and before the final dot:
        the caller records "sent" there, so a crash leaves either a message the server discards
        (no dot yet: safe to send again) or one recorded as sent - never a silent duplicate."""
        if not rcpt_to:
            raise DeliveryError("no recipients given", permanent=True)
        smtp = self._connection()
        data = crlf(raw)
        options = ["BODY=8BITMIME"] if not data.isascii() and smtp.has_extn("8bitmime") else []
        reached = []  # set once the point of no return is passed: then never send again here
        copy_to = mail_from if self.settings.sent_copy and mail_from.lower() not in {
            r.lower() for r in rcpt_to} else None

        def mark() -> None:
            reached.append(True)
            if before_dot is not None:
                before_dot()

        try:
            try:
                refused = _transaction(smtp, mail_from, rcpt_to, data, options, mark, copy_to)
            except (smtplib.SMTPServerDisconnected, smtplib.SMTPSenderRefused) as exc:
                if reached or not _session_ended(exc, self._carried):
                    raise
                # The server ended the session before this message: it closed a connection we had
                # not checked (we skip the NOOP while mail flows), or it answered MAIL FROM with 421
                # after the messages it takes on one connection (Exim's smtp_accept_max_per_connection).
                # Nothing of this message was accepted, so one fresh try is safe.
                self.close()
                smtp = self._connection()
                refused = _transaction(smtp, mail_from, rcpt_to, data, options, mark, copy_to)
            self._carried += 1
        except smtplib.SMTPRecipientsRefused as exc:
            raise RecipientsRefused(_decoded(exc.recipients), accepted=[]) from exc
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code == 421:  # the server is closing the connection
                self.close()
            stage = "MAIL FROM" if isinstance(exc, smtplib.SMTPSenderRefused) else "DATA"
            raise _response_error(stage, exc) from exc
        except (OSError, smtplib.SMTPException) as exc:  # dropped, timed out
            self.close()
            if reached:  # after the final dot: the server may have accepted it
                raise OutcomeUnknown(f"connection to {self._where()} lost after the final dot: {exc}",
                                     permanent=False) from exc
            raise DeliveryError(f"sending to {self._where()} failed: {exc}", permanent=False) from exc
        if refused:
            accepted = [rcpt for rcpt in rcpt_to if rcpt not in refused]
            raise RecipientsRefused(_decoded(refused), accepted=accepted)

    def probe(self) -> None:
        """Connect, say EHLO, upgrade to TLS and log in as a send would; DeliveryError if not."""
        try:
            self._connection()
        finally:
            self.close()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()

    def _connection(self) -> smtplib.SMTP:
        # A NOOP saves sending into a connection the server closed while we were idle; while mail
        # flows the connection was just used, and the round trip per mail is not worth it.
        idle = time.monotonic() - self._last_used
        if self._smtp is not None and idle > IDLE_CHECK and not _alive(self._smtp):
            self.close()
        if self._smtp is None:
            try:
                self._smtp, self._carried = self._connect(), 0
            except DeliveryError as exc:
                if exc.permanent:  # a certificate, STARTTLS or AUTH not offered, 535: say so as it is
                    raise
                raise ConnectFailed(str(exc), permanent=False) from exc
        self._last_used = time.monotonic()
        return self._smtp

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        helo = s.helo or socket.gethostname()  # smtplib's default getfqdn() can stall on DNS
        try:
            if s.security == "tls":
                smtp = smtplib.SMTP_SSL(s.host, s.port, local_hostname=helo, timeout=s.timeout, context=self._context)
            else:
                smtp = smtplib.SMTP(s.host, s.port, local_hostname=helo, timeout=s.timeout)
        except (OSError, smtplib.SMTPException) as exc:
            raise _connect_error(self._where(), exc) from exc
        # Without TCP_NODELAY a mail over ~16 KB waits ~40 ms for a delayed ACK (Nagle): 4x slower.
        smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self._greet(smtp)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _greet(self, smtp: smtplib.SMTP) -> None:
        s = self.settings
        stage = "EHLO"
        try:
            smtp.ehlo()
            if s.security == "starttls":
                stage = "STARTTLS"
                if not smtp.has_extn("starttls"):
                    raise DeliveryError(f"STARTTLS not offered by {self._where()}; refusing to send in clear", permanent=True)
                smtp.starttls(context=self._context)
                smtp.ehlo()
            if s.username:
                stage = "AUTH"
                smtp.login(s.username, s.password or "")
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(f"{stage} failed: {self._where()} does not offer it ({exc})", permanent=True) from exc
        except smtplib.SMTPAuthenticationError as exc:
            text = _text(exc.smtp_error)
            raise DeliveryError(
                f"authentication failed for {s.username} at {self._where()}: {exc.smtp_code} {text}",
                permanent=refusal_is_permanent(exc.smtp_code, text),
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise _response_error(stage, exc) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise _connect_error(self._where(), exc) from exc

    def _where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"


class MaildirTransport:
    """The embedded default's outbox: each message becomes a file; fails only on disk errors.
    Delivery is idempotent per message (named by its content), so a resend after a crash is a no-op."""

    confirm_grace = None  # delivery is idempotent: a resend after a crash needs no proof

    def __init__(self, root: Path):
        self.sink = MaildirSink(root)

    def send(self, raw: bytes, mail_from: str, rcpt_to: list[str], before_dot=None) -> None:
        # Keep the envelope, as a local delivery agent does: the Maildir has no other place for it.
        newline = b"\r\n" if b"\r\n" in raw[:1000] else b"\n"
        envelope = b"Return-Path: <" + mail_from.encode() + b">" + newline
        envelope += b"X-Envelope-To: " + ", ".join(rcpt_to).encode() + newline
        try:
            self.sink.deliver_once(envelope + raw, key=hashlib.sha256(raw).hexdigest())
        except MailboxError as exc:
            raise DeliveryError(f"outbox Maildir: {exc}", permanent=False) from exc
        if before_dot is not None:
            before_dot()

    def close(self) -> None:
        pass  # nothing held open


def _transaction(smtp: smtplib.SMTP, mail_from: str, rcpt_to: list[str], data: bytes,
                 options: list[str], before_dot, copy_to: str | None = None) -> dict:
    """smtplib.sendmail, with a hook just before the final dot (the point of no return) and
    `copy_to` as one more recipient whose refusal is logged, not reported: it is our own copy.
    Returns the refused recipients (some of them; all refused raises)."""
    smtp.ehlo_or_helo_if_needed()
    if smtp.has_extn("pipelining"):
        replies = _pipelined(smtp, mail_from, rcpt_to, options, copy_to)
    else:
        replies = _one_by_one(smtp, mail_from, rcpt_to, options, copy_to)
    refused = _envelope_outcome(smtp, mail_from, rcpt_to, copy_to, replies)
    body = dot_stuffed(data)
    smtp.send(body if body.endswith(b"\r\n") else body + b"\r\n")
    if before_dot is not None:
        try:
            before_dot()
        except BaseException:
            smtp.close()  # without the dot the server discards the message
            raise
    smtp.send(b".\r\n")
    code, resp = smtp.getreply()
    if code != 250:
        _abort(smtp, code)
        raise smtplib.SMTPDataError(code, resp)
    return refused


Reply = tuple[int, bytes]


def _one_by_one(smtp: smtplib.SMTP, mail_from: str, rcpt_to: list[str], options: list[str],
                copy_to: str | None) -> list[Reply]:
    """MAIL, each RCPT, our copy's RCPT and DATA, each sent once the reply before it is in: no
    RCPT after a refused MAIL, no copy and no DATA when every recipient was refused, nothing
    after a 421 (the server is closing)."""
    replies = [smtp.mail(mail_from, options)]
    if replies[0][0] != 250:
        return replies
    for rcpt in rcpt_to:
        replies.append(smtp.rcpt(rcpt))
        if replies[-1][0] == 421:
            return replies
    if all(code not in (250, 251) for code, _ in replies[1:]):
        return replies
    if copy_to is not None:
        replies.append(smtp.rcpt(copy_to))
        if replies[-1][0] == 421:
            return replies
    smtp.putcmd("data")
    replies.append(smtp.getreply())
    return replies


def _pipelined(smtp: smtplib.SMTP, mail_from: str, rcpt_to: list[str], options: list[str],
               copy_to: str | None) -> list[Reply]:
    """RFC 2920, for a server that offers PIPELINING: MAIL, every RCPT and DATA in one write, and
    their replies read in order (one round trip before the message instead of four or five: on a
    provider's server across the internet, most of a mail's sending time). Reading stops after a
    421: the server closes the connection then."""
    extra = (" " + " ".join(options)) if options else ""
    commands = [f"mail FROM:{smtplib.quoteaddr(mail_from)}{extra}"]
    commands += [f"rcpt TO:{smtplib.quoteaddr(rcpt)}" for rcpt in [*rcpt_to, *([copy_to] if copy_to else [])]]
    commands.append("data")
    smtp.send("".join(f"{command}\r\n" for command in commands))
    replies: list[Reply] = []
    while len(replies) < len(commands) and (not replies or replies[-1][0] != 421):
        try:
            replies.append(smtp.getreply())
        except smtplib.SMTPServerDisconnected:
            if len(replies) < len(commands) - 1:
                raise
            # Exim closes the connection in response to a pipelined DATA when no recipient was
            # good: the RCPT replies are in, and they are what the sender must hear.
            replies.append((421, b"connection closed in response to DATA"))
    return replies


def _envelope_outcome(smtp: smtplib.SMTP, mail_from: str, rcpt_to: list[str], copy_to: str | None,
                      replies: list[Reply]) -> dict:
    """What the replies to MAIL, the RCPTs and DATA mean, however they were sent: the refused
    recipients when the server waits for the message (354); else the transaction is ended (RSET,
    or the connection closed when the server closes it or waits for a message we will not send)
    and the refusal raised."""
    mail, rcpts, rest = replies[0], replies[1:1 + len(rcpt_to)], replies[1 + len(rcpt_to):]
    if mail[0] != 250:
        _abandon(smtp, replies)
        raise smtplib.SMTPSenderRefused(mail[0], mail[1], mail_from)
    refused = {rcpt: reply for rcpt, reply in zip(rcpt_to, rcpts) if reply[0] not in (250, 251)}
    if any(code == 421 for code, _ in rcpts):  # the last reply read: the server is closing
        _abandon(smtp, replies)
        raise smtplib.SMTPRecipientsRefused(refused)
    if len(refused) == len(rcpt_to):
        _abandon(smtp, replies)
        raise smtplib.SMTPRecipientsRefused(refused)
    if copy_to is not None:
        (code, resp), rest = rest[0], rest[1:]
        if code == 421:
            _abandon(smtp, replies)
            raise smtplib.SMTPServerDisconnected(f"421 at RCPT: {_text(resp)}")
        if code not in (250, 251):
            log.warning("SENT-COPY refused for %s: %s %s; this mail cannot be confirmed by its copy",
                        copy_to, code, _text(resp))
    code, resp = rest[0]
    if code != 354:
        _abandon(smtp, replies)
        raise smtplib.SMTPDataError(code, resp)
    return refused


def _abandon(smtp: smtplib.SMTP, replies: list[Reply]) -> None:
    """End a transaction that will carry no message. A server that answered DATA with 354 (the
    pipelined DATA of a mail whose recipients were all refused but our copy) waits for the
    message: only closing the connection makes it discard one; RSET would be taken as its text."""
    if replies[-1][0] == 354:
        smtp.close()
    else:
        _abort(smtp, replies[-1][0])


def _session_ended(exc: smtplib.SMTPException, carried: int) -> bool:
    """Whether the server ended the session before a message began: it hung up, or it answered
    MAIL FROM with 421 on a connection that has carried mail already (on a fresh one, a 421 says
    the server takes nothing now, and trying again at once would not help)."""
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    return exc.smtp_code == 421 and carried > 0


def _abort(smtp: smtplib.SMTP, code: int) -> None:
    if code == 421:
        smtp.close()
    else:
        try:
            smtp.rset()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _alive(smtp: smtplib.SMTP) -> bool:
    try:
        return smtp.noop()[0] == 250
    except (OSError, smtplib.SMTPException):
        return False


def _response_error(stage: str, exc: smtplib.SMTPResponseException) -> DeliveryError:
    text = _text(exc.smtp_error)
    return DeliveryError(f"{stage} refused: {exc.smtp_code} {text}",
                         permanent=refusal_is_permanent(exc.smtp_code, text))


def _connect_error(where: str, exc: BaseException) -> DeliveryError:
    if isinstance(exc, ssl.SSLCertVerificationError):
        # Not the message's fault, but retrying cannot fix a certificate: stop and tell the admin.
        return DeliveryError(f"TLS to {where} failed: certificate verification failed: {exc.verify_message}", permanent=True)
    if isinstance(exc, smtplib.SMTPConnectError):
        # A refused greeting (421, 554) is about the server, not this message: retry later.
        return DeliveryError(f"connect to {where} refused: {exc.smtp_code} {_text(exc.smtp_error)}", permanent=False)
    return DeliveryError(f"connect to {where} failed: {exc}", permanent=False)


def _decoded(refused: dict[str, tuple[int, bytes]]) -> dict[str, tuple[int, str]]:
    return {rcpt: (code, _text(text)) for rcpt, (code, text) in refused.items()}


def _text(value: bytes | str) -> str:
    """A server's reply text: UTF-8, or GB18030 as Chinese servers write it."""
    return decode_8bit(value) if isinstance(value, bytes) else str(value)
