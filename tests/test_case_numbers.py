"""Case numbers (bot.cases.next_case_number) on real SQLite and PostgreSQL. A transaction that holds
its numbers (the intake's chunk: hold_numbers) takes the year's counter with one UPDATE and counts
on in memory, and stores the last number with one more UPDATE before its commit (write_numbers).
The first UPDATE keeps every other writer from taking a number until that commit, so numbers are
never given out twice; a rollback gives them back."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlmodel import Session

from bot.cases import hold_numbers, next_case_number, write_numbers
from bot.rules.loader import load_rules
from bot.store.models import Counter

pytestmark = pytest.mark.rig

REPO = Path(__file__).resolve().parents[1]
TODAY = date(2026, 12, 1)


@pytest.fixture(scope="module")
def rules():
    return load_rules(REPO / "rules")


def _counter_updates(engine) -> list[str]:
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cur, text, *rest: sent.append(text) if text.startswith("UPDATE counter") else None)
    return sent


def _seq(number: str) -> int:
    return int(number.rsplit("-", 1)[-1])


def _stored(engine) -> int:
    with Session(engine) as db:
        return db.get(Counter, f"case-{TODAY.year}").value


def test_a_held_transaction_takes_the_counter_once_and_stores_its_last_number(engine, rules):
    with Session(engine) as db:  # the year's first number, taken the plain way
        first = next_case_number(db, rules, TODAY)
        db.commit()
    sent = _counter_updates(engine)
    with Session(engine) as db:
        hold_numbers(db)
        numbers = [next_case_number(db, rules, TODAY) for _ in range(4)]
        write_numbers(db)
        db.commit()
    assert [_seq(n) for n in numbers] == [_seq(first) + i for i in range(1, 5)]
    assert len(sent) == 2  # one to take the counter, one to store the last number
    assert _stored(engine) == _seq(numbers[-1])
    with Session(engine) as db:  # a later transaction, held or not, goes on from there
        assert _seq(next_case_number(db, rules, TODAY)) == _seq(numbers[-1]) + 1
        db.commit()


def test_the_years_first_case_in_a_held_transaction(engine, rules):
    with Session(engine) as db:
        hold_numbers(db)
        numbers = [_seq(next_case_number(db, rules, TODAY)) for _ in range(3)]
        write_numbers(db)
        db.commit()
    assert numbers == [1, 2, 3]
    assert _stored(engine) == 3


def test_a_rolled_back_transaction_gives_its_numbers_back(engine, rules):
    with Session(engine) as db:
        hold_numbers(db)
        taken = [_seq(next_case_number(db, rules, TODAY)) for _ in range(3)]
        db.rollback()
    with Session(engine) as db:
        hold_numbers(db)
        again = [_seq(next_case_number(db, rules, TODAY)) for _ in range(2)]
        write_numbers(db)
        db.commit()
    assert taken == [1, 2, 3] and again == [1, 2]
    assert _stored(engine) == 2


@pytest.mark.parametrize("first", [False, True], ids=["counter-made", "the-years-first-case"])
def test_another_writer_waits_for_the_held_numbers_and_goes_on_after_them(engine, rules, first):
    """Whenever the other writer asks, it never gets a number the held transaction gave out, also
    when both take the year's first number (the counter's row is made by the held transaction)."""
    got: list[int] = []
    if not first:
        with Session(engine) as db:
            next_case_number(db, rules, TODAY)
            db.commit()
    with Session(engine) as db:
        hold_numbers(db)
        held = [_seq(next_case_number(db, rules, TODAY)) for _ in range(3)]

        def other_writer() -> None:
            with Session(engine) as other:
                got.append(_seq(next_case_number(other, rules, TODAY)))
                other.commit()

        thread = threading.Thread(target=other_writer)
        thread.start()
        thread.join(0.5)  # it is waiting for the counter's lock
        assert got == []
        held.append(_seq(next_case_number(db, rules, TODAY)))
        write_numbers(db)
        db.commit()
    thread.join(30)
    start = 1 if first else 2
    assert held == [start, start + 1, start + 2, start + 3]
    assert got == [start + 4]
    assert _stored(engine) == start + 4
