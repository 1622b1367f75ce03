"""The table classes' one-step column set (bot.store.models.TableModel) does what SQLModel's two do."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import inspect
from sqlmodel import Session, SQLModel, select

from bot.store.db import open_database
from bot.store.models import Case, InboundMail, TableModel

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)


def _case(**values) -> Case:
    return Case(number="WHJD-2026-0001", status="accepted", decision="accepted", created_at=NOW,
                updated_at=NOW, **values)


def test_every_table_sets_its_columns_in_one_step():
    tables = {mapper.class_ for mapper in SQLModel._sa_registry.mappers}
    assert len(tables) >= 14 and all(issubclass(table, TableModel) for table in tables)


def test_a_column_set_on_a_new_row_is_stored_noted_and_recorded_for_the_flush():
    case = _case(credit_code="91420100MA4K2XXX1X")
    case.enterprise_name = "武汉某某科技有限公司"
    assert case.enterprise_name == "武汉某某科技有限公司"
    assert {"credit_code", "enterprise_name", "number"} <= case.model_fields_set
    assert inspect(case).attrs.enterprise_name.history.added == ["武汉某某科技有限公司"]
    assert case.model_dump()["enterprise_name"] == "武汉某某科技有限公司"


def test_a_change_to_a_stored_row_is_written_by_the_flush_and_only_that_column(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path}/bot.db")
    with Session(engine) as db:
        db.add(_case(enterprise_name="甲公司"))
        db.commit()
    with Session(engine) as db:
        case = db.exec(select(Case)).one()
        case.enterprise_name = "乙公司"
        assert inspect(case).attrs.enterprise_name.history.deleted == ["甲公司"]
        assert not inspect(case).attrs.credit_code.history.has_changes()
        db.commit()
    with Session(engine) as db:
        assert db.exec(select(Case.enterprise_name)).one() == "乙公司"


def test_a_name_that_is_not_a_column_is_refused_as_sqlmodel_refuses_it():
    row = InboundMail(mailbox="INBOX", message_id="a@b", digest="0" * 64, archive_path="/x",
                      received_at=NOW)
    with pytest.raises(ValueError, match="no field"):
        row.not_a_column = 1
