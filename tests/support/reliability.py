"""Helpers shared by the reliability tests: the form mail, rows of a table, waiting."""

from __future__ import annotations

import time
from functools import lru_cache

from sqlalchemy import inspect
from sqlmodel import Session, select

from bot.samples import FormValues, form_xlsx, registration_mail
from bot.store.db import make_engine
from tests.support.botenv import INTAKE


@lru_cache(maxsize=None)
def _xlsx() -> bytes:
    return form_xlsx(FormValues())


def form_mail(sender: str, message_id: str) -> bytes:
    return registration_mail(sender=sender, to=INTAKE, message_id=message_id,
                             attachments=[("来访企业预约登记表.xlsx", _xlsx())])


def rows(url: str, model) -> list:
    """Every row of a table, in id order; [] while no process has migrated the database yet."""
    engine = make_engine(url)
    try:
        if not inspect(engine).has_table(model.__tablename__):
            return []
        with Session(engine) as db:
            return list(db.exec(select(model).order_by(model.id if hasattr(model, "id") else None)))
    finally:
        engine.dispose()


def wait_until(predicate, timeout: float, what: str, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)
