"""SmtpTransport against the rig's aiosmtpd servers, which deliver into the real Dovecot."""

from __future__ import annotations

import random
import re
import smtplib
import time
from dataclasses import replace

import pytest

from bot.errors import ConfigError, DeliveryError
from bot.outbox.transport import (
    MaildirTransport,
    RecipientsRefused,
    SmtpSettings,
    SmtpTransport,
    Transport,
    crlf,
    dot_stuffed,
    refusal_is_permanent,
)

SENDER = "intake@rb.test"
ENT1, ENT2 = "ent1@corp.test", "ent2@corp.test"


def mail(subject: str, to: str = ENT1) -> bytes:
    return (
        f"From: {SENDER}\r\nTo: {to}\r\nMessage-ID: <{time.time_ns()}@rb.test>\r\n"
        f"Subject: {subject}\r\nAuto-Submitted: auto-replied\r\n\r\n受理回执 {subject}\r\n"
    ).encode()


def submission(rig, **changes) -> SmtpSettings:
    base = SmtpSettings(
        host=rig.host,
        port=rig.smtp_port,
        security="starttls",
        username=rig.smtp_user,
        password=rig.smtp_password,
        cafile=rig.ca_file,
        timeout=10,
        helo="rb.test",
    )
    return replace(base, **changes)


@pytest.fixture(params=["pipelining", "one-by-one"])
def offered(request, clean_mail) -> str:
    """Each test of a transport runs against a server that offers PIPELINING (RFC 2920) and one
    that does not: the envelope is then sent in one write, or command by command."""
    clean_mail.smtp_faults.clear()
    clean_mail.smtp_faults.offer_pipelining(request.param == "pipelining")
    yield request.param
    clean_mail.smtp_faults.clear()


@pytest.fixture
def transport(offered, clean_mail):
    smtp = SmtpTransport(submission(clean_mail))
    yield smtp
    smtp.close()


def received(rig, address: str, n: int = 1) -> list[bytes]:
    return rig.wait_for_messages(address, n)


def test_both_transports_fit_the_protocol(transport, tmp_path):
    assert isinstance(transport, Transport)
    assert isinstance(MaildirTransport(tmp_path), Transport)


def test_starttls_auth_delivers_and_reuses_connection(transport, clean_mail):
    transport.send(mail("one"), SENDER, [ENT1])
    connection = transport._smtp
    transport.send(mail("two"), SENDER, [ENT1])
    assert transport._smtp is connection  # one session for many mails
    messages = received(clean_mail, ENT1, 2)
    assert b"Subject: one" in messages[0] and b"Subject: two" in messages[1]
    assert "受理回执 one".encode() in messages[0]  # 8-bit body arrives intact


def test_reconnects_when_connection_was_dropped(transport, clean_mail):
    transport.send(mail("before"), SENDER, [ENT1])
    transport._smtp.sock.close()  # the server went away between two sends
    transport.send(mail("after"), SENDER, [ENT1])
    assert len(received(clean_mail, ENT1, 2)) == 2


def test_bare_newlines_are_sent_as_crlf(transport, clean_mail):
    transport.send(mail("lf").replace(b"\r\n", b"\n"), SENDER, [ENT1])
    (_, _, raw), = clean_mail.smtp_accepted
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")


def test_lines_starting_with_a_dot_arrive_as_written(transport, clean_mail):
    """Dot-stuffing: the server removes the extra dot again, and "." alone does not end the data."""
    body = "第一行\r\n.\r\n.以点开头的一行\r\n..两个点\r\n"
    raw = mail("dots").replace("受理回执 dots".encode(), body.encode())
    transport.send(raw, SENDER, [ENT1])
    (_, _, got), = clean_mail.smtp_accepted
    assert got.split(b"\r\n\r\n", 1)[1] == body.encode() + b"\r\n"  # mail() ends the body with one more


# The regular expressions the two helpers replace (the first was ours, the second is smtplib's).
BARE_LF = re.compile(rb"(?<!\r)\n")


