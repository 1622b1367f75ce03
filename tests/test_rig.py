"""Smoke tests of the real-mail test rig itself (tests/rig)."""

from __future__ import annotations

import email
import re
import smtplib
import ssl
import threading
import time
from email.message import EmailMessage

import pytest
from imapclient import IMAPClient

pytestmark = pytest.mark.rig


def _msg(subject: str, to: str = "ent1@corp.test", frm: str = "intake@rb.test", body: str = "正文") -> bytes:
    m = EmailMessage()
    m["From"] = frm
    m["To"] = to
    m["Subject"] = subject
    m["Message-ID"] = email.utils.make_msgid(domain="rb.test")
    m.set_content(body)
    return m.as_bytes()


def _subjects(raws: list[bytes]) -> list[str]:
    return [str(email.message_from_bytes(r, policy=email.policy.default)["Subject"]) for r in raws]


def _submission(rig, login: bool = True) -> smtplib.SMTP:
    s = smtplib.SMTP(rig.host, rig.smtp_port, timeout=10)
    s.starttls(context=ssl.create_default_context(cafile=rig.ca_file))
    if login:
        s.login(rig.smtp_user, rig.smtp_password)
    return s


def test_append_and_read_back(clean_mail):
    rig = clean_mail
    rig.append("ent2@corp.test", _msg("one"))
    rig.append("ent2@corp.test", _msg("two"))
    rig.append("ent2@corp.test", _msg("归档"), folder="Processed/2024")
    assert _subjects(rig.messages("ent2@corp.test")) == ["one", "two"]
    assert _subjects(rig.messages("ent2@corp.test", folder="Processed/2024")) == ["归档"]
    assert "Processed/2024" in rig.folders("ent2@corp.test")
    assert rig.messages("ent2@corp.test", folder="NoSuchFolder") == []
    rig.clear("ent2@corp.test")
    assert rig.messages("ent2@corp.test") == []
    assert rig.folders("ent2@corp.test") == ["INBOX"]


def test_a_mailbox_set_aside_is_empty_and_takes_mail_again(clean_mail):
    """The benchmarks' way of emptying a mailbox: nothing is deleted (the old Maildir is kept under
    the rig's root), the user starts again with no mail and no folder, and mail arrives by SMTP
    and by APPEND into the new one."""
    rig = clean_mail
    rig.append("ent2@corp.test", _msg("old one"))
    rig.append("ent2@corp.test", _msg("old two"), folder="Processed")
    old = rig.dovecot.home("ent2@corp.test") / "Maildir"
    files = sorted(p.name for p in old.rglob("*") if p.is_file() and p.parent.name in ("new", "cur"))
    assert len(files) == 2
    rig.set_aside("ent2@corp.test")
    kept = sorted(p.name for p in (rig.root / "set-aside").rglob("*")
                  if p.is_file() and p.parent.name in ("new", "cur"))
    assert set(files) <= set(kept)
    assert rig.messages("ent2@corp.test") == []
    assert rig.folders("ent2@corp.test") == ["INBOX"]
    with smtplib.SMTP(rig.host, rig.smtp_plain_port, timeout=10) as s:
        s.sendmail("intake@rb.test", ["ent2@corp.test"], _msg("new by smtp", to="ent2@corp.test"))
    rig.append("ent2@corp.test", _msg("new by append"))
    assert sorted(_subjects(rig.wait_for_messages("ent2@corp.test", 2, timeout=5))) == [
        "new by append", "new by smtp"]
    rig.set_aside("ent2@corp.test")
    rig.set_aside("ent2@corp.test")  # nothing in it: nothing to move
    assert rig.messages("ent2@corp.test") == []


def test_imaps_verifies_with_ca_file(clean_mail):
    rig = clean_mail
    ctx = ssl.create_default_context(cafile=rig.ca_file)
    for host in ("127.0.0.1", "localhost"):
        with IMAPClient(host, rig.imaps_port, ssl=True, ssl_context=ctx, timeout=5) as c:
            c.login("ent3@corp.test", rig.password)
            assert c.select_folder("INBOX")[b"EXISTS"] == 0


