"""The office answers the enterprise: a unit's 办理结果 becomes a draft for the admin, and only the
admin's approval (a reply 同意, an edited text, or `answer`) sends it, with the 满意度 question.
Also: extension requests decided by mail, `extend`, closure at the meeting, the thank-you."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date

import pytest
from sqlmodel import Session

from bot.followup import views
from bot.followup.assign import AssignRequest, assign, resolve
from bot.followup.extensions import extend
from bot.samples import FormValues, form_xlsx, registration_mail
from tests.support.embedded import INTAKE, REPO, Embedded
from tests.support.mail import authenticated

CASE = "WHJD-2026-0001"
ENT, ADMIN, FGW = "ent1@corp.test", "admin@rb.test", "fgw@units.test"
UNIT_RESULT = """营商办：
经我委协调，国网乌海供电公司已于2027年1月10日完成增容工程，企业新材料技改项目已正常用电投产。
如有问题请联系张科长（电话：13904731234）。

联系人：张三　联系电话：0473-3991201
乌海市发展和改革委员会
2027年1月14日
"""


def body(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def make_bot(tmp_path, review: str = "admin") -> Embedded:
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    programme = rules / "programme.toml"
    programme.write_text(programme.read_text(encoding="utf-8").replace(
        'result_review = "admin"', f'result_review = "{review}"'), encoding="utf-8")
    bot = Embedded(tmp_path, rules)
    bot.deliver(registration_mail(sender=ENT, to=INTAKE, message_id="r1@corp.test",
                                  attachments=[("表.xlsx", form_xlsx(FormValues()))]))
    bot.run("2026-12-01")
    rt = bot.runtime("2026-12-23")
    with Session(rt.engine) as db:
        assign(db, rt, AssignRequest(CASE, "fgw", ("zrzyj",), False, "一个月内协调完成增容审批"))
        db.commit()
    bot.run("2026-12-23")
    return bot


@pytest.fixture
def bot(tmp_path):
    return make_bot(tmp_path)


def to(bot, address: str) -> list:
    return [m for m in bot.sent() if address in str(m["To"]) or address in str(m.get("Cc", ""))]


def unit_reports_result(bot, day: str = "2027-01-14") -> None:
    bot.deliver(authenticated(registration_mail(sender=FGW, to=INTAKE, subject=f"[{CASE}] 办理结果", body=UNIT_RESULT)))
    bot.run(day)


def draft_mail(bot):
    [mail] = [m for m in to(bot, ADMIN) if "答复待审核" in str(m["Subject"])]
    return mail


def show(bot, day: str) -> dict:
    rt = bot.runtime(day, transport=False)
    with Session(rt.engine) as db:
        return views.show(db, rt, CASE)


def admin_replies(bot, mail, text: str, day: str) -> None:
    bot.deliver(authenticated(registration_mail(sender=ADMIN, to=INTAKE, subject=f"回复：{mail['Subject']}",
                                  body=text + "\n\n------------------ 原始邮件 ------------------\n" + body(mail),
                                  in_reply_to=mail["Message-ID"].strip("<>"))))
    bot.run(day)


def test_nothing_reaches_the_enterprise_before_approval(bot):
    before = len(to(bot, ENT))
    unit_reports_result(bot)
    assert len(to(bot, ENT)) == before, "the enterprise got something before the office approved"
    text = body(draft_mail(bot))
    assert "经我委协调，国网乌海供电公司已于2027年1月10日完成增容工程" in text
    draft = text.split("二、答复草稿")[1].split("三、请直接回复本邮件")[0]
    for leak in ("营商办：", "13904731234", "0473-3991201", "联系人", "2027年1月14日"):
        assert leak not in draft, leak
    assert "回复“同意”" in text and "reception-bot" not in text
    shown = show(bot, "2027-01-14")
    assert shown["status"] == "answer_pending" and shown["answer"]["status"] == "draft"
    assert "13904731234" not in shown["answer"]["text"]


def test_the_admin_approves_by_replying_agree(bot):
    unit_reports_result(bot)
    admin_replies(bot, draft_mail(bot), "同意", "2027-01-15")
    answer = to(bot, ENT)[-1]
    assert "满意度" in str(answer["Subject"])
    text = body(answer)
    assert "企业新材料技改项目已正常用电投产" in text and "13904731234" not in text
    assert "2027年1月22日前" in text  # 5 working days from Fri 15 Jan to rate it
    shown = show(bot, "2027-01-15")
    assert (shown["status"], shown["answer"]["status"]) == ("result_received", "sent")
    assert any("已按答复草稿" in body(m) for m in to(bot, ADMIN))
    admin_replies(bot, draft_mail(bot), "同意", "2027-01-15")  # a second 同意 sends nothing again
    assert len([m for m in to(bot, ENT) if "满意度" in str(m["Subject"])]) == 1


def test_an_edited_text_is_sent_as_written(bot):
    unit_reports_result(bot)
    edited = ("经市发展和改革委员会协调，供电部门已完成贵企业新材料技改项目的增容工程，项目已于2027年1月10日"
              "正常用电投产。")
    admin_replies(bot, draft_mail(bot), edited, "2027-01-15")
    answer = to(bot, ENT)[-1]
    assert edited in body(answer) and "张科长" not in body(answer)
    assert show(bot, "2027-01-15")["answer"] == {"status": "sent", "text": edited}


def test_hold_and_unclear_replies_send_nothing(bot):
    unit_reports_result(bot)
    before = len(to(bot, ENT))
    admin_replies(bot, draft_mail(bot), "暂缓，请承办单位补充材料", "2027-01-15")
    admin_replies(bot, draft_mail(bot), "嗯", "2027-01-15")
    assert len(to(bot, ENT)) == before
    confirmations = [body(m) for m in to(bot, ADMIN) if "已处理您的回复" in str(m["Subject"])]
    assert "暂缓发送" in confirmations[0] and "未能识别" in confirmations[1]
    assert show(bot, "2027-01-15")["answer"]["status"] == "draft"


def test_the_answer_command_with_a_text_file(bot, tmp_path):
    unit_reports_result(bot)
    answer_file = tmp_path / "答复.txt"
    answer_file.write_text("经协调，贵企业项目增容工程已完工并正常用电。感谢贵企业对政府工作的支持。", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "bot", "--config", str(bot.root / "config.toml"),
                           "--today", "2027-01-15", "answer", CASE, "--text", str(answer_file)],
                          cwd=bot.root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "已按文件中的文字向企业发送办理答复" in done.stdout
    assert "经协调，贵企业项目增容工程已完工并正常用电。" in body(to(bot, ENT)[-1])
    again = subprocess.run([sys.executable, "-m", "bot", "--config", str(bot.root / "config.toml"),
                            "--today", "2027-01-15", "answer", CASE], cwd=bot.root, capture_output=True,
                           text=True, timeout=120)
    assert again.returncode == 1 and "没有待审核的答复" in again.stderr


def test_direct_mode_forwards_the_cleaned_text_at_once(tmp_path):
    bot = make_bot(tmp_path, review="direct")
    unit_reports_result(bot)
    answer = to(bot, ENT)[-1]
    assert "满意度" in str(answer["Subject"])
    assert "已正常用电投产" in body(answer) and "13904731234" not in body(answer)
    assert not [m for m in to(bot, ADMIN) if "答复待审核" in str(m["Subject"])]
    assert show(bot, "2027-01-14")["answer"]["status"] == "sent"


def test_satisfaction_gets_a_short_thank_you(bot):
    unit_reports_result(bot)
    admin_replies(bot, draft_mail(bot), "同意", "2027-01-15")
    answer = to(bot, ENT)[-1]
    bot.deliver(registration_mail(sender=ENT, to=INTAKE, subject=f"回复：{answer['Subject']}",
                                  body="满意\n谢谢！", in_reply_to=answer["Message-ID"].strip("<>")))
    bot.run("2027-01-18")
    thanks = to(bot, ENT)[-1]
    assert "感谢评价" in str(thanks["Subject"]) and "已办结" in body(thanks)
    assert show(bot, "2027-01-18")["status"] == "closed"


def extension_request(bot, text="因需自治区审批，申请延期至2027年2月26日。"):
    bot.deliver(authenticated(registration_mail(sender=FGW, to=INTAKE, subject=f"[{CASE}] 延期申请", body=text)))
    bot.run("2027-01-12")
    [mail] = [m for m in to(bot, ADMIN) if "延期申请待审核" in str(m["Subject"])]
    assert "请直接回复本邮件" in body(mail) and "reception-bot" not in body(mail)
    return mail


def test_an_extension_approved_by_mail_tells_the_unit_and_the_enterprise(bot):
    mail = extension_request(bot)
    admin_replies(bot, mail, "同意", "2027-01-13")
    unit = to(bot, FGW)[-1]
    assert "延期申请已同意" in str(unit["Subject"])
    assert "由2027年1月22日调整为2027年2月26日" in body(unit)
    enterprise = to(bot, ENT)[-1]
    assert "办理时限调整" in str(enterprise["Subject"]) and "2027年2月26日" in body(enterprise)
    assert show(bot, "2027-01-13")["assignments"][0]["result_due"] == "2027-02-26"


def test_an_extension_to_a_rest_day_moves_to_the_next_working_day(bot):
    mail = extension_request(bot, "申请延期。")
    admin_replies(bot, mail, "同意延期至2027年2月7日", "2027-01-13")  # 春节 (rules: 5..13 Feb)
    assert show(bot, "2027-01-13")["assignments"][0]["result_due"] == "2027-02-15"
    done = [body(m) for m in to(bot, ADMIN) if "已处理您的回复" in str(m["Subject"])][-1]
    assert "2027年2月7日为休息日" in done


def test_a_refused_extension_tells_the_unit(bot):
    mail = extension_request(bot)
    before = len(to(bot, ENT))
    admin_replies(bot, mail, "不同意，请按原时限办结。", "2027-01-13")
    unit = to(bot, FGW)[-1]
    assert "未获同意" in str(unit["Subject"]) and "请仍于2027年1月22日前报送办理结果" in body(unit)
    assert len(to(bot, ENT)) == before
    assert show(bot, "2027-01-13")["assignments"][0]["result_due"] == "2027-01-22"


def test_the_extend_command_tells_everybody_who_waits(bot):
    rt = bot.runtime("2027-01-12")
    with Session(rt.engine) as db:
        done = extend(db, rt, CASE, date(2027, 2, 13))  # the last day of 春节: moved to Mon 15 Feb
        db.commit()
    bot.run("2027-01-12")
    assert done.new == date(2027, 2, 15)
    assert "2027年2月15日" in body(to(bot, FGW)[-1]) and "2027年2月15日" in body(to(bot, ENT)[-1])


def test_closed_at_the_meeting_the_enterprise_is_told_and_asked(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    bot = Embedded(tmp_path, rules)
    bot.deliver(registration_mail(sender=ENT, to=INTAKE, message_id="r2@corp.test",
                                  attachments=[("表.xlsx", form_xlsx(FormValues()))]))
    bot.run("2026-12-01")
    rt = bot.runtime("2026-12-22")
    with Session(rt.engine) as db:
        resolve(db, rt, CASE, "on_site", "现场协调供电公司当日受理增容申请，一周内完成。")
        db.commit()
    bot.run("2026-12-22")
    closed = to(bot, ENT)[-1]
    assert "已当场解决" in str(closed["Subject"])
    text = body(closed)
    assert "现场协调供电公司当日受理增容申请" in text and "2026年12月29日前" in text
    bot.deliver(registration_mail(sender=ENT, to=INTAKE, subject=f"回复：{closed['Subject']}",
                                  body="基本满意", in_reply_to=closed["Message-ID"].strip("<>")))
    bot.run("2026-12-23")
    shown = show(bot, "2026-12-23")
    assert (shown["status"], shown["satisfaction"]) == ("resolved_on_site", "基本满意")
    assert "感谢评价" in str(to(bot, ENT)[-1]["Subject"])
    assert json.dumps(shown, ensure_ascii=False)


def test_a_note_from_the_enterprise_goes_to_the_admin_with_what_to_do(bot):
    bot.deliver(registration_mail(sender=ENT, to=INTAKE, subject=f"[{CASE}] 咨询",
                                  body="请问办理进度如何？我公司项目急需通电。"))
    bot.run("2027-01-06")
    [note] = [m for m in to(bot, ADMIN) if "企业来信" in str(m["Subject"])]
    text = body(note)
    assert "请问办理进度如何" in text and f"请直接发邮件至{ENT}" in text and "reception-bot" not in text


def test_case_show_and_remind_speak_chinese(bot):
    unit_reports_result(bot)
    cli = [sys.executable, "-m", "bot", "--config", str(bot.root / "config.toml"), "--today", "2027-01-14"]
    shown = subprocess.run(cli + ["case", "show", CASE], cwd=bot.root, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert "状态：答复待审核" in text and "承办：乌海市发展和改革委员会，2026年12月23日交办" in text
    assert "答复企业：待审核" in text and "已报送办理结果：2027年1月14日" in text
    assert not any(s in text for s in ("{", "'", "assigned", "2026-12-23", "fgw"))
    remind = subprocess.run(cli[:-1] + ["2027-01-05", "remind", "--dry-run"], cwd=bot.root, capture_output=True,
                            text=True, timeout=120)
    assert remind.returncode == 0 and "2027年1月5日" in remind.stdout and "status" not in remind.stdout
