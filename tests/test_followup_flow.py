"""The follow-up in process on the embedded default: the ledger by mail, import refusals,
extension requests, an unsatisfied enterprise, overdue lists, the digest and the report."""

from __future__ import annotations

import email
import io
import shutil
from datetime import date
from email.policy import default

import docx
import openpyxl
import pytest
from sqlmodel import Session

from bot.errors import CaseError
from bot.followup import answers, views
from bot.followup.assign import AssignRequest, assign
from bot.followup.extensions import extend
from bot.followup.ledger_io import export_file, import_file
from bot.samples import FormValues, form_xlsx, registration_mail
from bot.service.jobs import Jobs
from tests.support.embedded import INTAKE, REPO, Embedded
from tests.support.mail import authenticated

CASE = "WHJD-2026-0001"


@pytest.fixture
def bot(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    embedded = Embedded(tmp_path, rules)
    embedded.deliver(registration_mail(sender="ent1@corp.test", to=INTAKE, message_id="f1@corp.test",
                                       attachments=[("表.xlsx", form_xlsx(FormValues()))]))
    embedded.run("2026-12-01")
    return embedded


def assigned(bot, day="2026-12-23", lead="fgw"):
    rt = bot.runtime(day)
    with Session(rt.engine) as db:
        assign(db, rt, AssignRequest(CASE, lead, ("zrzyj",), False, "限期办结"))
        db.commit()
    return rt


def export(bot, tmp_path, day="2026-12-22"):
    rt = bot.runtime(day, transport=False)
    path = tmp_path / "台账.xlsx"
    with Session(rt.engine) as db:
        export_file(db, rt, path)
    return path


def set_admin_cells(path, **cells):
    wb = openpyxl.load_workbook(path)
    ws = wb["企业诉求台账"] if "企业诉求台账" in wb.sheetnames else wb.worksheets[0]
    header = {c.value: c.column for c in ws[1]}
    for name, value in cells.items():
        ws.cell(2, header[name]).value = value
    wb.save(path)


def test_admin_mails_the_filled_ledger_and_gets_the_summary(bot, tmp_path):
    path = export(bot, tmp_path)
    set_admin_cells(path, 现场结果="交办", 承办单位="乌海市发展和改革委员会", 办理要求="一个月内办结")
    bot.deliver(authenticated(registration_mail(sender="admin@rb.test", to=INTAKE, subject="台账",
                                                attachments=[("台账.xlsx", path.read_bytes())])))
    bot.run("2026-12-23")
    sent = bot.sent()
    summary = next(m for m in sent if "台账导入结果" in str(m["Subject"]))
    assert summary["To"] == "admin@rb.test" and "已完成" in summary["Subject"]
    assert any("fgw@units.test" in str(m["To"]) and CASE in str(m["Subject"]) for m in sent)


def test_an_import_with_an_unknown_unit_changes_nothing(bot, tmp_path):
    path = export(bot, tmp_path)
    set_admin_cells(path, 现场结果="交办", 承办单位="不存在的局")
    rt = bot.runtime("2026-12-23")
    ok, summary = import_file(rt, path)
    assert not ok and "不存在的局" in summary
    with Session(rt.engine) as db:
        assert views.show(db, rt, CASE)["assignments"] == []


def test_assign_refuses_unknown_units_and_wrong_states(bot):
    rt = bot.runtime("2026-12-23")
    with Session(rt.engine) as db:
        with pytest.raises(CaseError, match="未在单位名单"):
            assign(db, rt, AssignRequest(CASE, "nope"))
        with pytest.raises(CaseError, match="既是承办单位又是协办单位"):
            assign(db, rt, AssignRequest(CASE, "fgw", ("fgw",)))
        with pytest.raises(CaseError, match="没有编号为"):
            assign(db, rt, AssignRequest("WHJD-2026-9999", "fgw"))


def test_extension_request_waits_for_the_admin(bot):
    assigned(bot)
    bot.deliver(authenticated(registration_mail(
        sender="fgw@units.test", to=INTAKE, subject=f"[{CASE}] 延期申请",
        body="因需自治区审批，申请延期至2027年2月26日。")))
    rt = bot.run("2027-01-10")
    to_admin = [m for m in bot.sent() if "延期申请待审核" in str(m["Subject"])]
    assert len(to_admin) == 1 and str(to_admin[0]["To"]) == "admin@rb.test"
    with Session(rt.engine) as db:
        before = views.show(db, rt, CASE)["assignments"][0]["result_due"]
        extend(db, rt, CASE, date(2027, 2, 26))
        db.commit()
        after = views.show(db, rt, CASE)["assignments"][0]["result_due"]
        with pytest.raises(CaseError):
            extend(db, rt, CASE, date(2027, 1, 1))
    assert (before, after) == ("2027-01-22", "2027-02-26")


def test_unsatisfied_enterprise_reopens_the_case(bot):
    assigned(bot)
    bot.deliver(authenticated(registration_mail(sender="fgw@units.test", to=INTAKE,
                                                subject=f"[{CASE}] 办理结果", body="已协调完成。")))
    rt = bot.run("2027-01-15")
    with Session(rt.engine) as db:  # the office approves the draft answer
        answers.approve(db, rt, CASE, None, by="command")
        db.commit()
    bot.run("2027-01-15")
    forward = [m for m in bot.sent() if str(m["To"]) == "ent1@corp.test"][-1]
    assert "满意度" in str(forward["Subject"])
    bot.deliver(registration_mail(sender="ent1@corp.test", to=INTAKE,
                                  subject=f"回复：{forward['Subject']}",
                                  body="不满意，问题没有解决。\n\n------------------ 原始邮件 ------------------\n满意 基本满意 不满意",
                                  in_reply_to=forward["Message-ID"].strip("<>")))
    rt = bot.run("2027-01-16")
    with Session(rt.engine) as db:
        shown = views.show(db, rt, CASE)
    assert (shown["status"], shown["satisfaction"]) == ("reopened", "不满意")
    assert any("不满意" in str(m["Subject"]) for m in bot.sent() if str(m["To"]) == "admin@rb.test")


def test_overdue_list_digest_and_report(bot, tmp_path):
    assigned(bot)
    rt = bot.runtime("2027-01-08")
    with Session(rt.engine) as db:
        overdue = views.overdue_items(db, rt, date(2027, 1, 8))
        listed = views.list_cases(db, rt, None, True, None)
        by_unit = views.list_cases(db, rt, None, False, "zrzyj")
    assert [(o.case_number, o.kind, o.days_overdue) for o in overdue] == [(CASE, "status", 4)]
    assert [r["case"] for r in listed] == [CASE] and [r["case"] for r in by_unit] == [CASE]

    Jobs(rt).weekly()
    Jobs(rt).weekly()  # a restart the same week: the digest is not sent again
    with Session(rt.engine) as db:
        from sqlmodel import select

        from bot.store.models import Outbox
        digest = db.exec(select(Outbox).where(Outbox.subject.like("%周报%"))).one()
    text = email.message_from_bytes(digest.raw, policy=default).get_body(("plain",)).get_content()
    assert digest.recipients == "admin@rb.test" and CASE in text and "逾期4天" in text

    from bot.documents.report import render_report
    from bot.followup.exports import report_data

    out = tmp_path / "报告.docx"
    with Session(rt.engine) as db:
        data = report_data(db, rt, date(2026, 12, 1), date(2027, 1, 8))
    render_report(data, out)
    document = docx.Document(io.BytesIO(out.read_bytes()))
    assert document.inline_shapes, "the report carries a chart"
    assert data.by_field == {"工业和信息化": 1} and data.late[0].case_number == CASE


def test_the_reminder_hour_is_the_programmes_and_a_late_start_still_runs_the_day(bot, monkeypatch):
    """Jobs read Beijing time from the runtime's clock (the machine may run UTC), and run the day's
    reminders once that hour has passed, once per day, whenever the daemon started."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from bot.service.jobs import Jobs

    rt = bot.runtime("2027-01-20", transport=False)
    jobs, ran = Jobs(rt), []
    monkeypatch.setattr(jobs, "daily", lambda: ran.append("daily"))
    monkeypatch.setattr(jobs, "weekly", lambda: ran.append("weekly"))
    beijing = ZoneInfo("Asia/Shanghai")
    for hour, minute in ((8, 59), (9, 0), (23, 0)):  # 2027-01-20 is a Wednesday
        monkeypatch.setattr(rt, "now", lambda h=hour, m=minute: datetime(2027, 1, 20, h, m, tzinfo=beijing))
        jobs.run_due()
    assert ran == ["daily"]  # not before 09:00 Beijing (01:00 UTC); once that day
    monkeypatch.setattr(rt, "now", lambda: datetime(2027, 1, 25, 10, 0, tzinfo=beijing))  # a Monday
    jobs.run_due()
    assert ran == ["daily", "daily", "weekly"]
