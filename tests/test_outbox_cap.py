"""The cap on automatic answers per recipient (bot.outbox.queue) holds inside one transaction too:
the intake queues a whole chunk's answers in one, so an answer queued earlier in it counts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from bot.outbox.compose import Draft
from bot.outbox.queue import Sender, queue
from bot.store.db import open_database
from bot.store.models import Outbox
from bot.store.states import OutboxStatus

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
SENDER = Sender(address="intake@rb.test", name="办公室", domain="rb.test", cap=3)


@pytest.fixture()
def engine(tmp_path):
    return open_database(f"sqlite:///{tmp_path / 'bot.db'}")


def answer(db: Session, address: str, purpose: str = "reply-accepted", now: datetime = NOW) -> Outbox:
    return queue(db, Draft(purpose=purpose, to=[address], subject="回执", body="您好"), SENDER, now)


def test_answers_queued_in_one_transaction_count_against_the_cap(engine):
    with Session(engine) as db:
        statuses = [answer(db, "a@corp.test").status for _ in range(5)]
        db.commit()
    assert statuses == [OutboxStatus.PENDING] * 3 + [OutboxStatus.SUPPRESSED] * 2


def test_written_and_unflushed_answers_add_up(engine):
    with Session(engine) as db:
        answer(db, "a@corp.test")
        db.commit()
    with Session(engine) as db:
        answer(db, "a@corp.test")
        db.flush()
        statuses = [answer(db, "a@corp.test").status for _ in range(2)]
        db.commit()
    assert statuses == [OutboxStatus.PENDING, OutboxStatus.SUPPRESSED]


def test_only_answers_to_that_address_in_the_window_count(engine):
    with Session(engine) as db:
        answer(db, "a@corp.test", now=NOW - timedelta(days=2))  # outside the 24 h window
        answer(db, "b@corp.test")
        answer(db, "a@corp.test", purpose="slip")  # the office's own mail is not capped
        statuses = [answer(db, "a@corp.test").status for _ in range(4)]
        db.commit()
    assert statuses == [OutboxStatus.PENDING] * 3 + [OutboxStatus.SUPPRESSED]
