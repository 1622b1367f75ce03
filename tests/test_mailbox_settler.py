"""Done mail moved on a second connection while the next batch is fetched (bot.mailbox.settler),
against the real Dovecot of tests/rig: a mail being moved is not fetched again, a move the second
connection cannot make is made on the main one, a Maildir moves at once, and a backlog larger than
a batch is answered once per mail by `run --once`."""

from __future__ import annotations

import threading
import time

import pytest

from bot.errors import MailboxError
from bot.mailbox import ImapSettings, ImapSource
from bot.mailbox.maildir import MaildirSink, MaildirSource
from bot.mailbox.settler import Settler
from bot.service.daemon import fetch_pass
from tests.rig.dovecot import free_ports
from tests.support.botenv import INTAKE, make_env, parse
from tests.support.embedded import REPO, Embedded
from tests.support.reliability import form_mail

pytestmark = pytest.mark.rig


def mail(n: int) -> bytes:
    return (f"From: ent{n}@corp.test\r\nTo: {INTAKE}\r\nMessage-ID: <settle{n}.{time.time_ns()}@corp.test>\r\n"
            f"Subject: {n}\r\n\r\nbody {n}\r\n").encode()


def in_the_inbox(rig, count: int) -> list[bytes]:
    """`count` new mails APPENDed to the intake's inbox, in order."""
    raws = [mail(n) for n in range(count)]
    for raw in raws:
        rig.append(INTAKE, raw)
    return raws


@pytest.fixture
def source(clean_mail):
    src = ImapSource(ImapSettings(host=clean_mail.host, port=clean_mail.imap_port, username=INTAKE,
                                  password=clean_mail.password, security="plain"))
    src.open()
    yield src
    src.close()


class GatedTwin:
    """The source's real twin, whose moves wait until the test opens the gate (or fail)."""

    def __init__(self, twin: ImapSource, fail: bool = False):
        self.twin, self.fail = twin, fail
        self.gate, self.closed, self.tries = threading.Event(), False, 0

    def mark_done_many(self, items, folder=None):
        self.gate.wait(10)
        self.tries += 1
        if self.fail:
            raise MailboxError("MOVE failed: connection lost (gave up after 9 attempts)")
        self.twin.mark_done_many(items, folder)

    def close(self):
        self.closed = True
        self.twin.close()


def gated(source: ImapSource, fail: bool = False) -> tuple[Settler, list[GatedTwin]]:
    """A settler of `source` whose twins are gated; the list holds the twins it made."""
    made: list[GatedTwin] = []
    real_twin = source.twin

    def twin() -> GatedTwin:
        made.append(GatedTwin(real_twin(), fail))
        return made[-1]

    source.twin = twin  # type: ignore[method-assign]
    return Settler(source), made


def test_peek_leaves_out_the_mail_it_is_told_to_skip(source, clean_mail):
    for n in range(3):
        clean_mail.append(INTAKE, mail(n))
    first, second, third = source.peek_new()
    assert [i.key for i in source.peek_new(skip=frozenset({second.key}))] == [first.key, third.key]
    assert [i.key for i in source.peek_new(limit=2, skip={first.key})] == [second.key, third.key]


def test_a_connection_reads_and_moves_mail_only_the_other_one_has_seen(source, clean_mail):
    """Mail that arrived after this connection's last sync, seen on the other one (a twin moves
    what the source peeked): the server would look for its UIDs in this connection's old view and
    find nothing ("No messages found"), so it syncs first."""
    source.peek_new()  # this connection's view: an empty inbox
    raws = in_the_inbox(clean_mail, 3)
    twin = source.twin()
    try:
        peeked = twin.peek_new()  # the other connection has seen them; this one has not
        assert [i.raw for i in source.fetch_whole(peeked)] == raws
        source.mark_done_many(peeked[:2])
        source.quarantine(peeked[2])
    finally:
        twin.close()
    assert clean_mail.messages(INTAKE) == [] and clean_mail.messages(INTAKE, "Processed") == raws[:2]
    assert clean_mail.messages(INTAKE, "Quarantine") == raws[2:]


def test_a_twin_moves_what_the_source_fetched_on_a_connection_of_its_own(source, clean_mail):
    raws = in_the_inbox(clean_mail, 3)
    items = source.fetch_new()
    twin = source.twin()
    assert twin is not source and twin.uidvalidity is None  # nothing opened until it is used
    try:
        twin.mark_done_many(items[:2])
        assert twin.uidvalidity == source.uidvalidity and twin._client is not source._client
    finally:
        twin.close()
    assert clean_mail.messages(INTAKE, "Processed") == raws[:2]
    assert [i.key for i in source.fetch_new()] == [items[2].key]  # the source sees the move


