"""bot.outbox.confirm: recognising our own sent copy, and settling mail whose dot went unanswered.

The database is real SQLite; `in_mailbox` stands in for the IMAP search (the rig tests in
test_reliability.py run the same path against Dovecot)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from bot.outbox.confirm import confirm_copies, confirm_copy, copy_message_id, settle_unconfirmed
from bot.outbox.queue import CLAIM, recover_stale
from bot.store.db import open_database
from bot.store.models import Outbox

OWN = "intake@rb.test"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
GRACE = timedelta(seconds=600)


def head(*lines: str, body: str = "正文") -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode()


@pytest.mark.parametrize("raw, expected", [
    (head(f"From: {OWN}", "Message-ID: <a1@bot.rb.test>", f"X-Loop: {OWN}"), "a1@bot.rb.test"),
    (head("Message-ID:\r\n <folded@bot.rb.test>", "X-Loop: Intake@RB.test"), "folded@bot.rb.test"),
    (head("Message-ID: <lf@bot.rb.test>", f"X-Loop: {OWN}").replace(b"\r\n", b"\n"), "lf@bot.rb.test"),
    (head("Message-ID: <a2@corp.test>", "X-Loop: someone-else@corp.test"), None),
    (head("Message-ID: <a3@corp.test>", "From: ent@corp.test"), None),
    (head("Message-ID: <a4@corp.test>", body=f"X-Loop: {OWN}"), None),  # only the header counts
    (head(f"X-Loop: {OWN}"), None),  # no Message-ID: nothing to confirm
])
def test_copy_message_id(raw, expected):
    assert copy_message_id(raw, OWN) == expected


def test_copy_message_id_needs_an_address():
    assert copy_message_id(head("Message-ID: <x@y>", "X-Loop: "), "") is None


@pytest.fixture
def engine(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path}/bot.db")
    yield engine
    engine.dispose()


def add(engine, message_id: str, status: str, claimed_by: str = "", due: datetime = NOW) -> None:
    with Session(engine) as db:
        db.add(Outbox(message_id=message_id, purpose="reply", mail_from=OWN, recipients="e@corp.test",
                      raw=b"x", status=status, claimed_by=claimed_by, next_attempt_at=due,
                      created_at=NOW - timedelta(hours=1)))
        db.commit()


def status(engine, message_id: str) -> tuple[str, str]:
    with Session(engine) as db:
        row = db.exec(select(Outbox).where(Outbox.message_id == message_id)).one()
        return row.status, row.last_error


def test_confirm_copy_marks_only_finalizing_rows_sent(engine):
    add(engine, "fin", "finalizing")
    add(engine, "pend", "pending")  # e.g. waiting to retry a 4xx recipient: the copy says nothing
    add(engine, "done", "sent")
    assert confirm_copy(engine, "fin", NOW) is True
    assert confirm_copy(engine, "pend", NOW) is True
    assert confirm_copy(engine, "done", NOW) is True
    assert confirm_copy(engine, "not-ours", NOW) is False
    assert status(engine, "fin") == ("sent", "confirmed by its sent copy")
    assert status(engine, "pend")[0] == "pending"


def test_confirm_copies_settles_a_batch_and_names_our_mail(engine):
    add(engine, "fin-1", "finalizing")
    add(engine, "fin-2", "finalizing")
    add(engine, "pend", "pending")
    add(engine, "done", "sent")
    ours = confirm_copies(engine, ["fin-1", "pend", "not-ours", "fin-2", "done", "fin-1"], NOW)
    assert ours == {"fin-1", "fin-2", "pend", "done"}
    assert status(engine, "fin-1") == status(engine, "fin-2") == ("sent", "confirmed by its sent copy")
    assert status(engine, "pend")[0] == "pending"
    assert confirm_copies(engine, [], NOW) == set()


def test_settle_waits_for_the_grace_and_for_a_live_sender(engine):
    add(engine, "young", "finalizing", due=NOW + timedelta(seconds=1))  # grace not over
    add(engine, "live", "finalizing", claimed_by="other-host:1", due=NOW - timedelta(seconds=1))
    asked = []
    assert settle_unconfirmed(engine, NOW, lambda mid: asked.append(mid) or False) == 0
    assert asked == []
    assert status(engine, "young")[0] == status(engine, "live")[0] == "finalizing"
    # A sender that has said nothing for a whole claim period is given up on, alive or not.
    assert settle_unconfirmed(engine, NOW + CLAIM, lambda mid: False) == 2


def test_settle_sends_again_without_a_copy_and_confirms_with_one(engine):
    add(engine, "lost", "finalizing", due=NOW - timedelta(seconds=1))
    add(engine, "arrived", "finalizing", due=NOW - timedelta(seconds=1))
    decided = settle_unconfirmed(engine, NOW, lambda mid: mid == "arrived")
    assert decided == 2
    assert status(engine, "arrived") == ("sent", "confirmed by its sent copy")
    new_status, why = status(engine, "lost")
    assert new_status == "pending" and "no sent copy" in why


def test_recover_stale_leaves_finalizing_rows_to_the_copy_when_copies_are_sent(engine):
    add(engine, "fin", "finalizing", due=NOW - timedelta(hours=1))
    recover_stale(engine, NOW, GRACE)
    assert status(engine, "fin")[0] == "finalizing"
    recover_stale(engine, NOW, None)  # no copy to wait for: a dead sender's dot counts as sent
    assert status(engine, "fin")[0] == "sent"


def test_recover_stale_does_not_overwrite_a_row_another_sender_took_meanwhile(engine, monkeypatch):
    """Two senders recover at once: the one that comes second must not put back to `pending` a
    row the first has already claimed again (both would send it: a duplicate, seen in the kill test)."""
    import socket
    import subprocess
    import sys

    from sqlalchemy import update

    import bot.outbox.queue as queue

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    add(engine, "r", "sending", claimed_by=f"{socket.gethostname()}:{gone}", due=NOW + CLAIM)
    real = queue._stale_verdict

    def racing(row, now, grace):
        verdict = real(row, now, grace)
        with Session(engine) as db:  # meanwhile: the other sender recovered and claimed it
            db.execute(update(Outbox).where(Outbox.message_id == "r")
                       .values(status="sending", claimed_by="other-host:7"))
            db.commit()
        return verdict

    monkeypatch.setattr(queue, "_stale_verdict", racing)
    recover_stale(engine, NOW, None)
    with Session(engine) as db:
        row = db.exec(select(Outbox).where(Outbox.message_id == "r")).one()
    assert (row.status, row.claimed_by) == ("sending", "other-host:7")