def test_smtp_starttls_auth_delivers(clean_mail):
    rig = clean_mail
    with _submission(rig) as s:
        refused = s.sendmail("intake@rb.test", ["ent1@corp.test"], _msg("回执 hello"))
    assert refused == {}
    (raw,) = rig.wait_for_messages("ent1@corp.test", 1, timeout=5)
    assert _subjects([raw]) == ["回执 hello"]
    assert b"Delivered-To: <ent1@corp.test>" in raw or b"Delivered-To: ent1@corp.test" in raw
    assert len(rig.smtp_accepted) == 1
    mail_from, rcpts, accepted_raw = rig.smtp_accepted[0]
    assert (mail_from, rcpts) == ("intake@rb.test", ["ent1@corp.test"])
    assert b"Subject:" in accepted_raw


def test_smtp_plain_listener_delivers(clean_mail):
    rig = clean_mail
    with smtplib.SMTP(rig.host, rig.smtp_plain_port, timeout=10) as s:
        s.sendmail("intake@rb.test", ["ent4@corp.test", "admin@rb.test"], _msg("plain"))
    assert _subjects(rig.wait_for_messages("ent4@corp.test", 1, timeout=5)) == ["plain"]
    assert _subjects(rig.wait_for_messages("admin@rb.test", 1, timeout=5)) == ["plain"]


def test_smtp_530_before_starttls(clean_mail):
    rig = clean_mail
    with smtplib.SMTP(rig.host, rig.smtp_port, timeout=10) as s:
        with pytest.raises(smtplib.SMTPSenderRefused) as ei:
            s.sendmail("intake@rb.test", ["ent1@corp.test"], _msg("x"))
    assert ei.value.smtp_code == 530


def test_smtp_530_without_auth(clean_mail):
    rig = clean_mail
    with _submission(rig, login=False) as s:
        with pytest.raises(smtplib.SMTPSenderRefused) as ei:
            s.sendmail("intake@rb.test", ["ent1@corp.test"], _msg("x"))
    assert ei.value.smtp_code == 530


def test_smtp_535_bad_password(clean_mail):
    rig = clean_mail
    with _submission(rig, login=False) as s:
        with pytest.raises(smtplib.SMTPAuthenticationError) as ei:
            s.login(rig.smtp_user, "wrong")
    assert ei.value.smtp_code == 535


def test_smtp_faults_then_recovery(clean_mail):
    rig = clean_mail
    rig.smtp_faults.set(code=451, text="4.3.0 try later", phase="DATA")
    with _submission(rig) as s:
        with pytest.raises(smtplib.SMTPDataError) as ei:
            s.sendmail("intake@rb.test", ["ent1@corp.test"], _msg("a"))
    assert ei.value.smtp_code == 451

    rig.smtp_faults.set(code=451, text="4.3.0 try later", phase="RCPT", recipients={"ent1@corp.test"})
    with _submission(rig) as s:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as ei:
            s.sendmail("intake@rb.test", ["ent1@corp.test"], _msg("b"))
        assert ei.value.recipients["ent1@corp.test"][0] == 451
        # not for the others
        assert s.sendmail("intake@rb.test", ["ent2@corp.test"], _msg("c")) == {}

    rig.smtp_faults.set(code=421, text="4.3.2 shutting down", phase="CONNECT", times=1)
    with pytest.raises(smtplib.SMTPConnectError) as ei:
        smtplib.SMTP(rig.host, rig.smtp_port, timeout=10)
    assert ei.value.smtp_code == 421
    rig.smtp_faults.set(code=None, phase="CONNECT", times=1)
    with pytest.raises(smtplib.SMTPServerDisconnected):
        smtplib.SMTP(rig.host, rig.smtp_port, timeout=10)
    assert rig.smtp_faults.active == []  # times=1 used up

    rig.smtp_faults.clear()
    with _submission(rig) as s:
        assert s.sendmail("intake@rb.test", ["ent1@corp.test"], _msg("d")) == {}
    assert _subjects(rig.wait_for_messages("ent1@corp.test", 1, timeout=5)) == ["d"]
    assert [r for _f, r, _raw in rig.smtp_accepted] == [["ent2@corp.test"], ["ent1@corp.test"]]


