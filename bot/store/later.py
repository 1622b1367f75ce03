"""New rows whose INSERT can wait for the commit.

The intake handles a chunk of mail in one transaction, and each mail's queries flushed the rows
the mail before it had added: a case event, an outbox row, one INSERT each per mail. Inside a
chunk nothing reads them back (a case's history, a mail not yet sent), so the chunk holds them
(`hold`) and adds them all just before it commits (`add_held`): one INSERT per table on
PostgreSQL, and on SQLite for the tables that have a sentinel column (bot.store.models.SENTINEL).
Case events have none, and the ORM would send SQLite an INSERT per event to learn each one's id;
nobody reads those ids, so they go in as one executemany. Code that adds such rows calls `add`,
which adds at once where nothing is held.
"""

from __future__ import annotations

from sqlalchemy import insert
from sqlmodel import Session, SQLModel

from bot.store.models import CaseEvent

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


def held_rows(db: Session) -> list[SQLModel]:
    """What is waiting (a count that must include them asks here)."""
    return db.info.get(HELD, [])


def add_held(db: Session) -> None:
    """Add what waits (before the commit), and add at once from now on. The events' cases are
    in the database already (cases.record flushes a new case for its id)."""
    rows = db.info.pop(HELD, [])
    events = [row for row in rows if isinstance(row, CaseEvent)]
    if events:
        db.execute(_EVENTS, [{key: getattr(row, key) for key in _EVENT_KEYS} for row in events])
    db.add_all([row for row in rows if not isinstance(row, CaseEvent)])


_EVENTS = insert(CaseEvent.__table__)  # Core: one executemany, no ids asked back
_EVENT_KEYS = [column.key for column in CaseEvent.__table__.columns if not column.primary_key]
