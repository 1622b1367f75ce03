"""End to end on the real servers: a form APPENDed to the intake mailbox is answered, threaded,
in the enterprise's own mailbox, once; on SQLite and on PostgreSQL."""

from __future__ import annotations

import time

import pytest

from bot.samples import FormValues, form_docx, form_xlsx, registration_mail
from tests.support.botenv import INTAKE, body_text, make_env, parse

pytestmark = pytest.mark.rig


@pytest.fixture
def bot(tmp_path, clean_mail, db_url):
    return make_env(tmp_path / "bot", clean_mail, db_url)


def test_accepted_form_gets_one_threaded_reply(bot):
    rig = bot.rig
    raw = registration_mail(sender="ent1@corp.test", to=INTAKE, message_id="e2e-1@corp.test",
                            attachments=[("来访企业预约登记表.xlsx", form_xlsx(FormValues()))])
    rig.append(INTAKE, raw)
    bot.cli("run", "--once", today="2026-12-01")

    reply = parse(rig.wait_for_messages("ent1@corp.test", 1)[0])
    assert reply["In-Reply-To"] == "<e2e-1@corp.test>"
    assert "<e2e-1@corp.test>" in reply["References"]
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["X-Auto-Response-Suppress"] == "All"
    assert reply["Message-ID"].endswith("@bot.rb.test>")
    assert "预约受理通知" in reply["Subject"] and "[WHJD-2026-0001]" in reply["Subject"]
    text = body_text(reply)
    assert "2026年12月22日（星期二）" in text and "分管工业的副市长" in text
    assert rig.messages(INTAKE) == []
    assert len(rig.messages(INTAKE, "Processed")) == 1

    bot.cli("run", "--once", today="2026-12-01")
    time.sleep(1)
    assert len(rig.messages("ent1@corp.test")) == 1


def test_each_decision_reaches_its_sender(bot):
    rig = bot.rig
    rejected = FormValues(credit_code="91150302MAJG7LCM8G", enterprise_name="乌海市海湖畅达物流有限公司",
                          judicial="☑是 □否")
    vague = FormValues(facts="详见附件", requests="略")
    mails = {
        "ent2@corp.test": registration_mail(sender="ent2@corp.test", to=INTAKE,
                                            attachments=[("表.docx", form_docx(rejected))]),
        "ent3@corp.test": registration_mail(sender="ent3@corp.test", to=INTAKE,
                                            attachments=[("表.xlsx", form_xlsx(vague))]),
        "ent4@corp.test": registration_mail(sender="ent4@corp.test", to=INTAKE,
                                            subject="预约", body="您好，想预约接待。"),
    }
    for raw in mails.values():
        rig.append(INTAKE, raw)
    bot.cli("run", "--once", today="2026-12-01")

    rejected_reply = parse(rig.wait_for_messages("ent2@corp.test", 1)[0])
    assert "不属于接待日受理范围" in rejected_reply["Subject"]
    assert "政法部门" in body_text(rejected_reply)
    vague_reply = body_text(parse(rig.wait_for_messages("ent3@corp.test", 1)[0]))
    assert "“基本情况”" in vague_reply and "“具体请求”" in vague_reply
    missing = parse(rig.wait_for_messages("ent4@corp.test", 1)[0])
    names = sorted(a.get_filename() for a in missing.iter_attachments())
    assert names == ["来访企业预约登记表.docx", "来访企业预约登记表.xlsx"]


def test_reply_refused_with_451_is_sent_once_smtp_recovers(bot):
    rig = bot.rig
    rig.append(INTAKE, registration_mail(sender="ent1@corp.test", to=INTAKE,
                                         attachments=[("表.xlsx", form_xlsx(FormValues()))]))
    rig.smtp_faults.set(code=451, text="4.3.0 try again later", phase="DATA")
    bot.cli("run", "--once", today="2026-12-01")
    time.sleep(1)
    assert rig.messages("ent1@corp.test") == []
    assert len(rig.messages(INTAKE, "Processed")) == 1  # decided and recorded, only the mail waits

    rig.smtp_faults.clear()
    bot.cli("run", "--once", today="2026-12-01")
    rig.wait_for_messages("ent1@corp.test", 1)
    bot.cli("run", "--once", today="2026-12-01")
    time.sleep(1)
    assert len(rig.messages("ent1@corp.test")) == 1


def test_daemon_answers_a_new_form_within_seconds(tmp_path, clean_mail):
    bot = make_env(tmp_path / "bot", clean_mail, f"sqlite:///{tmp_path}/bot.db")
    daemon = bot.start_daemon(today="2026-12-01")
    try:
        time.sleep(3)  # started, connected, idling
        assert daemon.poll() is None, (bot.root / "daemon.log").read_text()
        started = time.monotonic()
        clean_mail.append(INTAKE, registration_mail(
            sender="ent5@corp.test", to=INTAKE, attachments=[("表.xlsx", form_xlsx(FormValues()))]))
        clean_mail.wait_for_messages("ent5@corp.test", 1, timeout=10)
        assert time.monotonic() - started < 6
    finally:
        daemon.terminate()
        daemon.wait(timeout=20)


OLE_DOC = bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 504  # an old binary Word/Excel file


