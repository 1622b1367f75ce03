"""Cases: the ledger of demands. record() turns a verdict into a new or updated case."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, bindparam, func, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from bot.errors import CaseError
from bot.rules import texts
from bot.rules.model import Ruleset
from bot.store import later
from bot.store.models import Case, CaseEvent, Counter, Outbox
from bot.store.states import CaseStatus
from bot.verdict import Decision, Reason, Rule, Verdict

COUNTED = (Decision.ACCEPTED,)  # decisions that take a seat in a session
OPEN_INTAKE = (CaseStatus.NEEDS_CORRECTION, CaseStatus.ACCEPTED, CaseStatus.DEFERRED)
TAKES_A_CASE = (Decision.ACCEPTED, Decision.DEFERRED)  # decisions that keep a case open for the office
CHANNELS = {"mail": "邮件", "phone": "电话", "onsite": "现场"}
SEAT_COUNTS = "seat_counts"  # Session.info key: seats taken per session (seats_in_transaction)
CODE_CASES = "code_cases"  # Session.info key: same_code() per credit code (read_codes)
NUMBERS = "case_numbers"  # Session.info key: counter name -> last value taken (hold_numbers)


@dataclass
class Recorded:
    case: Case | None
    updated: bool  # an existing case was updated (second form, or a correction)
    duplicate_of: str = ""  # the case of another address that has this credit code
    previous_reply_id: str = ""  # the case's last_outbound_id before record() set it to reply_id


# The queries of every mail are built once, with bind parameters: building a statement and its
# cache key again on each call cost more of the intake's main thread than running it.
_TAKES_A_SEAT = and_(Case.decision.in_(COUNTED), Case.flags.not_like(f"%{Rule.DUPLICATE_CODE}%"))


def _seats(exclude):
    """Seats taken in the session bound as `session`, the case whose id is `exclude` left out."""
    return select(func.count()).select_from(Case).where(
        Case.session_id == bindparam("session"), _TAKES_A_SEAT, Case.id != exclude)


def _party(key: str, case):
    """The case's sender or its registered contact is the lower-cased address bound as `key`."""
    return or_(func.lower(case.sender) == bindparam(key), func.lower(case.contact_email) == bindparam(key))


_SEATS = _seats(bindparam("exclude"))
_SEATS_OF = (select(Case.session_id, func.count()).where(
    Case.session_id.in_(bindparam("sessions", expanding=True)), _TAKES_A_SEAT).group_by(Case.session_id))
_MINE = aliased(Case)  # the sender's own accepted case of the session, found inside the count
_SEATS_NOT_MINE = _seats(func.coalesce(select(_MINE.id).where(
    _MINE.credit_code == bindparam("code"), _MINE.session_id == bindparam("session"),
    _MINE.decision == Decision.ACCEPTED, _party("sender", _MINE)).limit(1).scalar_subquery(), 0))
# The cases a new form with this credit code is compared with, oldest first: the sender's own
# open case (it is updated) and another address's case (the form is flagged). One query for both.
_OPEN_OR_COUNTED = or_(Case.status.in_(OPEN_INTAKE), Case.decision.in_(TAKES_A_CASE + (Decision.NEEDS_CORRECTION,)))
_SAME_CODE = select(Case).where(Case.credit_code == bindparam("code"), _OPEN_OR_COUNTED).order_by(Case.id)
_SAME_CODES = select(Case).where(Case.credit_code.in_(bindparam("codes", expanding=True)),
                                 _OPEN_OR_COUNTED).order_by(Case.id)
_THREAD = select(Outbox.case_number).where(
    Outbox.message_id.in_(bindparam("refs", expanding=True)), Outbox.case_number != "").order_by(Outbox.id.desc())
_BY_NUMBER = select(Case).where(Case.number == bindparam("number"))
_NEXT = (update(Counter).where(Counter.name == bindparam("counter"))
         .values(value=Counter.value + 1).returning(Counter.value))
_SET = update(Counter).where(Counter.name == bindparam("counter")).values(value=bindparam("value"))


def seats_used(db: Session, session_id: str, exclude_case: int | None = None) -> int:
    """Seats taken in a session. A case flagged DUPLICATE-CODE takes none until the office has
    looked at it: otherwise anyone who knows enterprises' (public) credit codes could fill a session."""
    return db.exec(_SEATS, params={"session": session_id, "exclude": exclude_case or 0}).one()  # ids start at 1


def seats_for(db: Session, session_id: str, credit_code: str | None, sender: str = "") -> int:
    """Seats taken, not counting the sender's own earlier form for the same session (one query)."""
    if not (credit_code and sender):
        return seats_used(db, session_id)
    return db.exec(_SEATS_NOT_MINE, params={"session": session_id, "code": credit_code,
                                            "sender": sender.lower()}).one()


