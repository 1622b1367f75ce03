"""ImapSource against the real Dovecot of tests/rig (plain, STARTTLS and IMAPS on loopback)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import replace

import pytest
from imapclient import IMAPClient

from bot.errors import ConfigError, MailboxError
from bot.mailbox import Fetched, ImapSettings, ImapSource, Source

INTAKE = "intake@rb.test"


def mail(n: int, subject: str = "") -> bytes:
    return (
        f"From: ent{n}@corp.test\r\nTo: {INTAKE}\r\nMessage-ID: <m{n}.{time.time_ns()}@corp.test>\r\n"
        f"Subject: {subject or n}\r\n\r\nbody {n}\r\n"
    ).encode()


def settings_for(rig, **changes) -> ImapSettings:
    base = ImapSettings(host=rig.host, port=rig.imap_port, username=INTAKE, password=rig.password, security="plain")
    return replace(base, **changes)


class Sleeps(list):
    """Records backoff delays and sleeps only briefly, so reconnect tests run fast."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        time.sleep(min(seconds, 0.2))


@pytest.fixture
def source(clean_mail):
    src = ImapSource(settings_for(clean_mail), sleep=Sleeps())
    src.open()
    yield src
    src.close()


def flags_in(rig, folder: str = "INBOX") -> list[set[bytes]]:
    with IMAPClient(rig.host, rig.imap_port, ssl=False) as client:
        client.login(INTAKE, rig.password)
        client.select_folder(folder, readonly=True)
        return [set(data[b"FLAGS"]) for data in client.fetch(client.search(), ["FLAGS"]).values()]


# -- configuration and TLS ----------------------------------------------------------------


@pytest.mark.parametrize("host", ["mail.example.com", "10.0.0.1", "192.168.1.2", "::2"])
def test_plain_to_non_loopback_host_is_refused(host):
    with pytest.raises(ConfigError, match="plain"):
        ImapSettings(host=host, port=143, username="u", password="p", security="plain")


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "localhost"])
def test_plain_to_loopback_is_allowed(host):
    ImapSettings(host=host, port=143, username="u", password="p", security="plain")


def test_unknown_security_mode_is_refused():
    with pytest.raises(ConfigError):
        ImapSettings(host="127.0.0.1", port=143, username="u", password="p", security="ssl")


def test_password_not_in_repr_or_logs(clean_mail, caplog):
    settings = settings_for(clean_mail)
    assert clean_mail.password not in repr(settings)
    caplog.set_level(logging.DEBUG)
    src = ImapSource(settings)
    src.open()
    src.fetch_new()
    src.close()
    assert clean_mail.password not in caplog.text


def test_imaps_with_verification_via_cafile(clean_mail):
    raw = mail(1)
    clean_mail.append(INTAKE, raw)
    src = ImapSource(settings_for(clean_mail, port=clean_mail.imaps_port, security="tls", cafile=clean_mail.ca_file))
    src.open()
    assert [item.raw for item in src.fetch_new()] == [raw]
    src.close()


def test_starttls_with_verification_via_cafile(clean_mail):
    clean_mail.append(INTAKE, mail(1))
    src = ImapSource(settings_for(clean_mail, security="starttls", cafile=clean_mail.ca_file))
    src.open()
    assert len(src.fetch_new()) == 1
    src.close()


def test_imaps_without_cafile_fails_verification_without_retrying(clean_mail):
    sleeps = Sleeps()
    src = ImapSource(settings_for(clean_mail, port=clean_mail.imaps_port, security="tls"), sleep=sleeps)
    with pytest.raises(MailboxError, match="CONNECT failed: certificate verification failed"):
        src.open()
    assert sleeps == []  # a bad certificate does not heal: no backoff loop


def test_wrong_password_is_a_login_error(clean_mail):
    src = ImapSource(settings_for(clean_mail, password="wrong"), sleep=Sleeps())
    with pytest.raises(MailboxError, match="^LOGIN failed: .*uthentication failed"):
        src.open()


def test_missing_inbox_reports_select_failure(clean_mail):
    src = ImapSource(settings_for(clean_mail, inbox="NoSuchFolder"), sleep=Sleeps())
    with pytest.raises(MailboxError, match="^SELECT failed: "):
        src.open()


# -- fetching and moving ------------------------------------------------------------------


def test_is_a_source(source):
    assert isinstance(source, Source)


def test_fetch_new_in_order_without_setting_seen(source, clean_mail):
    raws = [mail(n) for n in range(3)]
    for raw in raws:
        clean_mail.append(INTAKE, raw)
    items = source.fetch_new()
    assert [item.raw for item in items] == raws
    uids = [item.uid for item in items]
    assert uids == sorted(uids)
    assert all(item.uidvalidity == source.uidvalidity > 0 for item in items)
    assert items[0].key == f"{INTAKE}/INBOX:{source.uidvalidity}:{uids[0]}"
    assert flags_in(clean_mail) == [set(), set(), set()]  # BODY.PEEK: still unread
    assert [item.key for item in source.fetch_new()] == [item.key for item in items]