def test_crlf_and_dot_stuffing_do_what_the_regular_expressions_did():
    pieces = [b"\r", b"\n", b"\r\n", b".", b"..", b"a", "点".encode()]
    rnd = random.Random(12)
    for _ in range(5000):
        data = b"".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 12)))
        assert crlf(data) == BARE_LF.sub(b"\r\n", data), data
        assert dot_stuffed(crlf(data)) == smtplib._quote_periods(crlf(data)), data


@pytest.mark.parametrize(("code", "text"), [
    (451, "4.3.0 try later"),
    # A 5xx that only asks for a slower pace: NetEase, Tencent, a generic rate limit.
    (550, "MI:SFQ sender quota per 15 minutes exceeded, slow down"),
    (550, "Ip frequency limited"),
    (550, "5.7.1 rate limit exceeded"),
])
def test_a_refusal_at_data_for_now_is_temporary_then_recovers(transport, clean_mail, code, text):
    clean_mail.smtp_faults.set(code=code, text=text, phase="DATA", times=1)
    with pytest.raises(DeliveryError) as caught:
        transport.send(mail("retry"), SENDER, [ENT1])
    assert caught.value.permanent is False
    assert f"{code} {text}" in str(caught.value)
    transport.send(mail("retry"), SENDER, [ENT1])
    assert len(received(clean_mail, ENT1)) == 1


def test_554_at_data_is_permanent(transport, clean_mail):
    clean_mail.smtp_faults.set(code=554, text="5.7.1 rejected", phase="DATA", times=1)
    with pytest.raises(DeliveryError) as caught:
        transport.send(mail("rejected"), SENDER, [ENT1])
    assert caught.value.permanent is True


def test_550_for_one_of_two_recipients_reports_just_that_one(transport, clean_mail):
    clean_mail.smtp_faults.set(code=550, text="5.1.1 no such user", phase="RCPT", recipients={ENT2})
    with pytest.raises(RecipientsRefused) as caught:
        transport.send(mail("both", to=f"{ENT1}, {ENT2}"), SENDER, [ENT1, ENT2])
    error = caught.value
    assert isinstance(error, DeliveryError) and error.permanent is True
    assert error.refused == {ENT2: (550, "5.1.1 no such user")}
    assert error.accepted == [ENT1]
    assert len(received(clean_mail, ENT1)) == 1
    assert clean_mail.messages(ENT2) == []


def test_all_recipients_refused_is_permanent(transport, clean_mail):
    clean_mail.smtp_faults.set(code=550, text="5.1.1 no such user", phase="RCPT")
    with pytest.raises(RecipientsRefused) as caught:
        transport.send(mail("none"), SENDER, [ENT1, ENT2])
    assert caught.value.permanent is True
    assert set(caught.value.refused) == {ENT1, ENT2} and caught.value.accepted == []


def test_450_for_one_recipient_is_temporary_for_that_one(transport, clean_mail):
    clean_mail.smtp_faults.set(code=450, text="4.2.1 busy", phase="RCPT", recipients={ENT2})
    with pytest.raises(RecipientsRefused) as caught:
        transport.send(mail("busy"), SENDER, [ENT1, ENT2])
    assert caught.value.permanent is False
    assert caught.value.refused == {ENT2: (450, "4.2.1 busy")} and caught.value.accepted == [ENT1]


def test_unknown_mailbox_refused_by_dovecot(transport, clean_mail):
    with pytest.raises(RecipientsRefused) as caught:
        transport.send(mail("ghost"), SENDER, ["ghost@corp.test"])
    assert caught.value.permanent is True
    assert caught.value.refused["ghost@corp.test"][0] == 550


@pytest.mark.parametrize("code", [421, 554, None])
def test_refused_or_dropped_connection_is_temporary(transport, clean_mail, code):
    clean_mail.smtp_faults.set(code=code, text="4.3.2 not now" if code == 421 else "no service", phase="CONNECT", times=1)
    with pytest.raises(DeliveryError) as caught:
        transport.send(mail("later"), SENDER, [ENT1])
    assert caught.value.permanent is False
    transport.send(mail("later"), SENDER, [ENT1])  # the next attempt connects afresh
    assert len(received(clean_mail, ENT1)) == 1


