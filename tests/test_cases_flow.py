"""Cases through the embedded default (Maildir + SQLite), in process: updates of a case by a second
form or a correction, phone/on-site registration, deferred cases re-matched when sessions change."""

from __future__ import annotations

import shutil

import pytest
from sqlmodel import Session, select

from bot.cli import Options
from bot.samples import FormValues, form_xlsx, registration_mail
from bot.service.runtime import open_runtime
from bot.store.models import CaseEvent
from tests.support.embedded import INTAKE, REPO, Embedded


@pytest.fixture
def bot(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    return Embedded(tmp_path, rules)


def body(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def test_second_form_for_the_same_session_updates_the_case(bot):
    bot.deliver(registration_mail(sender="ent1@corp.test", to=INTAKE, message_id="a1@corp.test",
                                  attachments=[("表.xlsx", form_xlsx(FormValues()))]))
    bot.run("2026-12-01")
    changed = FormValues(title="更新后的诉求标题", attendees="王建国（董事长）")
    bot.deliver(registration_mail(sender="ent1@corp.test", to=INTAKE, message_id="a2@corp.test",
                                  attachments=[("表.xlsx", form_xlsx(changed))]))
    rt = bot.run("2026-12-02")
    cases = bot.cases(rt)
    assert len(cases) == 1 and "更新后的诉求标题" in cases[0].form_json
    second = bot.sent()[-1]
    assert "已据此更新编号为" in body(second) and cases[0].number in second["Subject"]


def test_corrected_form_in_reply_updates_the_same_case(bot):
    bad = FormValues(contact_phone="", facts="详见附件")
    bot.deliver(registration_mail(sender="ent2@corp.test", to=INTAKE, message_id="c1@corp.test",
                                  attachments=[("表.xlsx", form_xlsx(bad))]))
    rt = bot.run("2026-12-01")
    notice = bot.sent()[-1]
    assert "“联系电话”" in body(notice) and "“基本情况”" in body(notice)
    number = bot.cases(rt)[0].number
    bot.deliver(registration_mail(sender="ent2@corp.test", to=INTAKE, message_id="c2@corp.test",
                                  subject=f"回复：{notice['Subject']}",
                                  in_reply_to=notice["Message-ID"].strip("<>"),
                                  attachments=[("表.xlsx", form_xlsx(FormValues()))]))
    rt = bot.run("2026-12-02")
    cases = bot.cases(rt)
    assert [(c.number, c.status) for c in cases] == [(number, "accepted")]
    assert number in bot.sent()[-1]["Subject"]


def test_correction_from_another_address_does_not_touch_the_case(bot):
    bad = FormValues(contact_phone="")
    bot.deliver(registration_mail(sender="ent2@corp.test", to=INTAKE, message_id="d1@corp.test",
                                  attachments=[("表.xlsx", form_xlsx(bad))]))
    rt = bot.run("2026-12-01")
    notice = bot.sent()[-1]
    other = FormValues(enterprise_name="乌海市海湖畅达物流有限公司", credit_code="91150302MAJG7LCM8G")
    bot.deliver(registration_mail(sender="stranger@corp.test", to=INTAKE, message_id="d2@corp.test",
                                  in_reply_to=notice["Message-ID"].strip("<>"),
                                  attachments=[("表.xlsx", form_xlsx(other))]))
    rt = bot.run("2026-12-02")
    statuses = [(c.sender, c.status) for c in bot.cases(rt)]
    assert statuses == [("ent2@corp.test", "needs_correction"), ("stranger@corp.test", "accepted")]


def test_phone_registration_enters_the_same_ledger(bot, tmp_path):
    from datetime import date

    from bot.intake.manual import register

    form = tmp_path / "电话登记.xlsx"
    form.write_bytes(form_xlsx(FormValues(contact_email="li@corp.test")))
    rt = open_runtime(Options(bot.root / "config.toml", None, date(2026, 12, 1)),
                      with_transport=False)
    done = register(rt, form, "phone")
    case = bot.cases(rt)[0]
    assert done.case_number == case.number and done.verdict.decision == "accepted"
    assert (case.channel, case.decision, case.session_id) == ("电话", "accepted", "2026-12")


def test_deferred_case_is_scheduled_when_a_session_for_its_field_appears(bot):
    tourism = FormValues(field="文化旅游", title="景区道路指示牌", facts="景区周边缺少道路指示牌，游客难以找到景区入口。",
                         requests="请协调增设景区道路指示牌。")
    bot.deliver(registration_mail(sender="ent3@corp.test", to=INTAKE, message_id="t1@corp.test",
                                  attachments=[("表.xlsx", form_xlsx(tourism))]))
    rt = bot.run("2026-12-01")
    case = bot.cases(rt)[0]
    assert (case.status, case.session_id, case.rules) == ("deferred", None, "NO-SESSION")

    sessions = bot.rules / "sessions.toml"
    sessions.write_text(sessions.read_text(encoding="utf-8") + '''
[[session]]
id = "2027-11"
date = 2027-11-16
period = "上午"
start = "09:00"
end = "12:00"
leader = "vm-commerce"
location = "市行政中心A座会议室"
meeting_format = "座谈会"
registration_opens = 2027-10-18
registration_closes = 2027-11-09
capacity = 6
notice_date = 2027-10-15
''', encoding="utf-8")
    rt = bot.run("2026-12-02")
    case = bot.cases(rt)[0]
    assert (case.status, case.session_id, case.rules) == ("deferred", "2027-11", "MATCH-LATER")
    told = bot.sent()[-1]
    assert "2027年11月16日" in body(told) and case.number in told["Subject"]
    with Session(rt.engine) as db:
        events = [e.event for e in db.exec(select(CaseEvent).where(CaseEvent.case_id == case.id))]
    assert "rescheduled" in events
    rt = bot.run("2026-12-03")  # nothing new: told once
    assert len([m for m in bot.sent() if "接待安排通知" in str(m["Subject"])]) == 1
