"""What a chunk of new mail costs the database: the rows the claim wrote are not read again, and a
case is written once with its reply's Message-ID (the embedded default, run like `run --once`,
every statement SQLAlchemy sends recorded)."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from bot.samples import FormValues, form_xlsx, registration_mail
from bot.service.daemon import run_once
from bot.service.jobs import Jobs
from bot.service.runtime import open_source
from bot.store.models import Case, InboundMail, Outbox
from bot.store.states import MailStatus
from tests.support.embedded import INTAKE, REPO, Embedded

CODES = ("91150302MA05DFNF2Y", "91150303MA0N8Y7T4K", "911503007014502929")


@pytest.fixture
def statements(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    bot = Embedded(tmp_path, rules)
    for i, code in enumerate(CODES):
        values = FormValues(enterprise_name=f"乌海市第{i + 1}新材料有限公司", credit_code=code)
        bot.deliver(registration_mail(sender=f"ent{i}@corp.test", to=INTAKE, message_id=f"s{i}@corp.test",
                                      attachments=[("表.xlsx", form_xlsx(values))]))
    rt = bot.runtime("2026-12-01")
    sent: list[str] = []
    event.listen(rt.engine, "before_cursor_execute",
                 lambda conn, cur, text, *rest: sent.append(" ".join(text.split())))
    run_once(rt, open_source(rt), Jobs(rt))
    with Session(rt.engine) as db:
        yield sent, list(db.exec(select(InboundMail))), db


def test_the_claimed_rows_are_not_read_again(statements):
    sent, mails, _ = statements
    assert len(mails) == len(CODES)
    assert all(m.status == MailStatus.DONE and m.attempts == 1 and m.decision for m in mails)
    by_id = [s for s in sent if s.startswith("SELECT inbound_mail.id")
             and "WHERE inbound_mail.id = " in s]
    assert by_id == []


def test_a_case_is_written_with_its_replys_message_id(statements):
    sent, mails, db = statements
    cases = list(db.exec(select(Case)))
    replies = {o.case_number: o.message_id for o in db.exec(select(Outbox))
               if o.purpose.startswith("reply-")}
    assert len(cases) == len(CODES)
    assert all(c.last_outbound_id and c.last_outbound_id == replies[c.number] for c in cases)
    assert [s for s in sent if s.startswith("UPDATE case_record")] == []