def seats_in_transaction(db: Session, session_id: str, sender: str, with_code: list[Case],
                         sessions: tuple[str, ...] = ()) -> int:
    """seats_for() for the intake, which decides a chunk of mails in one transaction: a session's
    count is read once per transaction and kept in `db.info` until record() changes a case that
    takes a seat (or forget_reads). The sender's own counted case is found among `with_code`
    (same_code() of the form, which the intake reads anyway) instead of by a subquery.
    `sessions`: counted with it in the same query (a form is matched against every session ahead)."""
    counts = db.info.setdefault(SEAT_COUNTS, {})
    if session_id not in counts:
        wanted = sorted({session_id, *sessions} - set(counts))
        counts.update(dict.fromkeys(wanted, 0))
        counts.update(db.exec(_SEATS_OF, params={"sessions": wanted}).all())
    mine = any(case.session_id == session_id and case.decision in COUNTED
               and Rule.DUPLICATE_CODE not in (case.flags or "") and _same_party(case, sender)
               for case in with_code)
    return counts[session_id] - mine


def forget_reads(db: Session) -> None:
    """What seats_in_transaction and read_codes kept is read again: a case may have changed
    outside record() (a unit's report, an answer, the admin's ledger)."""
    db.info.pop(SEAT_COUNTS, None)
    db.info.pop(CODE_CASES, None)


def next_case_number(db: Session, rules: Ruleset, today: date) -> str:
    """Allocate the next number of the year; UPDATE … RETURNING serialises concurrent writers.
    In a transaction that holds its numbers (hold_numbers), only the first takes the counter."""
    name = f"case-{today.year}"
    held = db.info.get(NUMBERS)
    if held is not None and name in held:
        held[name] += 1  # the counter is ours until the commit: its UPDATE locked it
        seq = held[name]
    else:
        seq = _take_number(db, name)
        if held is not None:
            held[name] = seq
    return rules.programme.case_number_format.format(year=today.year, seq=seq)


def _take_number(db: Session, name: str) -> int:
    seq = db.execute(_NEXT, {"counter": name}).scalar()
    if seq is None:  # the year's first case
        _make_counter(db, name)
        seq = db.execute(_NEXT, {"counter": name}).scalar_one()
    return seq


def _make_counter(db: Session, name: str) -> None:
    """Another writer may be making the same counter: on PostgreSQL its row is not visible until
    it commits, and a plain INSERT would then fail on the key. This one waits for that commit and
    does nothing, and the UPDATE after it counts on from the other writer's numbers."""
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert  # only here: the year's first case
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.execute(insert(Counter).values(name=name, value=0).on_conflict_do_nothing(index_elements=["name"]))


def hold_numbers(db: Session) -> None:
    """From now on the transaction takes each year's counter once and counts on in memory: the
    intake's chunk makes a case for most of its mails, and each UPDATE was a round trip. Its first
    UPDATE locks the counter's row (on SQLite, the whole database) until the commit, so no other
    writer can take a number in between; write_numbers() must run before that commit."""
    db.info[NUMBERS] = {}


def write_numbers(db: Session) -> None:
    """Store the last number each held counter gave out (before the commit: a rollback drops
    both the numbers and this). Taking numbers goes back to one UPDATE each."""
    for name, value in db.info.pop(NUMBERS, {}).items():
        db.execute(_SET, {"counter": name, "value": value})


def find_case(db: Session, number: str) -> Case:
    case = db.exec(select(Case).where(Case.number == number)).first()
    if case is None:
        raise CaseError(f"没有编号为{number}的诉求，请核对编号")
    return case


def case_of_thread(db: Session, refs: list[str]) -> Case | None:
    """The case whose mail this one replies to (our Message-IDs are recorded in the outbox)."""
    if not refs:
        return None
    number = db.exec(_THREAD, params={"refs": refs}).first()
    return db.exec(_BY_NUMBER, params={"number": number}).first() if number else None


def same_code(db: Session, credit_code: str | None) -> list[Case]:
    """The open or counted cases with this credit code (none without a code), the code cut as a
    case stores it, oldest first. Within a transaction that read_codes() prepared, from what it
    read and record() kept up to date since (each code read at most once)."""
    code = clip(credit_code, 30)
    if not code:
        return []
    found = db.info.get(CODE_CASES)
    if found is None:
        return list(db.exec(_SAME_CODE, params={"code": code}))
    if code not in found:
        found[code] = list(db.exec(_SAME_CODE, params={"code": code}))
    return [case for case in found[code] if case.credit_code == code and _open_or_counted(case)]


def read_codes(db: Session, codes: list[str | None]) -> None:
    """same_code() of a chunk's credit codes in one query, kept in `db.info` for the rest of the
    transaction (record() adds the cases it writes; forget_reads() drops them)."""
    found = db.info.setdefault(CODE_CASES, {})
    wanted = sorted({clip(code, 30) for code in codes if code} - set(found))
    if not wanted:
        return
    for code in wanted:
        found[code] = []
    for case in db.exec(_SAME_CODES, params={"codes": wanted}):
        found[case.credit_code].append(case)


def _open_or_counted(case: Case) -> bool:
    """In Python what _OPEN_OR_COUNTED asks the database."""
    return case.status in OPEN_INTAKE or case.decision in TAKES_A_CASE + (Decision.NEEDS_CORRECTION,)


