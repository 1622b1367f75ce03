"""Seats taken in a session (bot.cases.seats_used, seats_for), on real SQLite and PostgreSQL: the
sender's own earlier form is left out in the same query that counts, another address that knows the
credit code gets no such discount, and a case flagged DUPLICATE-CODE takes no seat."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlmodel import Session

from bot.cases import seats_for, seats_used
from bot.store.db import make_engine, migrate
from bot.store.models import Case

pytestmark = pytest.mark.rig

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
OWN, OTHER, FLAGGED = "91150302MA05DFNF2Y", "91150303MA0N8Y7T4K", "911503007014502929"


def _case(number: str, code: str, sender: str, *, session: str = "2026-12", decision: str = "accepted",
          contact: str = "", flags: str = "") -> Case:
    return Case(number=number, status=decision, decision=decision, sender=sender, credit_code=code,
                contact_email=contact, session_id=session, field_id="industry", flags=flags,
                created_at=NOW, updated_at=NOW)


@pytest.fixture
def db(db_url):
    engine = make_engine(db_url)
    migrate(engine)
    with Session(engine) as session:
        session.add_all([
            _case("C-1", OWN, "Ent@Corp.test", contact="office@corp.test"),
            _case("C-2", OTHER, "other@corp.test"),
            _case("C-3", FLAGGED, "thief@evil.test", flags="DUPLICATE-CODE"),
            _case("C-4", OTHER, "other@corp.test", session="2027-03"),
            _case("C-5", OWN, "ent@corp.test", decision="deferred"),
        ])
        session.commit()
        yield session
    engine.dispose()


def test_seats_used_counts_accepted_unflagged_cases_of_the_session(db):
    assert seats_used(db, "2026-12") == 2
    assert seats_used(db, "2027-03") == 1
    assert seats_used(db, "2027-06") == 0


@pytest.mark.parametrize("code, sender, seats", [
    (OWN, "ent@corp.test", 1),        # its own accepted form is not counted against it
    (OWN, "ENT@corp.test", 1),        # addresses compare without case
    (OWN, "office@corp.test", 1),     # nor against its registered contact
    (OWN, "stranger@evil.test", 2),   # someone else who knows the code gets no discount
    (OTHER, "ent@corp.test", 2),      # another enterprise's code: nothing of the sender's
    (FLAGGED, "thief@evil.test", 2),  # the flagged case took no seat to leave out
    (None, "ent@corp.test", 2),       # no code read: every seat counts
    (OWN, "", 2),
])
def test_seats_for_leaves_out_only_the_senders_own_form(db, code, sender, seats):
    assert seats_for(db, "2026-12", code, sender) == seats
