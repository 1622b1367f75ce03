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
    assert "「基本情况」" in vague_reply and "「具体请求」" in vague_reply
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