def test_nothing_listening_is_temporary(clean_mail):
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        settings = submission(clean_mail, port=closed.getsockname()[1])
        with pytest.raises(DeliveryError) as caught:
            SmtpTransport(settings).send(mail("x"), SENDER, [ENT1])
    assert caught.value.permanent is False


def test_plaintext_to_loopback(clean_mail):
    settings = SmtpSettings(host=clean_mail.host, port=clean_mail.smtp_plain_port, security="plain", helo="rb.test")
    smtp = SmtpTransport(settings)
    smtp.send(mail("plain"), SENDER, [ENT1])
    smtp.close()
    assert len(received(clean_mail, ENT1)) == 1


def test_plaintext_to_remote_host_is_refused():
    with pytest.raises(ConfigError, match="plain"):
        SmtpSettings(host="smtp.example.com", port=25, security="plain")


def test_wrong_password_is_permanent_authentication_failure(clean_mail):
    smtp = SmtpTransport(submission(clean_mail, password="wrong"))
    with pytest.raises(DeliveryError, match="authentication failed") as caught:
        smtp.send(mail("x"), SENDER, [ENT1])
    assert caught.value.permanent is True
    assert "535" in str(caught.value)
    assert "wrong" not in str(caught.value)


def test_certificate_not_trusted_without_cafile(clean_mail):
    smtp = SmtpTransport(submission(clean_mail, cafile=None))
    with pytest.raises(DeliveryError, match="certificate verification failed") as caught:
        smtp.send(mail("x"), SENDER, [ENT1])
    assert caught.value.permanent is True


def test_password_not_in_repr(clean_mail):
    assert clean_mail.smtp_password not in repr(submission(clean_mail))


# -- the sent copy (bot.outbox.confirm) ------------------------------------------------------------

@pytest.fixture
def copying(offered, clean_mail):
    smtp = SmtpTransport(submission(clean_mail, sent_copy=True, confirm_grace=7))
    yield smtp
    smtp.close()


def test_sent_copy_reaches_our_own_mailbox_in_the_same_transaction(copying, clean_mail):
    assert copying.confirm_grace.total_seconds() == 7
    raw = mail("copy")
    copying.send(raw, SENDER, [ENT1])
    assert len(received(clean_mail, ENT1)) == 1
    [copy] = received(clean_mail, SENDER)
    assert copy.replace(b"\r\n", b"\n").endswith(raw.replace(b"\r\n", b"\n"))  # the very same mail
    [(_from, rcpts, _raw)] = clean_mail.smtp_accepted.snapshot()
    assert rcpts == [ENT1, SENDER]  # one transaction: the copy arrives exactly when the mail does


def test_no_copy_when_switched_off(transport, clean_mail):
    assert transport.confirm_grace is None
    transport.send(mail("no copy"), SENDER, [ENT1])
    assert len(received(clean_mail, ENT1)) == 1
    [(_from, rcpts, _raw)] = clean_mail.smtp_accepted.snapshot()
    assert rcpts == [ENT1]


def test_a_refused_copy_is_not_a_refused_recipient(copying, clean_mail):
    clean_mail.smtp_faults.set(code=550, text="5.2.2 mailbox full", phase="RCPT", recipients={SENDER})
    copying.send(mail("copy refused"), SENDER, [ENT1])  # no error: the enterprise has its mail
    assert len(received(clean_mail, ENT1)) == 1
    assert clean_mail.messages(SENDER) == []


def test_all_real_recipients_refused_sends_no_lone_copy(copying, clean_mail):
    clean_mail.smtp_faults.set(code=550, text="5.1.1 no such user", phase="RCPT", recipients={ENT1})
    with pytest.raises(RecipientsRefused) as caught:
        copying.send(mail("nobody"), SENDER, [ENT1])
    assert caught.value.refused == {ENT1: (550, "5.1.1 no such user")} and caught.value.accepted == []
    time.sleep(0.3)
    assert clean_mail.messages(SENDER) == [] and len(clean_mail.smtp_accepted) == 0


