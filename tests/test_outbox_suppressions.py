"""The suppressed addresses the intake's sessions share (bot.outbox.queue.SuppressionCache): read
once every few seconds, not once per session; what this process suppresses counts at once, and
what it rolls back never does."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session

from bot.outbox.compose import Draft
from bot.outbox.queue import Sender, SuppressionCache, queue, suppress
from bot.store.db import open_database
from bot.store.models import Suppression
from bot.store.states import OutboxStatus

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
SENDER = Sender(address="intake@rb.test", name="办公室", domain="rb.test")


@pytest.fixture()
def engine(tmp_path):
    return open_database(f"sqlite:///{tmp_path / 'bot.db'}")


def status_of_a_reply_to(engine, cache: SuppressionCache, address: str) -> str:
    with Session(engine) as db:
        cache.lend(db)
        row = queue(db, Draft(purpose="reply-accepted", to=[address], subject="回执", body="您好"), SENDER, NOW)
        db.commit()
        return row.status


def suppress_elsewhere(engine, address: str) -> None:
    """Another process (a second daemon, the operator) writes a suppression."""
    with Session(engine) as db:
        db.add(Suppression(address=address, until=NOW + timedelta(days=7), reason="550"))
        db.commit()


def test_sessions_within_the_interval_share_one_reading(engine):
    cache = SuppressionCache(seconds=3600)
    assert status_of_a_reply_to(engine, cache, "a@corp.test") == OutboxStatus.PENDING
    suppress_elsewhere(engine, "a@corp.test")
    assert status_of_a_reply_to(engine, cache, "a@corp.test") == OutboxStatus.PENDING  # not read again yet


def test_the_table_is_read_again_after_the_interval(engine):
    cache = SuppressionCache(seconds=0)
    assert status_of_a_reply_to(engine, cache, "a@corp.test") == OutboxStatus.PENDING
    suppress_elsewhere(engine, "a@corp.test")
    assert status_of_a_reply_to(engine, cache, "a@corp.test") == OutboxStatus.SUPPRESSED


def test_a_suppression_written_in_this_process_counts_at_once(engine):
    cache = SuppressionCache(seconds=3600)
    assert status_of_a_reply_to(engine, cache, "b@corp.test") == OutboxStatus.PENDING
    with Session(engine) as db:  # a sender thread's session, after a 550
        cache.lend(db)
        suppress(db, "b@corp.test", NOW + timedelta(days=7), "550 no such user")
        db.commit()
    assert status_of_a_reply_to(engine, cache, "b@corp.test") == OutboxStatus.SUPPRESSED
    assert status_of_a_reply_to(engine, cache, "c@corp.test") == OutboxStatus.PENDING


def test_an_expired_suppression_holds_nothing(engine):
    with Session(engine) as db:
        db.add(Suppression(address="d@corp.test", until=NOW - timedelta(seconds=1), reason="old"))
        db.commit()
    assert status_of_a_reply_to(engine, SuppressionCache(), "d@corp.test") == OutboxStatus.PENDING


def test_a_suppression_rolled_back_holds_nothing(engine):
    cache = SuppressionCache(seconds=3600)
    assert status_of_a_reply_to(engine, cache, "e@corp.test") == OutboxStatus.PENDING
    with Session(engine) as db:  # a sender's session that fails after suppressing
        cache.lend(db)
        suppress(db, "e@corp.test", NOW + timedelta(days=7), "550 no such user")
        db.rollback()
    assert status_of_a_reply_to(engine, cache, "e@corp.test") == OutboxStatus.PENDING