def test_mail_being_moved_is_not_fetched_again_and_is_moved_after_it(source, clean_mail):
    raws = in_the_inbox(clean_mail, 4)
    settler, twins = gated(source)
    batch = source.peek_new(limit=2)
    settler.move(source.fetch_whole(batch), background=True)
    assert settler.pending() == {i.key for i in batch}
    following = source.peek_new(limit=2, skip=settler.pending())
    assert [i.key for i in following] == [i.key for i in source.peek_new()][2:]  # the next two only
    assert clean_mail.messages(INTAKE, "Processed") == []  # the move waits at the gate
    twins[0].gate.set()
    settler.finish()
    assert settler.pending() == frozenset() and twins[0].closed
    assert clean_mail.messages(INTAKE, "Processed") == raws[:2]
    assert clean_mail.messages(INTAKE) == raws[2:]


def test_a_held_move_waits_for_release_and_its_mail_is_not_fetched_meanwhile(source, clean_mail):
    raws = in_the_inbox(clean_mail, 4)
    settler, twins = gated(source)
    batch = source.peek_new(limit=2)
    settler.hold(source.fetch_whole(batch))
    assert settler.pending() == {i.key for i in batch}
    following = source.peek_new(limit=2, skip=settler.pending())
    assert [i.key for i in following] == [i.key for i in source.peek_new()][2:]
    twins[0].gate.set()  # the twin could move now, but nothing was handed to it yet
    time.sleep(0.2)
    assert twins[0].tries == 0 and clean_mail.messages(INTAKE, "Processed") == []
    settler.release()
    settler.finish()
    assert twins[0].tries == 1 and settler.pending() == frozenset()
    assert clean_mail.messages(INTAKE, "Processed") == raws[:2]
    assert clean_mail.messages(INTAKE) == raws[2:]


def test_finish_makes_the_moves_still_held_and_close_leaves_them_in_the_inbox(source, clean_mail):
    """A pass that ends (nothing more, a stop, the lease lost) moves what it held; one that fails
    leaves it in the inbox, where the ledger recognises it next time."""
    raws = in_the_inbox(clean_mail, 2)
    first, second = source.fetch_new()
    ended, twins = gated(source)
    ended.hold([first])
    twins[0].gate.set()
    ended.finish()
    assert clean_mail.messages(INTAKE, "Processed") == raws[:1]
    failed, twins = gated(source)
    failed.hold([second], folder="Sent")
    twins[0].gate.set()
    failed.close()
    assert twins[0].tries == 0 and clean_mail.messages(INTAKE) == raws[1:]


def test_a_move_the_twin_cannot_make_is_made_on_the_main_connection(source, clean_mail):
    """A server that allows one connection, or drops the second: nothing fails, nothing is fetched
    twice, and the rest of the pass moves on the main connection."""
    raws = in_the_inbox(clean_mail, 4)
    settler, twins = gated(source, fail=True)
    first, second, third, fourth = source.fetch_new()
    settler.move([first, second], background=True)
    twins[0].gate.set()
    deadline = time.monotonic() + 10
    while not settler._returned and time.monotonic() < deadline:  # the thread gave the move back
        time.sleep(0.01)
    assert settler.pending() == {first.key, second.key}  # given back, not moved yet: not fetched again
    assert [i.key for i in source.peek_new(skip=settler.pending())] == [third.key, fourth.key]
    settler.move([third], background=True)  # the twin failed: now, on the main connection
    assert settler.pending() == frozenset() and twins[0].tries == 1
    assert clean_mail.messages(INTAKE, "Processed") == raws[:3]
    settler.finish()
    assert clean_mail.messages(INTAKE) == raws[3:]


def test_a_move_given_back_at_the_end_of_the_pass_is_made_by_finish(source, clean_mail):
    raw = mail(1)
    clean_mail.append(INTAKE, raw)
    settler, twins = gated(source, fail=True)
    settler.move(source.fetch_new(), background=True)
    twins[0].gate.set()
    settler.finish()
    assert twins[0].closed and settler.pending() == frozenset()
    assert clean_mail.messages(INTAKE) == [] and clean_mail.messages(INTAKE, "Processed") == [raw]


def test_a_twin_that_cannot_connect_tries_once(clean_mail):
    [port] = free_ports(1)
    sleeps: list[float] = []
    down = ImapSource(ImapSettings(host=clean_mail.host, port=port, username=INTAKE,
                                   password=clean_mail.password, security="plain"), sleep=sleeps.append)
    twin = down.twin()
    with pytest.raises(MailboxError, match="CONNECT failed"):
        twin.mark_done_many([])
    assert sleeps == [] and down.settings.retries > 0  # the source itself keeps its retries


