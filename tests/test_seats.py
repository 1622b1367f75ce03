"""Seats taken in a session (bot.cases.seats_used, seats_for), on real SQLite and PostgreSQL: the
sender's own earlier form is left out in the same query that counts, another address that knows the
credit code gets no such discount, and a case flagged DUPLICATE-CODE takes no seat. The intake's
seats_in_transaction gives the same answers from a count read once per transaction, read again
when record() changes a case that takes a seat."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlmodel import Session

from bot.cases import forget_reads, record, same_code, seats_for, seats_in_transaction, seats_used
from bot.forms.model import Form
from bot.rules.loader import load_rules
from bot.store.models import Case
from bot.verdict import Decision, Verdict

pytestmark = pytest.mark.rig

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
OWN, OTHER, FLAGGED = "91150302MA05DFNF2Y", "91150303MA0N8Y7T4K", "911503007014502929"


def _case(number: str, code: str, sender: str, *, session: str = "2026-12", decision: str = "accepted",
          contact: str = "", flags: str = "") -> Case:
    return Case(number=number, status=decision, decision=decision, sender=sender, credit_code=code,
                contact_email=contact, session_id=session, field_id="industry", flags=flags,
                created_at=NOW, updated_at=NOW)


@pytest.fixture
def db(engine):
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
    assert seats_in_transaction(db, "2026-12", sender, same_code(db, code)) == seats


def _is_seat_count(text: str) -> bool:
    return "count(*)" in text and "FROM case_record" in text


def counting(engine) -> list[str]:
    """The seat counts run on `engine` from now on (their SQL text)."""
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda c, cur, text, *rest: seen.append(text)
                 if _is_seat_count(text) else None)
    return seen


def test_a_transaction_counts_a_session_once_until_a_seat_changes(engine, db):
    counts = counting(engine)
    mine = same_code(db, OWN)
    assert [seats_in_transaction(db, "2026-12", "ent@corp.test", mine) for _ in range(3)] == [1, 1, 1]
    assert seats_in_transaction(db, "2026-12", "stranger@evil.test", []) == 2
    assert len(counts) == 1  # one count of the session for all four questions
    assert seats_in_transaction(db, "2027-03", "ent@corp.test", mine) == 1
    assert len(counts) == 2  # another session is counted on its own
    with Session(engine) as other:  # a seat taken by another transaction meanwhile (a phone registration)
        other.add(_case("C-9", "91150304MA0N8Y7T4X", "late@corp.test"))
        other.commit()
    assert seats_in_transaction(db, "2026-12", "stranger@evil.test", []) == 2  # still the count read
    forget_reads(db)
    assert seats_in_transaction(db, "2026-12", "stranger@evil.test", []) == 3
    assert len(counts) == 3


def test_the_sessions_ahead_are_counted_in_the_same_query(engine, db):
    """The intake names every session of the rules: a form matched against several sessions (the
    current one full, the next ones ahead) costs one count for all of them."""
    counts = counting(engine)
    sessions = ("2026-12", "2027-03", "2027-06")
    got = {sid: seats_in_transaction(db, sid, "stranger@evil.test", [], sessions) for sid in sessions}
    assert got == {sid: seats_used(db, sid) for sid in sessions} == {"2026-12": 2, "2027-03": 1, "2027-06": 0}
    assert len(counts) == 1 + len(sessions)  # one for the three sessions, then seats_used's own
    assert seats_in_transaction(db, "2027-09", "stranger@evil.test", [], sessions) == 0
    assert len(counts) == 2 + len(sessions)  # a session not named is counted when asked


def _verdict(code: str, decision: str) -> Verdict:
    form = Form(enterprise_name="乌海市新材料有限公司", credit_code=code, contact_email="new@corp.test")
    return Verdict(decision, form=form, field="industry", session="2026-12")


@pytest.mark.parametrize("decision, seats_after", [(Decision.ACCEPTED, 3), (Decision.DEFERRED, 2)])
def test_recording_a_case_that_takes_a_seat_reads_the_count_again(engine, db, decision, seats_after):
    rules = load_rules(Path(__file__).resolve().parents[1] / "rules")
    assert seats_in_transaction(db, "2026-12", "stranger@evil.test", []) == 2
    counts = counting(engine)
    record(db, _verdict("91150304MA0N8Y7T4X", decision), rules, sender="new@corp.test", refs=[],
           message_id="<new@corp.test>", today=date(2026, 12, 1), now=NOW)
    assert seats_in_transaction(db, "2026-12", "stranger@evil.test", []) == seats_after
    assert len(counts) == (1 if decision == Decision.ACCEPTED else 0)  # a deferred case takes no seat


def test_updating_the_senders_counted_case_reads_the_count_again(engine, db):
    rules = load_rules(Path(__file__).resolve().parents[1] / "rules")
    assert seats_in_transaction(db, "2026-12", "stranger@evil.test", []) == 2
    got = record(db, _verdict(OWN, Decision.DEFERRED), rules, sender="ent@corp.test", refs=[],
                 message_id="<again@corp.test>", today=date(2026, 12, 1), now=NOW)
    assert got.updated and got.case.number == "C-1"  # its accepted case, now deferred: a seat freed
    assert seats_in_transaction(db, "2026-12", "stranger@evil.test", []) == 1