def _writes(monkeypatch) -> list[bytes]:
    """What the client writes to the server, one item per write (after the greeting and login)."""
    writes: list[bytes] = []
    real = smtplib.SMTP.send

    def send(self, s):
        writes.append(s.encode("ascii") if isinstance(s, str) else bytes(s))
        return real(self, s)

    monkeypatch.setattr(smtplib.SMTP, "send", send)
    return writes


def test_the_envelope_goes_in_one_write_where_the_server_offers_pipelining(copying, clean_mail, offered,
                                                                          monkeypatch):
    copying.probe()  # greeting, STARTTLS and login are not part of what is counted
    writes = _writes(monkeypatch)
    copying.send(mail("pipelined?"), SENDER, [ENT1, ENT2])
    envelope = [w.lower() for w in writes if w.lower().startswith((b"mail from", b"rcpt to", b"data"))]
    if offered == "pipelining":
        assert envelope == [b"mail from:<intake@rb.test> body=8bitmime\r\nrcpt to:<ent1@corp.test>\r\n"
                            b"rcpt to:<ent2@corp.test>\r\nrcpt to:<intake@rb.test>\r\ndata\r\n"]
    else:
        assert [w.split(b":")[0].split(b"\r")[0] for w in envelope] == [
            b"mail from", b"rcpt to", b"rcpt to", b"rcpt to", b"data"]
    assert len(received(clean_mail, ENT1)) == 1 and len(received(clean_mail, ENT2)) == 1
    [(_from, rcpts, _raw)] = clean_mail.smtp_accepted.snapshot()
    assert rcpts == [ENT1, ENT2, SENDER]


def test_after_a_mail_whose_recipients_were_all_refused_the_next_one_goes(copying, clean_mail):
    """Pipelined, DATA was answered 354 for the copy alone: the connection is closed unsent, and
    the next mail goes over a new one."""
    clean_mail.smtp_faults.set(code=550, text="5.1.1 no such user", phase="RCPT", recipients={ENT2}, times=1)
    with pytest.raises(RecipientsRefused):
        copying.send(mail("nobody"), SENDER, [ENT2])
    copying.send(mail("somebody"), SENDER, [ENT1])
    [delivered] = received(clean_mail, ENT1)
    assert b"Subject: somebody" in delivered
    time.sleep(0.3)
    assert clean_mail.messages(ENT2) == [] and len(received(clean_mail, SENDER)) == 1


def test_a_connection_lost_after_the_dot_is_an_unknown_outcome(copying, clean_mail):
    from bot.outbox.transport import OutcomeUnknown

    clean_mail.smtp_faults.set(code=None, phase="AFTER-DATA", times=1)
    marks = []
    with pytest.raises(OutcomeUnknown) as caught:
        copying.send(mail("dropped"), SENDER, [ENT1], before_dot=lambda: marks.append("dot"))
    assert marks == ["dot"] and caught.value.permanent is False
    assert len(received(clean_mail, ENT1)) == 1  # it did arrive; only the copy can tell the outbox
    assert len(received(clean_mail, SENDER)) == 1


def test_a_server_that_ends_a_session_after_so_many_messages_gets_the_next_on_a_fresh_one(transport, clean_mail):
    """Exim's smtp_accept_max_per_connection: MAIL FROM after the limit gets 421 and the connection
    closes. Nothing of that message was taken, so it goes at once over a new connection."""
    clean_mail.smtp_faults.limit_messages(2)
    for n in range(5):
        transport.send(mail(f"burst {n}"), SENDER, [ENT1])
    subjects = sorted(re.search(rb"Subject: (burst \d)", m).group(1) for m in received(clean_mail, ENT1, 5))
    assert subjects == [f"burst {n}".encode() for n in range(5)]
    assert [phase for phase, _reply in clean_mail.smtp_faults.fired] == ["MAIL", "MAIL"]