def _remember(db: Session, case: Case) -> None:
    """A case record() wrote goes with the cases read for its code (a correction may change it)."""
    found = db.info.get(CODE_CASES)
    cases = found.get(case.credit_code) if found is not None else None
    if cases is not None and case not in cases:
        cases.append(case)
        cases.sort(key=_oldest_first)


def _oldest_first(case: Case) -> tuple[bool, int]:
    """A chunk's new cases may have no id yet: they are the newest (and stay in the order made)."""
    return (case.id is None, case.id or 0)


def existing_case(db: Session, verdict: Verdict, sender: str, refs: list[str],
                  with_code: list[Case]) -> Case | None:
    """A correction in reply to our notice, or a second form for the same session, updates a case:
    only one of the sender's own (a case belongs to its enterprise's address, not to whoever
    knows its credit code). `with_code`: same_code()."""
    threaded = case_of_thread(db, refs)
    if threaded and threaded.status in OPEN_INTAKE and _same_party(threaded, sender):
        return threaded
    if verdict.decision not in TAKES_A_CASE or not sender:
        return None
    return next((case for case in with_code if case.status in OPEN_INTAKE
                 and case.session_id == verdict.session and case.field_id == verdict.field
                 and _same_party(case, sender)), None)


def duplicate_of(case: Case, with_code: list[Case]) -> Case | None:
    """Another address's case with the same credit code (`with_code`: same_code())."""
    return next((other for other in with_code if other is not case
                 and other.decision in TAKES_A_CASE + (Decision.NEEDS_CORRECTION,)
                 and not _same_party(other, case.sender)), None)


def _same_party(case: Case, sender: str) -> bool:
    """Only the case's sender or its registered contact may correct it."""
    allowed = {case.sender.lower(), case.contact_email.lower()} - {""}
    return sender.lower() in allowed


def record(db: Session, verdict: Verdict, rules: Ruleset, *, sender: str, refs: list[str],
           message_id: str, today: date, now: datetime, channel: str = "mail",
           reply_id: str = "") -> Recorded:
    """Create or update the case for a verdict that has a form; None for ignored / no form.
    `reply_id`: the Message-ID the reply to this verdict will carry, written with the case as its
    last_outbound_id (a caller that then queues no such reply puts previous_reply_id back)."""
    if verdict.decision == Decision.IGNORED or verdict.form is None or verdict.form.is_blank():
        return Recorded(None, False)
    with_code = same_code(db, verdict.form.credit_code)
    case = existing_case(db, verdict, sender, refs, with_code)
    updated = case is not None
    if verdict.decision in COUNTED or (updated and case.decision in COUNTED):
        db.info.pop(SEAT_COUNTS, None)  # read again with this case
    if case is None:
        case = Case(number=next_case_number(db, rules, today), status=verdict.decision,
                    decision=verdict.decision, sender=clip(sender, 320),
                    thread_root=clip(message_id, 500),
                    channel=CHANNELS.get(channel, channel), created_at=now, updated_at=now)
    _apply(case, verdict, sender, today, now)
    previous_reply_id = case.last_outbound_id
    if reply_id:
        case.last_outbound_id = reply_id
    db.add(case)
    if not later.holding(db):
        db.flush()  # elsewhere than in the intake's chunk, a recorded case has its id at once
    _remember(db, case)
    add_event(db, case, now, "updated" if updated else verdict.decision, ",".join(verdict.rule_ids))
    other = None if updated else duplicate_of(case, with_code)
    if other is not None:
        case.flags = Rule.DUPLICATE_CODE
        verdict.flags.append(Reason(Rule.DUPLICATE_CODE, "credit_code", texts.duplicate_code(other.number)))
        add_event(db, case, now, "flagged", f"{Rule.DUPLICATE_CODE} {other.number}")
        db.add(case)
    return Recorded(case, updated, other.number if other else "", previous_reply_id)


def clip(value: str | None, limit: int) -> str:
    """Values from senders fit their column (a hostile form may carry anything)."""
    return (value or "")[:limit]


def _apply(case: Case, verdict: Verdict, sender: str, today: date, now: datetime) -> None:
    form = verdict.form
    case.status = case.decision = verdict.decision
    case.rules = clip(",".join(verdict.rule_ids), 300)
    case.session_id, case.field_id = verdict.session, verdict.field
    case.enterprise_name = clip(form.enterprise_name, 300)
    case.credit_code = clip(form.credit_code, 30)
    case.district = clip(form.district, 60)
    case.contact_name = clip(form.contact_name, 100)
    case.contact_phone = clip(form.contact_phone, 40)
    case.contact_email = clip((form.contact_email or sender or "").lower(), 320)
    case.form_json = json.dumps(form.to_json(), ensure_ascii=False)
    case.refer_unit = verdict.refer_to or ""
    if verdict.decision in TAKES_A_CASE and case.accepted_on is None:
        case.accepted_on = today
    case.updated_at = now


def add_event(db: Session, case: Case, at: datetime, event: str, detail: str = "") -> None:
    later.add_event(db, CaseEvent(case_id=case.id, at=at, event=event, detail=detail[:4000]), case)