def test_unreadable_attachment_gets_both_blank_forms(bot):
    rig = bot.rig
    rig.append(INTAKE, registration_mail(sender="ent1@corp.test", to=INTAKE,
                                         attachments=[("来访企业预约登记表.doc", OLE_DOC)]))
    rig.append(INTAKE, registration_mail(sender="ent2@corp.test", to=INTAKE,
                                         attachments=[("登记表.docx", OLE_DOC)]))  # a .doc renamed
    bot.cli("run", "--once", today="2026-12-01")
    for sender in ("ent1@corp.test", "ent2@corp.test"):
        reply = parse(rig.wait_for_messages(sender, 1)[0])
        assert "需补正" in reply["Subject"]
        names = sorted(a.get_filename() for a in reply.iter_attachments())
        assert names == ["来访企业预约登记表.docx", "来访企业预约登记表.xlsx"]
        blank = next(a for a in reply.iter_attachments() if a.get_filename().endswith(".xlsx"))
        assert blank.get_content()[:2] == b"PK"


def test_referral_reaches_the_district_and_replies_carry_details(bot):
    rig = bot.rig
    outside = FormValues(enterprise_name="乌海市镕达商贸有限公司", credit_code="91150302MAD39QL31H",
                         enterprise_types="□规上企业 □上市后备企业 □高新技术企业 ☑其他",
                         district="乌海市海勃湾区")
    later = FormValues(enterprise_name="乌海市海湖畅达物流有限公司", credit_code="91150302MAJG7LCM8G",
                       field="交通物流", title="物流园区道路维修",
                       facts="物流园区进场道路破损，影响货车通行。", requests="请将该路段纳入维修计划。")
    rig.append(INTAKE, registration_mail(sender="ent3@corp.test", to=INTAKE,
                                         attachments=[("登记表.docx", form_docx(outside))]))
    rig.append(INTAKE, registration_mail(sender="ent4@corp.test", to=INTAKE,
                                         attachments=[("登记表.xlsx", form_xlsx(later))]))
    bot.cli("run", "--once", today="2026-12-01")

    referred = parse(rig.wait_for_messages("ent3@corp.test", 1)[0])
    assert "海勃湾区人民政府" in referred["Subject"] and "转送该单位" in body_text(referred)
    forwarded = parse(rig.wait_for_messages("hbw@units.test", 1)[0])
    assert "乌海市镕达商贸有限公司" in body_text(forwarded)
    # our own document rebuilt from the values read, never the sender's file
    assert [a.get_filename() for a in forwarded.iter_attachments()] == ["企业诉求转办表-WHJD-2026-0001.docx"]

    deferred = body_text(parse(rig.wait_for_messages("ent4@corp.test", 1)[0]))
    assert "2027年3月23日（星期二）" in deferred and "分管自然资源和城乡建设的副市长" in deferred


def test_corrected_form_sent_in_reply_updates_the_case(bot):
    rig = bot.rig
    first = FormValues(contact_phone="12345", facts="无")
    rig.append(INTAKE, registration_mail(sender="ent2@corp.test", to=INTAKE, message_id="fix-1@corp.test",
                                         attachments=[("表.xlsx", form_xlsx(first))]))
    bot.cli("run", "--once", today="2026-12-01")
    notice = parse(rig.wait_for_messages("ent2@corp.test", 1)[0])
    text = body_text(notice)
    assert "“联系电话”" in text and "“基本情况”" in text  # every problem in one mail
    number = notice["Subject"].rsplit("[", 1)[1].rstrip("]")

    rig.append(INTAKE, registration_mail(
        sender="ent2@corp.test", to=INTAKE, subject=f"回复：{notice['Subject']}",
        in_reply_to=notice["Message-ID"].strip("<>"), attachments=[("表.xlsx", form_xlsx(FormValues()))]))
    bot.cli("run", "--once", today="2026-12-02")
    accepted = parse(rig.wait_for_messages("ent2@corp.test", 2)[-1])
    assert f"[{number}]" in accepted["Subject"] and "已据此更新" in body_text(accepted)
    listed = bot.cli("cases", "list", "--json", today="2026-12-02").stdout
    import json
    assert [(c["case"], c["status"]) for c in json.loads(listed)] == [(number, "accepted")]


def test_photo_and_doc_forms_are_accepted_like_an_xlsx(bot):
    """A phone photo of the printed form and a Word 97 .doc (what WPS keeps) get the same reply."""
    from pathlib import Path

    from tests.support.formats import form_photo

    rig = bot.rig
    typed = FormValues(credit_code="91150302MA0N1RX23K", enterprise_types="规上企业、高新技术企业",
                       judicial="否", discipline="否", petition="否", proposal="否")
    doc = (Path(__file__).parent / "data" / "e2e" / "registration_form.doc").read_bytes()
    rig.append(INTAKE, registration_mail(sender="ent1@corp.test", to=INTAKE, message_id="e2e-photo@corp.test",
                                         attachments=[("登记表.jpg", form_photo(typed))]))
    rig.append(INTAKE, registration_mail(sender="ent2@corp.test", to=INTAKE, message_id="e2e-doc@corp.test",
                                         attachments=[("登记表.doc", doc)]))
    bot.cli("run", "--once", today="2026-12-01")

    for sender, message_id in (("ent1@corp.test", "e2e-photo@corp.test"), ("ent2@corp.test", "e2e-doc@corp.test")):
        reply = parse(rig.wait_for_messages(sender, 1)[0])
        assert reply["In-Reply-To"] == f"<{message_id}>"
        assert "预约受理通知" in reply["Subject"]
        assert "2026年12月22日（星期二）" in body_text(reply)
        # names read from the photo are echoed back to be confirmed; the .doc needs no such check
        assert ("以下内容由系统从图片中识别" in body_text(reply)) == (message_id == "e2e-photo@corp.test")
    assert len(rig.messages(INTAKE, "Processed")) == 2
