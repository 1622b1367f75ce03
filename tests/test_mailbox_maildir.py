"""MaildirSource and MaildirSink on a temporary directory (no servers)."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest

from bot.errors import DeliveryError, MailboxError
from bot.mailbox import Fetched, MaildirSink, MaildirSource, Source
from bot.outbox.transport import MaildirTransport


def mail(n: int) -> bytes:
    return f"From: a{n}@corp.test\r\nTo: intake@rb.test\r\nMessage-ID: <m{n}@corp.test>\r\nSubject: {n}\r\n\r\nbody {n}\r\n".encode()


def files_in(maildir: Path) -> list[Path]:
    return sorted(p for sub in ("new", "cur") if (maildir / sub).is_dir() for p in (maildir / sub).iterdir())


@pytest.fixture
def inbox(tmp_path):
    source = MaildirSource(tmp_path / "Maildir")
    source.open()
    return source


def test_open_creates_private_structure(tmp_path):
    root = tmp_path / "Maildir"
    MaildirSource(root).open()
    for sub in ("tmp", "new", "cur"):
        assert stat.S_IMODE((root / sub).stat().st_mode) == 0o700


def test_is_a_source(inbox):
    assert isinstance(inbox, Source)


def test_sink_writes_private_file_atomically(tmp_path):
    path = MaildirSink(tmp_path / "M").deliver(b"Subject: x\r\n\r\nhi\r\n")
    assert path.parent == tmp_path / "M" / "new"
    assert path.read_bytes() == b"Subject: x\r\n\r\nhi\r\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list((tmp_path / "M" / "tmp").iterdir()) == []


def test_sink_names_are_unique(tmp_path):
    sink = MaildirSink(tmp_path / "M")
    names = {sink.deliver(b"x").name for _ in range(200)}
    assert len(names) == 200


def test_fetch_new_oldest_first_with_stable_keys(inbox):
    sink = MaildirSink(inbox.root)
    paths = [sink.deliver(mail(n)) for n in range(3)]
    for i, path in enumerate(paths):  # mtime, not the name, decides the order
        os.utime(path, ns=(10**18 - i * 10**9, 10**18 - i * 10**9))
    first = inbox.fetch_new()
    assert [item.raw for item in first] == [mail(2), mail(1), mail(0)]
    assert [item.uid for item in first] == [1, 2, 3]
    assert all(item.uidvalidity == inbox.uidvalidity > 0 and item.mailbox == inbox.name for item in first)
    assert first[0].key == f"{inbox.name}:{inbox.uidvalidity}:1:{paths[2].name}"
    assert [item.key for item in inbox.fetch_new()] == [item.key for item in first]
    # a new source object (a restart) keeps the numbers: they live in the Maildir
    again = MaildirSource(inbox.root).fetch_new()
    assert [item.key for item in again] == [item.key for item in first]


def test_lost_uidlist_changes_uidvalidity(inbox, monkeypatch):
    MaildirSink(inbox.root).deliver(mail(1))
    (before,) = inbox.fetch_new()
    (inbox.root / ".uidlist").unlink()
    monkeypatch.setattr(time, "time", lambda: before.uidvalidity + 100.0)
    (after,) = inbox.fetch_new()
    assert after.uid == before.uid == 1  # numbering starts again...
    assert after.uidvalidity != before.uidvalidity and after.key != before.key  # ...but keys cannot clash


def test_fetch_does_not_touch_files(inbox):
    path = MaildirSink(inbox.root).deliver(mail(1))
    inbox.fetch_new()
    assert path.exists()  # still in new/, no ":2,S" flag


def test_reads_cur_and_ignores_flags_in_the_key(inbox):
    path = MaildirSink(inbox.root).deliver(mail(1))
    (item,) = inbox.fetch_new()
    seen = inbox.root / "cur" / (path.name + ":2,S")
    os.rename(path, seen)  # a mail client read it
    (again,) = inbox.fetch_new()
    assert again.key == item.key


def test_limit(inbox):
    sink = MaildirSink(inbox.root)
    for n in range(5):
        sink.deliver(mail(n))
    assert len(inbox.fetch_new(limit=2)) == 2
    assert inbox.wait(0.01) is True  # more is waiting: do not sleep


def test_mark_done_moves_to_processed_and_uids_are_never_reused(inbox):
    sink = MaildirSink(inbox.root)
    sink.deliver(mail(1))
    sink.deliver(mail(2))
    first, second = inbox.fetch_new()
    inbox.mark_done(first)
    assert [p.read_bytes() for p in files_in(inbox.root / ".Processed")] == [mail(1)]
    assert (inbox.root / ".Processed" / "maildirfolder").exists()
    inbox.mark_done(first)  # a retry after a crash is harmless
    sink.deliver(mail(3))
    remaining = inbox.fetch_new()
    assert [(item.uid, item.raw) for item in remaining] == [(2, mail(2)), (3, mail(3))]


def test_mark_done_of_unknown_message_fails(inbox, tmp_path):
    ghost = Fetched(inbox.name, 1, 9, b"", f"{inbox.name}:1:9:nosuchfile")
    with pytest.raises(MailboxError, match="MOVE failed"):
        inbox.mark_done(ghost)


def test_quarantine_and_restore(inbox):
    MaildirSink(inbox.root).deliver(mail(1))
    (item,) = inbox.fetch_new()
    inbox.quarantine(item)
    assert inbox.fetch_new() == []
    assert len(files_in(inbox.root / ".Quarantine")) == 1
    assert inbox.restore("Quarantine") == 1
    (back,) = inbox.fetch_new()
    assert back.raw == mail(1) and back.uid == 2  # a new number: it left and came back
    assert inbox.restore("Quarantine") == 0
    assert inbox.restore("NoSuchFolder") == 0
    with pytest.raises(MailboxError):
        inbox.restore("../etc")


def test_wait_wakes_on_delivery(inbox):
    inbox.fetch_new()
    assert inbox.wait(0.3) is False
    threading.Timer(0.3, MaildirSink(inbox.root).deliver, [mail(1)]).start()
    started = time.monotonic()
    assert inbox.wait(5) is True
    assert time.monotonic() - started < 2
    assert len(inbox.fetch_new()) == 1


def test_uidlist_is_private(inbox):
    MaildirSink(inbox.root).deliver(mail(1))
    inbox.fetch_new()
    assert stat.S_IMODE((inbox.root / ".uidlist").stat().st_mode) == 0o600


def test_maildir_transport_keeps_envelope(tmp_path):
    MaildirTransport(tmp_path / "outbox").send(mail(1), "intake@rb.test", ["ent1@corp.test", "ent2@corp.test"])
    (path,) = files_in(tmp_path / "outbox")
    raw = path.read_bytes()
    assert raw.startswith(b"Return-Path: <intake@rb.test>\r\nX-Envelope-To: ent1@corp.test, ent2@corp.test\r\n")
    assert raw.endswith(mail(1))


def test_maildir_transport_disk_error_is_temporary(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(DeliveryError) as caught:
        MaildirTransport(blocker).send(mail(1), "a@b.test", ["c@d.test"])
    assert caught.value.permanent is False


def test_has_message_id_looks_in_the_inbox_only(inbox):
    sink = MaildirSink(inbox.root)
    sink.deliver(mail(1))
    sink.deliver(b"From: a@corp.test\nMessage-ID:\n <folded@corp.test>\nSubject: x\n\nMessage-ID: <in-body@corp.test>\n")
    assert inbox.has_message_id("m1@corp.test")
    assert inbox.has_message_id("folded@corp.test")  # a folded header line, LF line ends
    assert not inbox.has_message_id("in-body@corp.test")  # only the header counts
    assert not inbox.has_message_id("m2@corp.test")
    [first] = [i for i in inbox.fetch_new() if b"<m1@" in i.raw]
    inbox.mark_done_many([first], folder=inbox.sent_folder)
    assert not inbox.has_message_id("m1@corp.test")  # filed away: no longer in the inbox
    assert len(files_in(inbox.root / ".Sent")) == 1


def test_headers_of_never_reads_the_body():
    from bot.mailbox.base import HEADER_LIMIT, headers_of, message_id_of

    raw = b"Message-ID: <big@corp.test>\r\nSubject: x\r\n\r\n" + b"Message-ID: <no@x>\r\n" * 500_000
    headers = headers_of(raw)
    assert message_id_of(headers) == "big@corp.test" and headers.get_payload() == ""
    endless = b"X-Long: " + b"a" * (2 * HEADER_LIMIT)  # no blank line at all: capped, not read whole
    assert message_id_of(headers_of(endless)) is None
