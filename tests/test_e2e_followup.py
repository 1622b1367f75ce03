"""The whole loop after the reception, on the real servers, with --today moving forward:
registration -> ledger export -> filled like a clerk -> import -> slips -> unit reply -> forged reply
refused -> reminders before/on/after the due date, each once -> escalation -> result -> satisfaction
-> public export without personal data."""

from __future__ import annotations

import json
import time

import openpyxl
import pytest

from bot.samples import FormValues, form_xlsx, registration_mail
from tests.support.botenv import INTAKE, body_text, make_env, parse
from tests.support.mail import authenticated

pytestmark = pytest.mark.rig

CASE = "WHJD-2026-0001"
FGW, ZRZYJ, DCS, ENT, ADMIN = ("fgw@units.test", "zrzyj@units.test", "dcs@units.test",
                               "ent1@corp.test", "admin@rb.test")


def fill_like_a_clerk(path, lead: str, co: str, requirement: str) -> None:
    """What the office does in Excel: pick the outcome and units, type the requirement, save."""
    wb = openpyxl.load_workbook(path)
    ws = wb["企业诉求台账"] if "企业诉求台账" in wb.sheetnames else wb.worksheets[0]
    header = {cell.value: cell.column for cell in ws[1]}
    for row in range(2, ws.max_row + 1):
        if ws.cell(row, header["编号"]).value == CASE:
            ws.cell(row, header["现场结果"]).value = "交办"
            ws.cell(row, header["承办单位"]).value = lead
            ws.cell(row, header["协办单位"]).value = co
            ws.cell(row, header["办理要求"]).value = requirement
            ws.cell(row, header["长期整改"]).value = "否"
    wb.save(path)


def unit_reply(sender: str, subject: str, body: str, in_reply_to: str = "") -> bytes:
    """A reply as our receiving server hands it over: authenticated for its sender's domain."""
    return authenticated(registration_mail(sender=sender, to=INTAKE, subject=subject, body=body,
                                           in_reply_to=in_reply_to))


def count(rig, address: str) -> int:
    return len(rig.messages(address))


def settle() -> None:
    time.sleep(0.5)  # LMTP delivery is synchronous; this only covers Dovecot's index update


@pytest.fixture
def bot(tmp_path, clean_mail, db_url):
    return make_env(tmp_path / "bot", clean_mail, db_url)


