"""bot.cases.record on real SQLite and PostgreSQL: a form is compared with the cases of its credit
code read once (same_code): the sender's own open case of the same session and field is updated,
from its address or its registered contact; another address's case flags the new one
DUPLICATE-CODE; a closed case, another session or a rejected form changes nothing. The intake's
chunk reads the cases of all its codes at once (read_codes) and gives the same answers for each
mail as reading them one at a time, with the cases its earlier mails wrote."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from bot.cases import hold_numbers, read_codes, record, same_code, write_numbers
from bot.forms.model import Form
from bot.rules.loader import load_rules
from bot.store import later
from bot.store.models import Case, CaseEvent, Outbox
from bot.verdict import Decision, Verdict

pytestmark = pytest.mark.rig

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
CODE, OTHER_CODE = "91150302MA05DFNF2Y", "91150303MA0N8Y7T4K"


@pytest.fixture(scope="module")
def rules():
    return load_rules(REPO / "rules")


def verdict(code: str = CODE, decision: str = Decision.ACCEPTED, session: str = "2026-12",
            contact: str = "office@corp.test") -> Verdict:
    form = Form(enterprise_name="乌海市新材料有限公司", credit_code=code, contact_email=contact)
    return Verdict(decision, form=form, field="industry", session=session)


def put(engine, rules, v: Verdict, sender: str, selects: list[str] | None = None):
    with Session(engine, expire_on_commit=False) as db:
        if selects is not None:
            event.listen(engine, "before_cursor_execute", lambda c, cur, text, *rest: selects.append(text)
                         if text.lstrip().startswith("SELECT case_record") else None)
        got = record(db, v, rules, sender=sender, refs=[], message_id=f"<{sender}-{len(v.flags)}>",
                     today=date(2026, 12, 1), now=NOW)
        db.commit()
        return got


def test_a_second_form_from_the_sender_updates_its_case_with_one_query(engine, rules):
    first = put(engine, rules, verdict(), "ent@corp.test")
    selects: list[str] = []
    again = put(engine, rules, verdict(), "ENT@corp.test", selects)
    assert again.updated and again.case.number == first.case.number
    assert len(selects) == 1  # the cases of the code, read once for both questions


def test_the_registered_contact_may_update_the_case(engine, rules):
    first = put(engine, rules, verdict(), "ent@corp.test")
    again = put(engine, rules, verdict(), "office@corp.test")
    assert again.updated and again.case.number == first.case.number and not again.duplicate_of


def test_another_address_with_the_code_gets_its_own_flagged_case(engine, rules):
    first = put(engine, rules, verdict(), "ent@corp.test")
    selects: list[str] = []
    theirs = put(engine, rules, verdict(contact="thief@evil.test"), "thief@evil.test", selects)
    assert not theirs.updated and theirs.case.number != first.case.number
    assert theirs.duplicate_of == first.case.number and theirs.case.flags == "DUPLICATE-CODE"
    assert len(selects) == 1


def test_a_form_for_another_session_opens_a_new_unflagged_case(engine, rules):
    first = put(engine, rules, verdict(), "ent@corp.test")
    later = put(engine, rules, verdict(session="2027-03"), "ent@corp.test")
    assert not later.updated and later.case.number != first.case.number and not later.duplicate_of


def test_a_closed_or_rejected_case_is_neither_updated_nor_a_duplicate(engine, rules):
    first = put(engine, rules, verdict(), "ent@corp.test")
    with Session(engine) as db:
        case = db.get(Case, first.case.id)
        case.status = "closed"
        db.add(case)
        db.commit()
    again = put(engine, rules, verdict(), "ent@corp.test")
    assert not again.updated and again.case.number != first.case.number
    put(engine, rules, verdict(OTHER_CODE, Decision.REJECTED, contact="x@evil.test"), "x@evil.test")
    mine = put(engine, rules, verdict(OTHER_CODE), "other@corp.test")
    assert not mine.duplicate_of  # a rejected form's case is not a case to be flagged against


def test_a_form_without_a_code_is_compared_with_nothing(engine, rules):
    put(engine, rules, verdict(), "ent@corp.test")
    selects: list[str] = []
    got = put(engine, rules, verdict(code=""), "ent@corp.test", selects)
    assert not got.updated and not got.duplicate_of and selects == []


def record_in(db, rules, v: Verdict, sender: str, n: int):
    return record(db, v, rules, sender=sender, refs=[], message_id=f"<{sender}-{n}>",
                  today=date(2026, 12, 1), now=NOW)


def selects_on(engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda c, cur, text, *rest: seen.append(text)
                 if text.lstrip().startswith("SELECT case_record") else None)
    return seen


def hold(db, held: bool) -> None:
    """As the intake's chunk does: its new cases, their events and numbers wait for the commit."""
    if held:
        later.hold(db)
        hold_numbers(db)


