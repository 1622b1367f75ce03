"""New rows whose INSERT can wait for the commit.

The intake handles a chunk of mail in one transaction, and each mail's queries flushed the rows
the mail before it had added: a case event, an outbox row, one INSERT each per mail. Inside a
chunk nothing reads them back (a case's history, a mail not yet sent), so the chunk holds them
(`hold`) and adds them all just before it commits (`add_held`): one INSERT per table on
PostgreSQL, and on SQLite for the tables that have a sentinel column (bot.store.models.SENTINEL).
Case events have none, and the ORM would send SQLite an INSERT per event to learn each one's id;
nobody reads those ids, so they go in as one INSERT. Code that adds such rows calls `add`
(`add_event` for a case event), which adds at once where nothing is held.

A held event names its case by the object, not the id: a new case of the chunk need not be
flushed alone to learn its id (cases.record), so the chunk's new cases go in together too, with
the first query that needs them or at `add_held`.
"""

from __future__ import annotations

from sqlalchemy import insert
from sqlmodel import Session, SQLModel

from bot.store.models import Case, CaseEvent

HELD = "store.held_rows"  # Session.info: the rows waiting for add_held


def hold(db: Session) -> None:
    """From now on, rows given to `add` wait in `db.info` until add_held."""
    db.info[HELD] = []


def add(db: Session, row: SQLModel) -> None:
    held = db.info.get(HELD)
    if held is None:
        db.add(row)
    else:
        held.append(row)


def add_event(db: Session, event: CaseEvent, case: Case) -> None:
    """`add` for an event of `case`, whose id is filled in once the case has one."""
    held = db.info.get(HELD)
    if held is not None:
        held.append((event, case))
        return
    if case.id is None:
        db.flush()  # a new case: its id first
    event.case_id = case.id
    db.add(event)


def holding(db: Session) -> bool:
    return HELD in db.info


def held_rows(db: Session) -> list[SQLModel]:
    """What is waiting (a count that must include them asks here)."""
    return [row for row in db.info.get(HELD, []) if not isinstance(row, tuple)]


def add_held(db: Session) -> None:
    """Add what waits (before the commit), and add at once from now on. The events' cases get
    their ids first: the cases still new go in with one flush."""
    rows = db.info.pop(HELD, [])
    events = [row for row in rows if isinstance(row, tuple)]
    if events:
        if any(case.id is None for _, case in events):
            db.flush()
        values = [{**{key: getattr(event, key) for key in _EVENT_KEYS}, "case_id": case.id}
                  for event, case in events]
        db.execute(_INSERT_EVENTS, values).all()
    db.add_all([row for row in rows if not isinstance(row, tuple)])


# A transaction's events as one INSERT with a row of VALUES per event, on both databases. Asking
# for the ids back (nobody reads them) is what makes SQLAlchemy batch an executemany so
# ("insertmanyvalues", its statement compiled once); without RETURNING, psycopg runs one
# statement per event (~35 µs each of PostgreSQL's CPU). Building the VALUES in the statement
# instead (`.values([...])`) cost ~36 µs of Python per event against ~5.5 here (bench/README.md).
_INSERT_EVENTS = insert(CaseEvent.__table__).returning(CaseEvent.__table__.c.id)
_EVENT_KEYS = [column.key for column in CaseEvent.__table__.columns if not column.primary_key]