def test_after_the_reception_the_whole_loop(bot, tmp_path):
    rig = bot.rig
    rig.append(INTAKE, registration_mail(sender=ENT, to=INTAKE, message_id="loop-1@corp.test",
                                         attachments=[("登记表.xlsx", form_xlsx(FormValues()))]))
    bot.cli("run", "--once", today="2026-12-01")
    rig.wait_for_messages(ENT, 1)

    ledger = tmp_path / "台账.xlsx"
    bot.cli("ledger", "export", str(ledger), today="2026-12-22")
    fill_like_a_clerk(ledger, "乌海市发展和改革委员会", "乌海市自然资源局", "一个月内协调完成增容审批")
    out = bot.cli("ledger", "import", str(ledger), today="2026-12-23")
    assert "交办" in out.stdout

    slip = parse(rig.wait_for_messages(FGW, 1)[0])
    assert f"[{CASE}]" in slip["Subject"]
    assert any(a.get_filename() == f"企业诉求交办单-{CASE}.docx" for a in slip.iter_attachments())
    assert "2027年1月4日" in body_text(slip) and "2027年1月22日" in body_text(slip)
    rig.wait_for_messages(ZRZYJ, 1)
    rig.wait_for_messages(ENT, 2)  # the enterprise is told to whom its case went

    bot.cli("ledger", "import", str(ledger), today="2026-12-23")  # a second import sends nothing
    settle()
    assert (count(rig, FGW), count(rig, ZRZYJ), count(rig, ENT)) == (1, 1, 2)

    shown = json.loads(bot.cli("case", "show", CASE, "--json", today="2026-12-23").stdout)
    lead = next(a for a in shown["assignments"] if a["role"] == "lead")
    assert (lead["unit"], lead["status_due"], lead["result_due"]) == ("fgw", "2027-01-04", "2027-01-22")

    rig.append(INTAKE, unit_reply(FGW, f"回复：{slip['Subject']} 落实情况",
                                  "已召开协调会，供电公司已受理增容申请。", slip["Message-ID"].strip("<>")))
    rig.append(INTAKE, unit_reply("someone@corp.test", f"[{CASE}] 办理结果", "此事已办结。"))
    bot.cli("run", "--once", today="2026-12-28")
    ack = parse(rig.wait_for_messages(FGW, 2)[-1])
    assert "落实情况" in ack["Subject"]
    assert "未经授权" in parse(rig.wait_for_messages(ADMIN, 1)[-1])["Subject"]
    shown = json.loads(bot.cli("case", "show", CASE, "--json", today="2026-12-28").stdout)
    lead = next(a for a in shown["assignments"] if a["role"] == "lead")
    assert lead["reports"] == [{"kind": "status", "received": "2026-12-28"}]
    assert shown["status"] == "assigned"

    def remind_on(day: str) -> list[dict]:
        dry = json.loads(bot.cli("remind", "--dry-run", "--json", today=day).stdout)["reminders"]
        bot.cli("run", "--once", today=day)
        bot.cli("run", "--once", today=day)  # a restart the same day sends nothing again
        return dry

    fgw_before = count(rig, FGW)
    # Sat 23 Jan is a rest day: its overdue stage goes out on Mon 25 Jan (3 days late).
    stages = {day: [(r["stage"], r["days_overdue"]) for r in remind_on(day)]
              for day in ("2027-01-20", "2027-01-22", "2027-01-23", "2027-01-25", "2027-01-27", "2027-01-28")}
    assert stages == {"2027-01-20": [("before", 0)], "2027-01-22": [("due", 0)], "2027-01-23": [],
                      "2027-01-25": [("overdue", 3)], "2027-01-27": [("escalation", 5)], "2027-01-28": []}
    settle()
    assert count(rig, FGW) == fgw_before + 3
    escalation = parse(rig.wait_for_messages(DCS, 1)[0])
    assert "督办" in escalation["Subject"] and CASE in body_text(escalation)
    assert "admin@rb.test" in str(escalation["Cc"])
    assert count(rig, DCS) == 1

    rig.append(INTAKE, unit_reply(FGW, f"[{CASE}] 办理结果", "营商办：\n增容工程已完工，企业已正常用电。\n联系电话：13904731234"))
    bot.cli("run", "--once", today="2027-01-29")
    draft = parse(next(m for m in rig.wait_for_messages(ADMIN, 3) if "答复待审核" in parse(m)["Subject"]))
    settle()
    assert count(rig, ENT) == 2  # nothing reaches the enterprise before the office approves
    rig.append(INTAKE, unit_reply(ADMIN, f"回复：{draft['Subject']}", "同意", draft["Message-ID"].strip("<>")))
    bot.cli("run", "--once", today="2027-01-29")
    result = parse(rig.wait_for_messages(ENT, 3)[-1])
    assert "满意度" in result["Subject"] and "增容工程已完工" in body_text(result)
    assert "13904731234" not in body_text(result) and "营商办：" not in body_text(result)

    rig.append(INTAKE, unit_reply(ENT, f"回复：{result['Subject']}", "满意\n\n感谢市政府！",
                                  result["Message-ID"].strip("<>")))
    bot.cli("run", "--once", today="2027-01-30")
    shown = json.loads(bot.cli("case", "show", CASE, "--json", today="2027-01-30").stdout)
    assert shown["status"] == "closed" and shown["satisfaction"] == "满意"

    public = tmp_path / "public"
    bot.cli("publish", str(public), today="2027-01-30")
    exported = (public / "progress.html").read_text(encoding="utf-8")
    assert CASE in exported
    form = FormValues()
    for private in (form.enterprise_name, form.credit_code, form.contact_name, form.contact_phone,
                    ENT, form.legal_representative):
        assert private not in exported
    wb = openpyxl.load_workbook(public / "progress.xlsx")
    cells = " ".join(str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value)
    assert CASE in cells and form.enterprise_name not in cells and form.contact_phone not in cells
