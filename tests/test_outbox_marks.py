"""bot.outbox.queue marks each mail `finalizing` before its final dot, committed where another
process sees it, and the rows of one sender's batch are marked through one connection (a pool
checkout per batch rather than per mail) in autocommit: the mark is one round trip, not BEGIN,
UPDATE and COMMIT. A mail the server refuses for now waits a doubling back-off. Real SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from bot.errors import DeliveryError
from bot.outbox.compose import Draft
from bot.outbox.queue import CLAIM_BATCH, Sender, drain, queue
from bot.store.models import Outbox
from bot.store.states import OutboxStatus

pytestmark = pytest.mark.rig

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
SENDER = Sender(address="intake@rb.test", name="办公室", domain="rb.test")


class Watching:
    """A transport that, at each final dot, reads the mail's row as another process would, and
    notes how many connections the engine's pool had handed out by then."""

    def __init__(self, engine):
        self.engine, self.checkouts, self.seen = engine, 0, []
        self.autocommit: list[bool] = []  # of the driver's connection, at each mark
        event.listen(engine, "checkout", self._count)
        event.listen(engine, "before_cursor_execute", self._statement)

    def _count(self, *_args) -> None:
        self.checkouts += 1

    def _statement(self, conn, _cursor, text, *_rest) -> None:
        if text.startswith("UPDATE outbox SET status=") and "next_attempt_at" in text and "claimed_by" not in text:
            driver = conn.connection.dbapi_connection
            # psycopg: autocommit; sqlite3 (Python 3.11): no isolation level, so no implicit BEGIN
            self.autocommit.append(driver.autocommit if hasattr(driver, "autocommit")
                                   else driver.isolation_level is None)

    def send(self, raw, mail_from, rcpt_to, before_dot=None):
        before_dot()
        checkouts = self.checkouts
        with Session(self.engine) as db:  # another connection: what a second daemon would read
            status = db.exec(select(Outbox.status).where(Outbox.recipients == rcpt_to[0])).one()
        self.seen.append((rcpt_to[0], status, checkouts))


def test_each_mail_is_finalizing_at_its_dot_and_a_batch_takes_one_connection(engine):
    to = [f"ent{i}@corp.test" for i in range(CLAIM_BATCH)]
    with Session(engine) as db:
        for address in to:
            queue(db, Draft(purpose="reply-accepted", to=[address], subject="回执", body="您好"), SENDER, NOW)
        db.commit()
    transport = Watching(engine)
    result = drain(engine, transport, lambda: NOW)
    assert result.sent == CLAIM_BATCH
    assert [(a, s) for a, s, _n in transport.seen] == [(a, OutboxStatus.FINALIZING) for a in to]
    # Between one mail's mark and the next, only the reading Session above took a connection.
    marks = [n for _a, _s, n in transport.seen]
    assert [b - a for a, b in zip(marks, marks[1:])] == [1] * (CLAIM_BATCH - 1)
    assert transport.autocommit == [True] * CLAIM_BATCH
    with Session(engine) as db:
        assert {r.status for r in db.exec(select(Outbox))} == {OutboxStatus.SENT}


class Later:
    """A server that answers every mail with a 4xx."""

    def __init__(self):
        self.tries = 0

    def send(self, raw, mail_from, rcpt_to, before_dot=None):
        self.tries += 1
        raise DeliveryError("451 4.3.0 try again later")


def test_a_mail_refused_for_now_waits_a_minute_then_two_then_four(engine):
    with Session(engine) as db:
        queue(db, Draft(purpose="reply-accepted", to=["ent1@corp.test"], subject="回执", body="您好"), SENDER, NOW)
        db.commit()
    server, now, waits = Later(), NOW, []
    for _ in range(3):
        assert drain(engine, server, lambda: now).sent == 0
        with Session(engine) as db:
            row = db.exec(select(Outbox)).one()
        due = row.next_attempt_at.replace(tzinfo=timezone.utc)
        waits.append(due - now)
        assert drain(engine, server, lambda: due - timedelta(seconds=1)).sent == 0  # not due yet: no try
        now = due
    assert waits == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert server.tries == 3 and row.status == OutboxStatus.PENDING and row.attempts == 3
