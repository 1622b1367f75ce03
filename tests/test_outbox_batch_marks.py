"""With a sent copy to settle a crash, the first final dot of a sender's batch marks the whole batch
`finalizing` in one write (bot.outbox.queue, BATCH_MARK), which takes the senders' writes out of
the intake's way without changing what a crash comes to: a mail past its dot is settled by its
copy, a mail never sent goes out again (later: once the grace and the margin are over). Real
SQLite and PostgreSQL."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from bot.errors import DeliveryError
from bot.outbox.confirm import settle_unconfirmed
from bot.outbox.compose import Draft
from bot.outbox.queue import BATCH_MARK, Sender, drain, queue
from bot.store.models import Outbox
from bot.store.states import OutboxStatus

pytestmark = pytest.mark.rig

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
GRACE = timedelta(seconds=30)
SENDER = Sender(address="intake@rb.test", name="办公室", domain="rb.test")
TO = [f"ent{i}@corp.test" for i in range(4)]


class _Crash(BaseException):
    """The process dies here."""


class Copying:
    """A transport whose server sends our own copy (so `confirm_grace` is set). At each final dot
    it reads every row as another process would; it dies before the dot of mail `die_at` (1-based)
    and answers mail `later_at` with a 4xx."""

    confirm_grace = GRACE

    def __init__(self, engine, die_at: int = 0, later_at: int = 0):
        self.engine, self.die_at, self.later_at = engine, die_at, later_at
        self.seen: list[dict[str, tuple[str, datetime]]] = []
        self.marks = 0  # the statements that mark rows finalizing
        event.listen(engine, "before_cursor_execute", self._statement)

    def _statement(self, _conn, _cursor, text, *_rest) -> None:
        if text.startswith("UPDATE outbox SET status=") and "next_attempt_at" in text and "claimed_by" not in text:
            self.marks += 1

    def send(self, raw, mail_from, rcpt_to, before_dot=None):
        if len(self.seen) + 1 == self.later_at:
            self.seen.append({})
            raise DeliveryError("451 4.3.0 try again later")
        before_dot()
        with Session(self.engine) as db:
            self.seen.append({r.recipients: (r.status, _utc(r.next_attempt_at))
                              for r in db.exec(select(Outbox))})
        if len(self.seen) == self.die_at:
            raise _Crash()

    def close(self):
        pass


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def queue_four(engine) -> None:
    with Session(engine) as db:
        for address in TO:
            queue(db, Draft(purpose="reply-accepted", to=[address], subject="回执", body="您好"), SENDER, NOW)
        db.commit()


def rows(engine) -> dict[str, Outbox]:
    with Session(engine) as db:
        return {r.recipients: r for r in db.exec(select(Outbox))}


def dead_holder() -> str:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return f"{socket.gethostname()}:{done.stdout.strip()}"


def test_the_first_dot_of_a_batch_marks_the_whole_batch_in_one_write(engine):
    queue_four(engine)
    transport = Copying(engine)
    assert drain(engine, transport, lambda: NOW).sent == 4
    assert transport.marks == 1
    first = transport.seen[0]  # every row of the batch is finalizing before the first dot
    assert first[TO[0]] == (OutboxStatus.FINALIZING, NOW + GRACE)
    assert all(first[a] == (OutboxStatus.FINALIZING, NOW + GRACE + BATCH_MARK) for a in TO[1:])
    assert {r.status for r in rows(engine).values()} == {OutboxStatus.SENT}


def test_a_mail_whose_dot_comes_after_the_margin_is_marked_again(engine):
    """A slow server: each dot comes later than its batch mark allowed for, so each mail is marked
    again at its own dot, and its copy still has the whole grace from there."""
    queue_four(engine)
    transport = Copying(engine)
    step = BATCH_MARK + timedelta(seconds=1)
    now, dots = [NOW], []
    real_send = transport.send

    def slow_send(raw, mail_from, rcpt_to, before_dot=None):
        now[0] += step
        dots.append(now[0])
        return real_send(raw, mail_from, rcpt_to, before_dot)

    transport.send = slow_send
    assert drain(engine, transport, lambda: now[0]).sent == 4
    assert transport.marks == 4
    assert [seen[address] for seen, address in zip(transport.seen, TO)] == \
        [(OutboxStatus.FINALIZING, at + GRACE) for at in dots]


def test_a_crash_before_a_later_dot_leaves_the_rest_of_the_batch_to_their_copies(engine):
    """Dead before the second dot: the first mail went out (its copy settles it), the others never
    did. No copy comes for them, so they go out again once the grace and the margin are over, and
    not before (an earlier resend could duplicate a mail whose copy is still on its way)."""
    queue_four(engine)
    gone = dead_holder()
    with pytest.raises(_Crash):
        drain(engine, Copying(engine, die_at=2), lambda: NOW, holder=gone)
    left = rows(engine)
    assert left[TO[0]].status == OutboxStatus.SENT  # recorded on the way out
    assert all(left[a].status == OutboxStatus.FINALIZING for a in TO[1:])
    until = NOW + GRACE + BATCH_MARK
    assert settle_unconfirmed(engine, until - timedelta(seconds=1), lambda _mid: False) == 0
    assert settle_unconfirmed(engine, until, lambda mid: mid == left[TO[1]].message_id) == 3
    after = rows(engine)
    assert after[TO[1]].status == OutboxStatus.SENT  # its copy had arrived: sent, not sent again
    assert [after[a].status for a in TO[2:]] == [OutboxStatus.PENDING] * 2
    assert drain(engine, Copying(engine), lambda: until).sent == 2
    assert {r.status for r in rows(engine).values()} == {OutboxStatus.SENT}


def test_the_untried_rest_of_a_marked_batch_goes_back_pending_uncharged(engine):
    """A 4xx for the second mail stops the batch: the two after it were marked with the first dot
    but never tried, and go back to the table as they were (pending, no try counted)."""
    queue_four(engine)
    transport = Copying(engine, later_at=2)
    result = drain(engine, transport, lambda: NOW)
    assert (result.sent, result.retried) == (1, 1)
    left = rows(engine)
    assert (left[TO[1]].status, left[TO[1]].attempts) == (OutboxStatus.PENDING, 1)
    assert [(left[a].status, left[a].attempts, left[a].claimed_by) for a in TO[2:]] == \
        [(OutboxStatus.PENDING, 0, "")] * 2
