"""One fetcher per mailbox: a row in the database that its holder renews."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.store.models import Lease

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
        if db.get(Lease, name) is not None:
            return False
        db.add(Lease(name=name, holder=holder, expires_at=until))
        try:
            db.commit()
        except IntegrityError:
            return False
        return True


def release(engine: Engine, name: str, holder: str) -> None:
    with Session(engine) as db:
        lease = db.get(Lease, name)
        if lease is not None and lease.holder == holder:
            db.delete(lease)
            db.commit()
