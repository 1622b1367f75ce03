"""Why mail is held back (bot.outbox.queue). The suppressed addresses the intake's sessions share
(SuppressionCache): read once every few seconds, not once per session; what this process
suppresses counts at once, and what it rolls back never does. The cap on automatic answers per
recipient: it holds inside one transaction too, since the intake queues a whole chunk's answers in
one. A mail that one recipient refuses for good is sent to the others and the drain goes on."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from bot.outbox.compose import Draft
from bot.outbox.queue import Sender, SuppressionCache, count_answers, drain, queue, suppress
from bot.outbox.transport import RecipientsRefused
from bot.store import later
from bot.store.db import open_database
from bot.store.models import Outbox, Suppression
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


# -- the cap on answers per recipient --------------------------------------------------------------

CAPPED = Sender(address="intake@rb.test", name="办公室", domain="rb.test", cap=3)


def answer(db: Session, address: str, purpose: str = "reply-accepted", now: datetime = NOW) -> str:
    return queue(db, Draft(purpose=purpose, to=[address], subject="回执", body="您好"), CAPPED, now).status


@pytest.fixture(params=["asked per answer", "read for the transaction", "held for the commit"])
def session_of(request, engine):
    """A session as the outbox's other callers open it, or as the intake opens a chunk's: with the
    counts of its recipients read once (count_answers), then kept up to date as it queues, and
    its new rows held until the commit (bot.store.later), so a count must include them."""
    def open_session() -> Session:
        db = Session(engine)
        if request.param != "asked per answer":
            count_answers(db, ["a@corp.test", "B@corp.test "], CAPPED, NOW)
        if request.param == "held for the commit":
            later.hold(db)
            event.listen(db, "before_commit", later.add_held)
        return db
    return open_session


def test_answers_queued_in_one_transaction_count_against_the_cap(session_of):
    with session_of() as db:
        statuses = [answer(db, "a@corp.test") for _ in range(5)]
        db.commit()
    assert statuses == [OutboxStatus.PENDING] * 3 + [OutboxStatus.SUPPRESSED] * 2


def test_answers_of_an_earlier_transaction_and_this_one_add_up(session_of):
    with session_of() as db:
        answer(db, "a@corp.test")
        db.commit()
    with session_of() as db:
        statuses = [answer(db, "a@corp.test") for _ in range(3)]
        db.commit()
    assert statuses == [OutboxStatus.PENDING] * 2 + [OutboxStatus.SUPPRESSED]


def test_only_answers_to_that_address_in_the_window_count(session_of):
    with session_of() as db:
        answer(db, "a@corp.test", now=NOW - timedelta(days=2))  # outside the 24 h window
        db.commit()
    with session_of() as db:
        answer(db, "b@corp.test")
        answer(db, "a@corp.test", purpose="slip")  # the office's own mail is not capped
        statuses = [answer(db, "a@corp.test") for _ in range(4)]
        db.commit()
    assert statuses == [OutboxStatus.PENDING] * 3 + [OutboxStatus.SUPPRESSED]


def test_held_answers_do_not_count_and_others_are_asked_for(session_of):
    with session_of() as db:
        statuses = [answer(db, "b@corp.test") for _ in range(5)]  # held ones add nothing
        statuses += [answer(db, "c@corp.test") for _ in range(4)]  # not read up front: asked
        db.commit()
    with session_of() as db:
        statuses.append(answer(db, "b@corp.test"))
        db.commit()
    pending, held = OutboxStatus.PENDING, OutboxStatus.SUPPRESSED
    assert statuses == [pending] * 3 + [held] * 2 + [pending] * 3 + [held] + [held]


# -- a mail some recipients refused for good ---------------------------------------------------------

class RefusesOne:
    """A transport whose server refuses bad@corp.test for good (550) and takes everyone else."""

    def __init__(self):
        self.sent: list[list[str]] = []

    def send(self, raw, mail_from, rcpt_to, before_dot=None):
        if before_dot is not None:
            before_dot()
        self.sent.append(list(rcpt_to))
        if "bad@corp.test" in rcpt_to:
            raise RecipientsRefused({"bad@corp.test": (550, "5.1.1 no such user")},
                                    [a for a in rcpt_to if a != "bad@corp.test"])


def test_a_mail_refused_for_good_by_one_recipient_counts_as_sent_and_the_drain_goes_on(engine):
    with Session(engine) as db:
        queue(db, Draft(purpose="slip", to=["ok@corp.test", "bad@corp.test"], subject="交办", body="您好"),
              SENDER, NOW)
        queue(db, Draft(purpose="slip", to=["next@corp.test"], subject="交办", body="您好"), SENDER, NOW)
        db.commit()
    transport = RefusesOne()
    result = drain(engine, transport, lambda: NOW)
    assert (result.sent, result.retried) == (2, 0)
    assert transport.sent == [["ok@corp.test", "bad@corp.test"], ["next@corp.test"]]
    with Session(engine) as db:
        assert [r.status for r in db.exec(select(Outbox).order_by(Outbox.id))] == [OutboxStatus.SENT] * 2