def _send_and_hang_up(rig, raw: bytes, rcpts: list[str]) -> None:
    """One SMTP transaction whose client closes its socket right after the final dot, without
    reading the answer: what the kernel does for a sender killed with -9 at that moment."""
    s = smtplib.SMTP(rig.host, rig.smtp_plain_port, timeout=10)
    try:
        s.ehlo()
        assert s.mail("intake@rb.test")[0] == 250
        for r in rcpts:
            assert s.rcpt(r)[0] == 250, r
        s.putcmd("data")
        assert s.getreply()[0] == 354
        wire = re.sub(rb"(?m)^\.", b"..", raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
        s.send(wire + b".\r\n")
    finally:
        s.close()  # no QUIT, no reading of the answer


def test_a_client_gone_after_the_final_dot_does_not_cut_the_delivery_short(clean_mail):
    """A real MTA owns a message once the final dot is in: every recipient gets it, whole, even when
    the client hangs up before the answer. aiosmtpd cancels the handler on the hang-up; the relay
    once let that cancel send the LMTP QUIT beside the DATA, losing or corrupting some mails."""
    rig = clean_mail
    rig.add_user("ent6@corp.test")
    rcpts = ["ent6@corp.test", "intake@rb.test"]  # a reply and its sent copy, as the outbox sends
    body = "回执正文。\n" * 5000
    sent = {}
    for i in range(20):
        raw = _msg(f"断开后仍须投递 {i}", to="ent6@corp.test", body=body)
        sent[str(email.message_from_bytes(raw)["Message-ID"])] = f"断开后仍须投递 {i}"
        _send_and_hang_up(rig, raw, rcpts)
    for address in rcpts:
        got = {}
        for raw in rig.wait_for_messages(address, len(sent), timeout=20):
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            assert msg.get_content().replace("\r\n", "\n") == body, (address, msg["Message-ID"])
            got[str(msg["Message-ID"])] = str(msg["Subject"])
        assert got == sent, address


def test_smtp_unknown_recipient_550(clean_mail):
    rig = clean_mail
    with _submission(rig) as s:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as ei:
            s.sendmail("intake@rb.test", ["nobody@corp.test"], _msg("x"))
        assert ei.value.recipients["nobody@corp.test"][0] == 550
        # mixed: the known one is delivered, the unknown one reported refused
        refused = s.sendmail("intake@rb.test", ["nobody@corp.test", "ent5@corp.test"], _msg("y"))
    assert refused["nobody@corp.test"][0] == 550
    assert _subjects(rig.wait_for_messages("ent5@corp.test", 1, timeout=5)) == ["y"]


def test_smtp_while_dovecot_down_is_temporary(clean_mail):
    rig = clean_mail
    rig.stop_dovecot()
    try:
        with _submission(rig) as s:
            with pytest.raises(smtplib.SMTPRecipientsRefused) as ei:
                s.sendmail("intake@rb.test", ["ent1@corp.test"], _msg("x"))
        assert ei.value.recipients["ent1@corp.test"][0] == 451
    finally:
        rig.start_dovecot()
    with _submission(rig) as s:
        s.sendmail("intake@rb.test", ["ent1@corp.test"], _msg("after"))
    assert _subjects(rig.wait_for_messages("ent1@corp.test", 1, timeout=5)) == ["after"]


def test_the_relay_keeps_its_lmtp_connection_and_replaces_a_dead_one(clean_mail):
    """One LMTP connection carries message after message (a real MTA's connection cache); after a
    Dovecot restart the cached connection is dead, and the next message still goes through."""
    rig = clean_mail
    handler = rig.smtp.handler
    handler.cache.clear()
    opened = handler.opened
    for i in range(3):
        with smtplib.SMTP(rig.host, rig.smtp_plain_port, timeout=10) as s:
            s.sendmail("intake@rb.test", ["ent2@corp.test", "intake@rb.test"], _msg(f"m{i}", to="ent2@corp.test"))
    assert handler.opened == opened + 1
    rig.restart_dovecot()
    with smtplib.SMTP(rig.host, rig.smtp_plain_port, timeout=10) as s:
        s.sendmail("intake@rb.test", ["ent2@corp.test"], _msg("after the restart", to="ent2@corp.test"))
    assert handler.opened == opened + 2
    assert sorted(_subjects(rig.wait_for_messages("ent2@corp.test", 4, timeout=5))) == [
        "after the restart", "m0", "m1", "m2"]


def test_the_relay_parses_addresses_as_aiosmtpd_does():
    """The relay caches aiosmtpd's parse of MAIL and RCPT addresses: the same answer, or the same
    exception, for the same argument, once parsed and once from the cache."""
    from aiosmtpd.smtp import SMTP

    from tests.rig.smtpd import _parsed_address

    def outcome(parse):
        try:
            return parse()
        except Exception as exc:  # noqa: BLE001 - aiosmtpd's parser raises on some input
            return type(exc)

    for arg in ("<intake@rb.test>", "<intake@rb.test> SIZE=123 BODY=8BITMIME", " <a.b@c.d>", "a@b.c",
                "<>", "", "<bad@", '<"quoted local"@x.y>', "<" + "x" * 70 + "@y.z>",
                "<用户@例子.中国> SMTPUTF8", "<@a,@b:c@d>"):
        for limit in (0, 64):
            server = SMTP.__new__(SMTP)
            server.local_part_limit = limit
            expected = outcome(lambda: SMTP._getaddr(server, arg))
            assert outcome(lambda: _parsed_address(arg, limit)) == expected, arg
            assert outcome(lambda: _parsed_address(arg, limit)) == expected, arg


def test_add_user_live(clean_mail):
    rig = clean_mail
    rig.add_user("new.person@corp.test")
    with smtplib.SMTP(rig.host, rig.smtp_plain_port, timeout=10) as s:
        s.sendmail("intake@rb.test", ["new.person@corp.test"], _msg("welcome"))
    assert _subjects(rig.wait_for_messages("new.person@corp.test", 1, timeout=5)) == ["welcome"]


def test_restart_dovecot_keeps_mail(clean_mail):
    rig = clean_mail
    ports = (rig.imap_port, rig.imaps_port, rig.lmtp_port)
    rig.append("ent3@corp.test", _msg("keep me"))
    with rig.imap("ent3@corp.test") as c:
        uidvalidity = c.select_folder("INBOX")[b"UIDVALIDITY"]
    rig.restart_dovecot()
    assert (rig.imap_port, rig.imaps_port, rig.lmtp_port) == ports
    assert _subjects(rig.messages("ent3@corp.test")) == ["keep me"]
    with rig.imap("ent3@corp.test") as c:
        assert c.select_folder("INBOX")[b"UIDVALIDITY"] == uidvalidity


def test_imap_idle_notices_append(clean_mail):
    rig = clean_mail
    with rig.imap("ent4@corp.test") as c:
        c.select_folder("INBOX")
        c.idle()
        t = threading.Timer(0.2, rig.append, ("ent4@corp.test", _msg("idle")))
        t.start()
        t0 = time.monotonic()
        responses = []
        while time.monotonic() - t0 < 3 and not any(r[1] == b"EXISTS" for r in responses):
            responses += c.idle_check(timeout=0.5)
        c.idle_done()
        t.join()
    assert any(r[1] == b"EXISTS" for r in responses), responses
    assert time.monotonic() - t0 < 3


def test_pg_url_can_create_table(pg_url):
    sqlalchemy = pytest.importorskip("sqlalchemy")
    assert pg_url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
    engine = sqlalchemy.create_engine(pg_url)
    try:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text("create table t (id serial primary key, name text)"))
            conn.execute(sqlalchemy.text("insert into t (name) values ('企业')"))
        with engine.connect() as conn:
            assert conn.execute(sqlalchemy.text("select name from t")).scalar_one() == "企业"
    finally:
        engine.dispose()


def test_db_url(db_url):
    sqlalchemy = pytest.importorskip("sqlalchemy")
    engine = sqlalchemy.create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text("create table t (x int)"))
            conn.execute(sqlalchemy.text("insert into t values (1)"))
            assert conn.execute(sqlalchemy.text("select count(*) from t")).scalar_one() == 1
    finally:
        engine.dispose()