def test_peek_reads_only_the_copy_headers_and_fetch_whole_the_rest(source, clean_mail):
    copy = (f"From: {INTAKE}\r\nTo: ent1@corp.test\r\nMessage-ID: <ours.1@bot.rb.test>\r\n"
            f"X-Loop: {INTAKE}\r\nSubject: reply\r\n\r\n" + "x" * 5000 + "\r\n").encode()
    raws = [mail(1), copy, mail(2)]
    for raw in raws:
        clean_mail.append(INTAKE, raw)
    peeked = source.peek_new()
    assert [item.whole for item in peeked] == [False] * 3
    assert b"X-Loop: " + INTAKE.encode() in peeked[1].raw and b"Subject" not in peeked[1].raw
    assert all(len(item.raw) < 200 for item in peeked)  # no body came over the wire
    whole = source.fetch_whole([peeked[0], peeked[2]])
    assert [item.raw for item in whole] == [raws[0], raws[2]] and all(item.whole for item in whole)
    assert [item.key for item in whole] == [peeked[0].key, peeked[2].key]
    assert source.fetch_whole(whole) == whole  # already whole: no round trip, nothing changes
    source.mark_done_many([peeked[1]], folder="Sent")  # a peeked copy is filed without its body
    assert clean_mail.messages(INTAKE, "Sent") == [copy]
    assert flags_in(clean_mail) == [set(), set()]  # BODY.PEEK: still unread


def test_fetch_whole_leaves_out_mail_expunged_since_the_peek(source, clean_mail):
    clean_mail.append(INTAKE, mail(1))
    clean_mail.append(INTAKE, mail(2))
    first, second = source.peek_new()
    source.mark_done(first)  # gone from the inbox meanwhile (another process took it)
    assert [item.key for item in source.fetch_whole([first, second])] == [second.key]


def test_has_message_id_sees_a_copy_that_arrived_since_the_last_command(source, clean_mail):
    """The SEARCH that decides whether a `finalizing` mail goes out again must not miss a sent copy
    this connection has not been told of yet: without a NOOP first, Dovecot searches the old view."""
    assert source.peek_new() == []  # the connection's view: an empty inbox
    clean_mail.append(INTAKE, (f"From: {INTAKE}\r\nX-Loop: {INTAKE}\r\nMessage-ID: <late-copy@bot.rb.test>\r\n"
                               "Subject: copy\r\n\r\nbody\r\n").encode())
    assert source.has_message_id("late-copy@bot.rb.test")
    assert not source.has_message_id("never-sent@bot.rb.test")


def test_imaplib_formats_no_debug_trace_nobody_reads(clean_mail, caplog):
    """imapclient turns imaplib's trace on (a repr of every line and literal read, each mail's whole
    body among them) and hands it to a logger; the source turns it off unless that logger writes
    DEBUG, and a fetch then reads the same mail."""
    raw = mail(1, "traced?")
    clean_mail.append(INTAKE, raw)
    caplog.set_level(logging.INFO, logger="imapclient.imaplib")
    src = ImapSource(settings_for(clean_mail))
    try:
        assert [item.raw for item in src.fetch_new()] == [raw]
        assert src._client._imap.debug == 0
    finally:
        src.close()
    assert not [r for r in caplog.records if r.name == "imapclient.imaplib"]

    caplog.set_level(logging.DEBUG, logger="imapclient.imaplib")  # someone debugging the session
    src = ImapSource(settings_for(clean_mail))
    try:
        assert [item.raw for item in src.fetch_new()] == [raw]
    finally:
        src.close()
    assert any("traced?" in r.getMessage() for r in caplog.records if r.name == "imapclient.imaplib")


def test_fetch_new_in_batches_respects_limit(source, clean_mail):
    for n in range(120):
        clean_mail.append(INTAKE, mail(n, subject=f"batch {n:03d}"))
    first = source.fetch_new(limit=100)
    assert [int(item.raw.split(b"batch ")[1][:3]) for item in first] == list(range(100))
    assert source.wait(5) is True  # a backlog remains: wait() returns at once
    for item in first:
        source.mark_done(item)
    rest = source.fetch_new(limit=100)
    assert len(rest) == 20
    assert source.wait(0) is False


def test_mark_done_moves_to_created_processed_folder(source, clean_mail):
    clean_mail.append(INTAKE, mail(1))
    clean_mail.append(INTAKE, mail(2))
    first, second = source.fetch_new()
    source.mark_done(first)
    assert "Processed" in clean_mail.folders(INTAKE)
    assert clean_mail.messages(INTAKE, "Processed") == [first.raw]
    assert clean_mail.messages(INTAKE) == [second.raw]
    source.mark_done(first)  # a retry after a crash moves nothing and does not fail
    assert clean_mail.messages(INTAKE, "Processed") == [first.raw]
    assert [item.key for item in source.fetch_new()] == [second.key]