def commit(db, held: bool) -> None:
    if held:
        later.add_held(db)
        write_numbers(db)
    db.commit()


HELD = pytest.mark.parametrize("held", [False, True], ids=["one-by-one", "held-as-a-chunk"])


@HELD
def test_a_chunk_reads_its_codes_once_and_sees_the_cases_it_writes(engine, rules, held):
    first = put(engine, rules, verdict(), "ent@corp.test")
    third_code = "91150302MA0N1RX23K"
    selects = selects_on(engine)
    with Session(engine) as db:
        hold(db, held)
        read_codes(db, [CODE, OTHER_CODE, None, third_code, CODE])
        assert len(selects) == 1  # the chunk's codes in one query
        assert [c.number for c in same_code(db, CODE)] == [first.case.number]
        assert same_code(db, OTHER_CODE) == [] and same_code(db, "") == []
        # the chunk's mails, in the same transaction: another address with the first code is
        # flagged against the case read; a new code's first case is seen by the next mail of it
        theirs = record_in(db, rules, verdict(contact="thief@evil.test"), "thief@evil.test", 1)
        assert theirs.duplicate_of == first.case.number
        own = record_in(db, rules, verdict(OTHER_CODE), "other@corp.test", 2).case.number
        again = record_in(db, rules, verdict(OTHER_CODE), "other@corp.test", 3)
        assert again.updated and again.case.number == own
        copy = record_in(db, rules, verdict(OTHER_CODE, contact="x@evil.test"), "x@evil.test", 4)
        assert copy.duplicate_of == own
        copy = copy.case.number
        record_in(db, rules, verdict(third_code, Decision.REJECTED, contact="r@corp.test"), "r@corp.test", 5)
        assert same_code(db, third_code) == []  # a rejected form's case is not one to compare with
        assert [s for s in selects if "IN (" not in s and "WHERE case_record.credit_code" in s] == []
        assert [c.number for c in same_code(db, CODE)] == [first.case.number, theirs.case.number]
        flagged = theirs.case.number
        commit(db, held)
    with Session(engine) as db:  # what a fresh read gives: the same, and each case has its events
        assert [c.number for c in same_code(db, OTHER_CODE)] == [own, copy]
        events = {(e.case_id, e.event) for e in db.exec(select(CaseEvent))}
        cases = {c.number: c.id for c in db.exec(select(Case))}
    assert (cases[flagged], "flagged") in events and (cases[copy], "flagged") in events
    assert (cases[own], "updated") in events and len(cases) == 5


@HELD
def test_a_corrected_code_moves_its_case_to_the_new_code(engine, rules, held):
    """A correction in reply to the notice may bring another credit code: the case is then one of
    the new code's cases, for the chunk's next mails as for a fresh read."""
    with Session(engine) as db:
        hold(db, held)
        read_codes(db, [CODE, OTHER_CODE])
        wrong = record_in(db, rules, verdict(CODE, Decision.NEEDS_CORRECTION), "ent@corp.test", 1)
        db.add(Outbox(message_id="notice@rb.test", purpose="reply-needs_correction", mail_from="intake@rb.test",
                      case_number=wrong.case.number, recipients="ent@corp.test", raw=b"",
                      next_attempt_at=NOW, created_at=NOW))
        fixed = record(db, verdict(OTHER_CODE), rules, sender="ent@corp.test", refs=["notice@rb.test"],
                       message_id="<fix>", today=date(2026, 12, 1), now=NOW)
        assert fixed.updated and fixed.case.number == wrong.case.number
        assert same_code(db, CODE) == []
        assert [c.number for c in same_code(db, OTHER_CODE)] == [wrong.case.number]
        number = wrong.case.number
        commit(db, held)
    with Session(engine) as db:
        assert same_code(db, CODE) == [] and [c.number for c in same_code(db, OTHER_CODE)] == [number]
