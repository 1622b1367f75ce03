"""What the senders sent is written in the intake's own commit while it holds SQLite's write lock
(bot.outbox.sentmarks), and by a sender itself when nobody holds it. Real SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from sqlmodel import Session

from bot.intake import pipeline
from bot.outbox.compose import Draft
from bot.outbox.handoff import Handoff
from bot.outbox.queue import Sender, queue
from bot.outbox.sentmarks import SentMarks
from bot.store.models import Outbox
from bot.store.states import OutboxStatus
from bot.store.turns import WriteTurns

pytestmark = pytest.mark.rig

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
SENDER = Sender(address="intake@rb.test", name="办公室", domain="rb.test")


def finalizing_row(engine) -> Outbox:
    with Session(engine, expire_on_commit=False) as db:
        row = queue(db, Draft(purpose="reply-accepted", to=["ent9@corp.test"], subject="回执", body="您好"),
                    SENDER, NOW)
        row.status = OutboxStatus.FINALIZING
        db.commit()
        db.expunge(row)
    return row


def status_of(engine, row: Outbox) -> str:
    with Session(engine) as db:
        return db.get(Outbox, row.id).status


def test_a_sender_leaves_its_sent_to_the_intake_that_holds_the_lock(engine):
    turns = WriteTurns()
    marks = SentMarks(engine, turns)
    row = finalizing_row(engine)
    holding, release = threading.Event(), threading.Event()

    def intake():
        with turns.turn():
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=intake)
    thread.start()
    try:
        holding.wait(10)
        marks.record([(row, NOW)])  # returns at once: it does not wait for the turn
        assert len(marks) == 1 and status_of(engine, row) == OutboxStatus.FINALIZING
    finally:
        release.set()
        thread.join()
    handoff = Handoff(4, sent=marks)
    with Session(engine) as db:  # the intake's chunk: the marks go in with its commit
        assert pipeline._commit_with_sent(db, handoff) == [(row, NOW)]
    assert len(marks) == 0 and status_of(engine, row) == OutboxStatus.SENT


def test_a_sender_writes_its_sent_itself_when_nobody_holds_the_lock(engine):
    marks = SentMarks(engine, WriteTurns())
    row = finalizing_row(engine)
    marks.record([(row, NOW)])
    assert len(marks) == 0 and status_of(engine, row) == OutboxStatus.SENT


def test_marks_of_a_commit_that_failed_wait_for_the_next_one(engine):
    marks = SentMarks(engine, WriteTurns())
    row = finalizing_row(engine)
    with marks._lock:  # as left by a sender while the intake held the lock
        marks._rows.append((row, NOW))
    handoff = Handoff(4, sent=marks)

    class Broken(Exception):
        pass

    with Session(engine) as db:
        def fail():
            raise Broken()

        db.commit = fail
        with pytest.raises(Broken):
            pipeline._commit_with_sent(db, handoff)
        db.rollback()
    assert len(marks) == 1 and status_of(engine, row) == OutboxStatus.FINALIZING
    marks.flush()
    assert len(marks) == 0 and status_of(engine, row) == OutboxStatus.SENT