def test_mark_done_without_move_capability_copies_and_expunges(source, clean_mail):
    clean_mail.append(INTAKE, mail(1))
    clean_mail.append(INTAKE, mail(2))
    first, second = source.fetch_new()
    client = source._client
    client._cached_capabilities = tuple(c for c in client.capabilities() if c != b"MOVE")
    source.mark_done(first)
    assert clean_mail.messages(INTAKE, "Processed") == [first.raw]
    assert clean_mail.messages(INTAKE) == [second.raw]


def test_mark_done_after_uidvalidity_change_finds_message_by_message_id(source, clean_mail):
    clean_mail.append(INTAKE, mail(1))
    (item,) = source.fetch_new()
    stale = Fetched(item.mailbox, item.uidvalidity - 1, 999, item.raw, "stale")
    source.mark_done(stale)
    assert clean_mail.messages(INTAKE, "Processed") == [item.raw]
    assert clean_mail.messages(INTAKE) == []


def test_quarantine_and_restore(source, clean_mail):
    clean_mail.append(INTAKE, mail(1))
    clean_mail.append(INTAKE, mail(2))
    first, second = source.fetch_new()
    source.quarantine(first)
    assert clean_mail.messages(INTAKE, "Quarantine") == [first.raw]
    assert [item.key for item in source.fetch_new()] == [second.key]
    assert source.restore("Quarantine") == 1
    assert clean_mail.messages(INTAKE, "Quarantine") == []
    back = source.fetch_new()
    assert [item.raw for item in back] == [second.raw, first.raw]  # arrived again, so last
    assert back[1].uid > second.uid
    assert source.restore("Quarantine") == 0
    assert source.restore("NeverCreated") == 0


# -- waiting and reconnecting ---------------------------------------------------------------


# Kept apart from the other restart test: the rig's back-to-back restarts can take 5 s or more.
def test_wait_survives_restart_during_idle(source, clean_mail):
    source.fetch_new()
    restart = threading.Timer(0.5, clean_mail.restart_dovecot)
    restart.start()
    assert source.wait(10) is True  # woken by the disconnect: "mail may be waiting"
    restart.join()
    clean_mail.append(INTAKE, mail(1))
    assert len(source.fetch_new()) == 1


def test_wait_returns_false_without_mail(source):
    source.fetch_new()
    started = time.monotonic()
    assert source.wait(1.0) is False
    assert 0.9 < time.monotonic() - started < 3


def test_idle_wakes_soon_after_append(source, clean_mail):
    assert source._client.has_capability("IDLE")
    source.fetch_new()
    appended = []

    def deliver() -> None:
        appended.append(time.monotonic())
        clean_mail.append(INTAKE, mail(1))

    timer = threading.Timer(0.5, deliver)
    timer.start()
    assert source.wait(10) is True
    assert time.monotonic() - appended[0] < 2  # Dovecot itself waits ~0.5 s before telling
    timer.join()
    assert len(source.fetch_new()) == 1


def test_without_idle_wait_polls(clean_mail):
    sleeps = Sleeps()
    src = ImapSource(settings_for(clean_mail), sleep=sleeps)
    src.open()
    src.fetch_new()
    client = src._client
    client._cached_capabilities = tuple(c for c in client.capabilities() if c != b"IDLE")
    assert src.wait(7.5) is True  # after one poll interval, mail may be waiting
    assert sleeps == [7.5]
    src.close()


def test_idle_refreshes_and_still_sees_mail(clean_mail):
    src = ImapSource(settings_for(clean_mail, idle_refresh=0.3))
    src.open()
    src.fetch_new()
    timer = threading.Timer(1.0, clean_mail.append, [INTAKE, mail(1)])
    timer.start()
    assert src.wait(5) is True
    timer.join()
    assert len(src.fetch_new()) == 1
    src.close()


def test_reconnects_after_dovecot_restart(source, clean_mail):
    clean_mail.append(INTAKE, mail(1))
    assert len(source.fetch_new()) == 1
    uidvalidity = source.uidvalidity
    clean_mail.restart_dovecot()
    clean_mail.append(INTAKE, mail(2))
    items = source.fetch_new()
    assert [item.raw.split(b"body ")[1] for item in items] == [b"1\r\n", b"2\r\n"]
    assert source.uidvalidity == uidvalidity  # Dovecot keeps it in the Maildir
    assert source._sleep, "the dropped connection went through the backoff path"


def test_backoff_doubles_then_gives_up():
    with socket.socket() as closed:  # bound, never listening: connection refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        sleeps = Sleeps()
        settings = ImapSettings("127.0.0.1", port, INTAKE, "x", security="plain", retries=3, timeout=2)
        src = ImapSource(settings, sleep=sleeps, rng=lambda: 0.5)
        with pytest.raises(MailboxError, match=r"^CONNECT failed: .*gave up after 4 attempts"):
            src.open()
    assert sleeps == [1.0, 2.0, 4.0]


def test_backoff_is_capped_at_a_minute():
    from bot.retry import backoff_delay

    assert [round(backoff_delay(n, rng=lambda: 0.5)) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff_delay(30, rng=lambda: 1.0) == 60
    assert 0.75 <= backoff_delay(0, rng=lambda: 0.0) <= 1.25
