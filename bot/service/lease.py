"""One fetcher per mailbox: a row in the database that its holder renews."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.store.holders import holder_is_dead
from bot.store.models import Lease, MailboxStatus

LEASE_SECONDS = 120


def acquire(engine: Engine, name: str, holder: str, now: datetime) -> bool:
    """Take or renew the lease; False while another live holder has it."""
    until = now + timedelta(seconds=LEASE_SECONDS)
    with Session(engine) as db:
        stmt = (update(Lease).where(Lease.name == name)
                .where((Lease.holder == holder) | (Lease.expires_at < now))
                .values(holder=holder, expires_at=until))
        if db.execute(stmt).rowcount:
            db.commit()
            return True
        current = db.get(Lease, name)
        if current is not None:
            return _take_from_dead(db, name, current.holder, holder, until)
        db.add(Lease(name=name, holder=holder, expires_at=until))
        try:
            db.commit()
        except IntegrityError:
            return False
        return True


def _take_from_dead(db: Session, name: str, old: str, holder: str, until: datetime) -> bool:
    """A daemon restarted after a crash need not wait for its dead predecessor's lease."""
    if not holder_is_dead(old):
        return False
    stmt = (update(Lease).where(Lease.name == name, Lease.holder == old)
            .values(holder=holder, expires_at=until))
    taken = db.execute(stmt).rowcount == 1
    db.commit()
    return taken


def release(engine: Engine, name: str, holder: str) -> None:
    with Session(engine) as db:
        lease = db.get(Lease, name)
        if lease is not None and lease.holder == holder:
            db.delete(lease)
            db.commit()


def record_fetch(engine: Engine, name: str, holder: str, now: datetime, fetched: int) -> None:
    """Note a pass over the mailbox (what `status` reports as the last fetch)."""
    with Session(engine) as db:
        row = db.get(MailboxStatus, name) or MailboxStatus(name=name, last_fetch_at=now)
        row.holder, row.last_fetch_at, row.fetched = holder, now, fetched
        db.add(row)
        try:
            db.commit()
        except IntegrityError:  # another process inserted the row first: its note will do
            db.rollback()


def current(engine: Engine, name: str) -> tuple[Lease | None, MailboxStatus | None]:
    """The lease (None when nobody holds it) and the last fetch of a mailbox."""
    with Session(engine) as db:
        lease, status = db.get(Lease, name), db.get(MailboxStatus, name)
        if lease is not None:
            db.expunge(lease)
        if status is not None:
            db.expunge(status)
        return lease, status