def test_a_421_at_mail_from_on_a_fresh_connection_is_a_temporary_failure(transport, clean_mail):
    clean_mail.smtp_faults.limit_messages(0)  # the server takes nothing now, on any connection
    with pytest.raises(DeliveryError) as caught:
        transport.send(mail("not now"), SENDER, [ENT1])
    assert caught.value.permanent is False and "421" in str(caught.value)
    assert [phase for phase, _reply in clean_mail.smtp_faults.fired] == ["MAIL"]  # tried once, not again
    time.sleep(0.5)
    assert clean_mail.messages(ENT1) == []


def test_a_frequency_refusal_at_rcpt_is_temporary_too(transport, clean_mail):
    clean_mail.smtp_faults.set(code=550, text="Connection frequency limited", phase="RCPT", times=1)
    with pytest.raises(RecipientsRefused) as caught:
        transport.send(mail("too fast"), SENDER, [ENT1])
    assert caught.value.permanent is False


@pytest.mark.parametrize(("code", "text", "permanent"), [
    (550, "MI:SFQ 发信人在15分钟内的发信数量超过限制，请控制发信频率", False),  # NetEase, in Chinese
    (550, "Mail content denied", True),
    (554, "DT:SPM 发送的邮件内容包含了未被许可的信息", True),
    (550, "5.1.1 no such user", True),
    (552, "5.5.3 too many recipients", True),  # about the message: a slower pace changes nothing
    (554, "5.7.1 your IP is listed; see the frequently asked questions", True),  # a blocklist
    (550, "you send mail too frequently", False),
    (451, "4.3.0 try again later", False),
])
def test_which_refusals_are_permanent(code, text, permanent):
    assert refusal_is_permanent(code, text) is permanent


def test_a_reply_text_in_gb18030_is_read_as_chinese():
    from bot.outbox.transport import _text

    assert _text("发信频率过快".encode("gb18030")) == "发信频率过快"
    assert _text("频率".encode()) == "频率"


class _ScriptedServer:
    """The client side of smtplib.SMTP over a script of replies, for the interpretation alone:
    replies run out as a server that closes the connection."""

    def __init__(self, replies: list[tuple[int, bytes]]):
        self.replies, self.sent, self.closed = list(replies), [], False

    def ehlo_or_helo_if_needed(self) -> None:
        pass

    def has_extn(self, name: str) -> bool:
        return name == "pipelining"

    def send(self, data) -> None:
        self.sent.append(data)

    def getreply(self) -> tuple[int, bytes]:
        if not self.replies:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return self.replies.pop(0)

    def close(self) -> None:
        self.closed = True

    def rset(self) -> tuple[int, bytes]:
        self.sent.append("rset")
        return (250, b"OK")


def test_a_server_that_hangs_up_at_a_pipelined_data_without_good_recipients_refused_them():
    """Exim closes the connection in response to a pipelined DATA when no recipient was good:
    the refusals already read decide (permanent here), not the hang-up (which would be retried)."""
    from bot.outbox.transport import _transaction

    server = _ScriptedServer([(250, b"OK"), (550, b"5.1.1 no such user")])
    with pytest.raises(smtplib.SMTPRecipientsRefused) as caught:
        _transaction(server, SENDER, [ENT1], b"body\r\n", [], None)
    assert caught.value.recipients == {ENT1: (550, b"5.1.1 no such user")}
    assert server.closed and "rset" not in server.sent
    assert server.sent == ["mail FROM:<intake@rb.test>\r\nrcpt TO:<ent1@corp.test>\r\ndata\r\n"]


def test_a_hang_up_before_the_recipients_answered_is_a_lost_connection():
    from bot.outbox.transport import _transaction

    server = _ScriptedServer([(250, b"OK")])
    with pytest.raises(smtplib.SMTPServerDisconnected):
        _transaction(server, SENDER, [ENT1, ENT2], b"body\r\n", [], None)