def test_the_last_round_moves_on_the_main_connection_without_a_twin(source, clean_mail):
    raw = mail(1)
    clean_mail.append(INTAKE, raw)
    settler, twins = gated(source)
    settler.move(source.fetch_new())  # background=False: nothing more waits
    assert twins == [] and clean_mail.messages(INTAKE, "Processed") == [raw]
    settler.finish()


def test_a_maildir_moves_at_once_even_in_the_background(tmp_path):
    MaildirSink(tmp_path / "mail").deliver(mail(1))
    maildir = MaildirSource(tmp_path / "mail")
    assert maildir.twin() is None
    settler = Settler(maildir)
    settler.move(maildir.fetch_new(), background=True)
    assert settler.pending() == frozenset() and maildir.fetch_new() == []
    settler.finish()


def test_a_maildir_moves_a_held_mail_at_once(tmp_path):
    """Nothing can take a held move (a Maildir has no second connection): made at once, so that
    the next fetch, which reads a batch before it leaves out what is pending, finds the rest."""
    sink = MaildirSink(tmp_path / "mail")
    for n in range(3):
        sink.deliver(mail(n))
    maildir = MaildirSource(tmp_path / "mail")
    settler = Settler(maildir)
    settler.hold(maildir.peek_new(limit=2))
    assert settler.pending() == frozenset()
    assert len(maildir.peek_new(limit=2, skip=settler.pending())) == 1
    settler.finish()


class InboxWithTwin:
    """A Maildir inbox read as an IMAP inbox is (what is pending is left out before the batch is
    cut), with a second connection whose moves, and the first connection's header reads, are
    logged in order. Each read of headers first waits 0.2 s: a move handed over before it has
    started by then."""

    def __init__(self, inner: MaildirSource):
        self.inner, self.log = inner, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def peek_new(self, limit=100, max_bytes=None, skip=()):
        time.sleep(0.2)
        items = [i for i in self.inner.fetch_new(10_000, max_bytes) if i.key not in skip][:limit]
        self.log.append(("read", {i.key for i in items}))
        return items

    def twin(self):
        return self

    def mark_done_many(self, items, folder=None):
        if threading.current_thread() is not threading.main_thread():
            self.log.append(("moved", {i.key for i in items}))
        self.inner.mark_done_many(items, folder)

    def close(self):
        pass


def test_a_round_hands_its_moves_over_once_the_next_round_has_read_its_headers(tmp_path):
    """fetch_pass in batches of 2 over 5 mails: each batch's move on the second connection starts
    after the next batch's headers were read, never while they are being read."""
    bot = Embedded(tmp_path, REPO / "rules")
    for n in range(5):
        bot.deliver(mail(n))
    rt = bot.runtime("2026-12-01", transport=False)
    try:
        inbox = InboxWithTwin(MaildirSource(tmp_path / "storage" / "mail"))
        fetch_pass(rt, inbox, batch=2)
    finally:
        rt.close()
    reads = [keys for kind, keys in inbox.log if kind == "read"]
    assert [len(keys) for keys in reads] == [2, 2, 1]
    moves = [(at, keys) for at, (kind, keys) in enumerate(inbox.log) if kind == "moved"]
    assert {frozenset(keys) for _at, keys in moves} == {frozenset(reads[0]), frozenset(reads[1])}
    for at, keys in moves:
        read_at = next(i for i, (kind, k) in enumerate(inbox.log) if kind == "read" and k == keys)
        assert any(kind == "read" for kind, _k in inbox.log[read_at + 1:at]), inbox.log
    assert MaildirSource(tmp_path / "storage" / "mail").fetch_new() == []


def test_a_backlog_larger_than_a_batch_is_answered_once_per_mail(tmp_path, clean_mail):
    """`run --once` with batches of 5: the moves of each batch run beside the fetch of the next,
    and no mail is fetched twice (no DUPLICATE), none is left in the inbox."""
    rig = clean_mail
    senders = [f"settle{i}@corp.test" for i in range(12)]
    for sender in senders:
        rig.add_user(sender)
        rig.clear(sender)
    with rig.imap(INTAKE) as client:
        for sender in senders:
            client.append("INBOX", form_mail(sender, f"{sender.split('@')[0]}@corp.test"))
    bot = make_env(tmp_path / "bot", rig, f"sqlite:///{tmp_path}/bot.db", extra="fetch_batch = 5")
    done = bot.cli("run", "--once", today="2026-12-01")
    assert "DUPLICATE" not in done.stderr
    # The source's connection, and a twin's in each pass that met more than a batch.
    assert done.stderr.count(f"{INTAKE}/INBOX: connected") >= 2
    assert rig.messages(INTAKE) == []
    assert len(rig.messages(INTAKE, "Processed")) == len(senders)
    for sender in senders:
        [reply] = [parse(m) for m in rig.wait_for_messages(sender, 1)]
        assert reply["In-Reply-To"] == f"<{sender.split('@')[0]}@corp.test>"
