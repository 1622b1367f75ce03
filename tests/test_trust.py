"""A public mailbox that cannot be talked into anything (quality.md, "Who may do what by mail").

Each test plays an attack with ordinary mail against the real servers (Dovecot, the submission
server that delivers into it, SQLite and PostgreSQL) and reads the outcome from the real mailboxes
and the database. Mail "as our receiving server hands it over" carries its Authentication-Results
(tests.support.mail.authenticated); the bot's config names that server (`[trust] authserv_id`).
"""

from __future__ import annotations

import json
import time

import pytest
from sqlmodel import Session, select

from bot.cases import seats_used
from bot.samples import FormValues, form_docx, form_xlsx, registration_mail
from bot.store.db import make_engine
from bot.store.models import Case, HeldAction, Outbox, Suppression, UnitReport
from tests.support.botenv import INTAKE, body_text, make_env, parse
from tests.support.mail import authenticated

pytestmark = pytest.mark.rig

CASE = "WHJD-2026-0001"
ENT, FGW, ADMIN, HBW = "ent1@corp.test", "fgw@units.test", "admin@rb.test", "hbw@units.test"
CODE_WORD = "确认码"


@pytest.fixture
def bot(tmp_path, clean_mail, db_url):
    return make_env(tmp_path / "bot", clean_mail, db_url)


def rows(bot, model, *where):
    engine = make_engine(_url(bot))
    try:
        with Session(engine) as db:
            return list(db.exec(select(model).where(*where)))
    finally:
        engine.dispose()


def _url(bot) -> str:
    text = bot.config.read_text()
    return text.split('database_url = "', 1)[1].split('"', 1)[0]


def register_and_assign(bot) -> None:
    """ENT's case 0001, accepted, then assigned to 发改委 (fgw) on 12-23."""
    bot.rig.append(INTAKE, registration_mail(sender=ENT, to=INTAKE, message_id="reg-1@corp.test",
                                             attachments=[("登记表.xlsx", form_xlsx(FormValues()))]))
    bot.cli("run", "--once", today="2026-12-01")
    bot.cli("assign", CASE, "--lead", "fgw", today="2026-12-23")
    bot.rig.wait_for_messages(FGW, 1)


def report(sender_header: str, body: str = "已召开协调会，供电公司已受理增容申请。",
           subject: str = f"[{CASE}] 落实情况", message_id: str = "") -> bytes:
    raw = registration_mail(sender="x@x.test", to=INTAKE, subject=subject, body=body,
                            message_id=message_id or None)
    head, rest = raw.split(b"\r\n", 1)
    assert head.startswith(b"From:")
    return f"From: {sender_header}".encode() + b"\r\n" + rest


def reports_of(bot) -> list[str]:
    shown = json.loads(bot.cli("case", "show", CASE, "--json", today="2026-12-28").stdout)
    return [r["kind"] for a in shown["assignments"] for r in a["reports"]]


def admin_digest(bot) -> str:
    mails = [parse(m) for m in bot.rig.messages(ADMIN)]
    digests = [body_text(m) for m in mails if "未经授权" in str(m["Subject"])]
    assert digests, [str(m["Subject"]) for m in mails]
    return digests[-1]


# -- who is the sender ----------------------------------------------------------------------------

def test_a_display_name_that_looks_like_the_unit_changes_nothing(bot):
    register_and_assign(bot)
    # The display name says the unit, the address is the attacker's; our server even passes it
    # for the attacker's own domain.
    forged = authenticated(report(f"{FGW} <attacker@evil.test>"))
    bot.rig.append(INTAKE, forged)
    bot.cli("run", "--once", today="2026-12-28")
    assert reports_of(bot) == []
    assert len(bot.rig.messages(FGW)) == 1  # the slip only: no acknowledgement, no code
    assert "冒充" in admin_digest(bot)


def test_a_ledger_from_a_display_name_admin_is_not_imported(bot, tmp_path):
    register_and_assign(bot)
    ledger = tmp_path / "台账.xlsx"
    bot.cli("ledger", "export", str(ledger), today="2026-12-23")
    raw = registration_mail(sender="x@x.test", to=INTAKE, subject="台账",
                            attachments=[("台账.xlsx", ledger.read_bytes())])
    raw = f'From: "{ADMIN}" <attacker@evil.test>'.encode() + b"\r\n" + raw.split(b"\r\n", 1)[1]
    bot.rig.append(INTAKE, raw)
    bot.cli("run", "--once", today="2026-12-24")
    assert not any("台账导入结果" in str(parse(m)["Subject"]) for m in bot.rig.messages(ADMIN))
    assert [r for r in rows(bot, Outbox) if r.purpose in ("slip", "confirm")] == \
        [r for r in rows(bot, Outbox) if r.purpose == "slip"][:1]  # nothing sent but the first slip
    assert "冒充" in admin_digest(bot)


# -- whose word counts: our server's ---------------------------------------------------------------

@pytest.mark.parametrize("variant", ["none", "foreign", "ours-below-a-failure"])
def test_a_unit_report_our_server_did_not_vouch_for_is_held(bot, variant):
    register_and_assign(bot)
    plain = report(f"发改委 <{FGW}>")
    raw = {
        "none": plain,
        "foreign": authenticated(plain, server="mx.evil.test"),
        # The sender wrote a "pass" under our server's name; our server's own header, on top, failed.
        "ours-below-a-failure": authenticated(authenticated(plain), result="fail"),
    }[variant]
    bot.rig.append(INTAKE, raw)
    bot.cli("run", "--once", today="2026-12-28")
    assert reports_of(bot) == []
    to_unit = [parse(m) for m in bot.rig.messages(FGW)]
    if variant == "ours-below-a-failure":  # a failure is refused outright, no code is sent
        assert len(to_unit) == 1 and "伪造" in admin_digest(bot)
    else:
        assert CODE_WORD in body_text(to_unit[-1]) and "待确认" in admin_digest(bot)


def test_the_code_from_the_registered_address_applies_the_held_report(bot):
    register_and_assign(bot)
    bot.rig.append(INTAKE, report(f"发改委 <{FGW}>"))
    bot.cli("run", "--once", today="2026-12-28")
    request = parse(bot.rig.messages(FGW)[-1])
    code = _code(body_text(request))

    # The right code from another address: nothing.
    bot.rig.append(INTAKE, registration_mail(sender="attacker@evil.test", to=INTAKE,
                                             subject=f"回复：{request['Subject']}", body=f"确认 {code}"))
    bot.cli("run", "--once", today="2026-12-28")
    assert reports_of(bot) == []
    # An auto-responder answering from the unit's address, the code only in the quoted request: nothing.
    bot.rig.append(INTAKE, registration_mail(
        sender=FGW, to=INTAKE, subject=f"回复：{request['Subject']}",
        body=f"您好，来信已收到。\n\n------------------ 原始邮件 ------------------\n{body_text(request)}",
        in_reply_to=request["Message-ID"].strip("<>")))
    bot.cli("run", "--once", today="2026-12-28")
    assert reports_of(bot) == []
    # The unit itself writes the code back: the report is recorded and acknowledged, once.
    bot.rig.append(INTAKE, registration_mail(sender=FGW, to=INTAKE, subject=f"回复：{request['Subject']}",
                                             body=f"确认码 {code}，确系我单位报送。",
                                             in_reply_to=request["Message-ID"].strip("<>")))
    bot.cli("run", "--once", today="2026-12-28")
    assert reports_of(bot) == ["status"]
    assert [h.status for h in rows(bot, HeldAction)] == ["applied"]
    assert any("回执" in str(parse(m)["Subject"]) for m in bot.rig.messages(FGW))
    # The same code again: nothing more.
    bot.rig.append(INTAKE, registration_mail(sender=FGW, to=INTAKE, subject="再次确认",
                                             body=f"确认码 {code}"))
    bot.cli("run", "--once", today="2026-12-28")
    assert reports_of(bot) == ["status"]


def test_an_expired_code_applies_nothing(bot):
    register_and_assign(bot)
    bot.rig.append(INTAKE, report(f"发改委 <{FGW}>"))
    bot.cli("run", "--once", today="2026-12-28")
    code = _code(body_text(parse(bot.rig.messages(FGW)[-1])))
    bot.rig.append(INTAKE, registration_mail(sender=FGW, to=INTAKE, subject="确认", body=f"确认码 {code}"))
    bot.cli("run", "--once", today="2027-01-05")  # 72 hours are long gone
    assert [h.status for h in rows(bot, HeldAction)] == ["expired"]
    assert reports_of(bot) == []
    assert "过期" in admin_digest(bot) or "未获确认" in admin_digest(bot)


def _code(text: str) -> str:
    import re

    match = re.search(r"\b([A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4})\b", text)
    assert match, text
    return match.group(1)


# -- cases belong to their enterprise's address ---------------------------------------------------

def test_a_known_credit_code_from_another_address_opens_its_own_flagged_case(bot):
    bot.rig.append(INTAKE, registration_mail(sender=ENT, to=INTAKE, message_id="own@corp.test",
                                             attachments=[("表.xlsx", form_xlsx(FormValues()))]))
    bot.cli("run", "--once", today="2026-12-01")
    thief = FormValues(contact_name="冒名者", contact_phone="13900000000", contact_email="thief@evil.test")
    bot.rig.append(INTAKE, registration_mail(sender="thief@evil.test", to=INTAKE,
                                             message_id="thief@evil.test",
                                             attachments=[("表.xlsx", form_xlsx(thief))]))
    bot.cli("run", "--once", today="2026-12-01")
    cases = sorted(rows(bot, Case), key=lambda c: c.number)
    assert [c.number for c in cases] == [CASE, "WHJD-2026-0002"]
    own, other = cases
    assert (own.contact_name, own.contact_phone, own.contact_email) == ("李晓明", "13904731234", ENT)
    assert other.flags == "DUPLICATE-CODE" and other.sender == "thief@evil.test"
    # It takes no seat: only the enterprise's own case counts in the session.
    engine = make_engine(_url(bot))
    try:
        with Session(engine) as db:
            assert seats_used(db, "2026-12") == 1
    finally:
        engine.dispose()


# -- bounces are believed only when they are ours --------------------------------------------------

def dsn(failed: list[str], original_id: str) -> bytes:
    recipients = "".join(f"Final-Recipient: rfc822; {a}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
                         f"Diagnostic-Code: smtp; 550 no such user\r\n\r\n" for a in failed)
    return (f"From: MAILER-DAEMON@mx.evil.test\r\nTo: {INTAKE}\r\nSubject: Undelivered Mail\r\n"
            f"Message-ID: <dsn-{time.time_ns()}@mx.evil.test>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n"
            "--B\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
            f"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.evil.test\r\n\r\n"
            f"{recipients}--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            f"From: {INTAKE}\r\nMessage-ID: <{original_id}>\r\n\r\n--B--\r\n").encode()


def test_a_forged_bounce_suppresses_nobody_and_unit_addresses_are_never_suppressed(bot):
    register_and_assign(bot)
    slip = next(r for r in rows(bot, Outbox) if r.purpose == "slip")
    # A report naming mail we never sent, and addresses that were not its recipients.
    bot.rig.append(INTAKE, dsn([FGW, ADMIN, "dcs@units.test"], "never-sent@bot.rb.test"))
    bot.rig.append(INTAKE, dsn([ADMIN], slip.message_id))
    # Even a real-looking report for our own slip to the unit does not silence the unit.
    bot.rig.append(INTAKE, dsn([FGW], slip.message_id))
    bot.cli("run", "--once", today="2026-12-24")
    assert rows(bot, Suppression) == []
    # The admin is told of the unit's failed slip; and the next slip still goes out.
    assert any("投递失败" in str(parse(m)["Subject"]) for m in bot.rig.messages(ADMIN))
    out = bot.cli("assign", CASE, "--lead", "fgw", "--co", "zrzyj", today="2026-12-24")
    assert "zrzyj" in out.stdout or out.returncode == 0
    bot.rig.wait_for_messages("zrzyj@units.test", 1)


def test_mail_to_a_bounced_enterprise_stays_queued_and_visible(bot):
    bot.rig.append(INTAKE, registration_mail(sender=ENT, to=INTAKE, message_id="b1@corp.test",
                                             attachments=[("表.xlsx", form_xlsx(FormValues()))]))
    bot.cli("run", "--once", today="2026-12-01")
    reply = next(r for r in rows(bot, Outbox) if r.recipients == ENT)
    bot.rig.append(INTAKE, dsn([ENT], reply.message_id))
    bot.rig.append(INTAKE, registration_mail(sender=ENT, to=INTAKE, message_id="b2@corp.test",
                                             attachments=[("表.xlsx", form_xlsx(FormValues(title="补充")))]))
    bot.cli("run", "--once", today="2026-12-02")
    held = [r for r in rows(bot, Outbox) if r.status == "suppressed"]
    assert [r.recipients for r in held] == [ENT]
    assert "暂未发出" in admin_digest(bot)


# -- never relay what we did not write -------------------------------------------------------------

def test_a_referral_carries_our_own_document_never_the_senders_file(bot):
    macro = form_docx(FormValues(enterprise_name="乌海市某某商贸有限公司", credit_code="91150302MA0N1RX23K"))
    off_roster = FormValues(enterprise_name="乌海市某某商贸有限公司", credit_code="91150303MA13QR1W22",
                            enterprise_types="□规上企业 □上市后备企业 □高新技术企业 ☑其他")
    docm = form_docx(off_roster)
    bot.rig.append(INTAKE, registration_mail(sender=ENT, to=INTAKE, message_id="ref@corp.test",
                                             attachments=[("登记表（请启用宏）.docm", docm)]))
    bot.cli("run", "--once", today="2026-12-01")
    forwards = [parse(m) for m in bot.rig.wait_for_messages(HBW, 1)]
    [attachment] = list(forwards[0].iter_attachments())
    assert attachment.get_filename().startswith("企业诉求转办表")
    data = attachment.get_payload(decode=True)
    assert data not in (docm, macro)
    assert b"vbaProject" not in data
    assert "乌海市某某商贸有限公司" in _docx_text(data)


def _docx_text(data: bytes) -> str:
    import io

    import docx

    document = docx.Document(io.BytesIO(data))
    return "\n".join(c.text for t in document.tables for r in t.rows for c in r.cells)


# -- no loops with units ---------------------------------------------------------------------------

def test_an_auto_responder_answering_our_acknowledgement_does_not_loop(bot):
    register_and_assign(bot)
    bot.rig.append(INTAKE, authenticated(report(f"发改委 <{FGW}>")))
    bot.cli("run", "--once", today="2026-12-28")
    for _round in range(5):  # the unit's auto-responder answers whatever we send, no headers
        last = parse(bot.rig.messages(FGW)[-1])
        bot.rig.append(INTAKE, authenticated(registration_mail(
            sender=FGW, to=INTAKE, subject=f"Re: {last['Subject']}",
            body="您好，您的邮件已收到，我们会尽快处理。", in_reply_to=last["Message-ID"].strip("<>"))))
        bot.cli("run", "--once", today="2026-12-28")
    assert reports_of(bot) == ["status"]
    assert len(bot.rig.messages(FGW)) == 2  # the slip and one acknowledgement
    # The same report sent again the same day is recorded, not acknowledged a second time.
    bot.rig.append(INTAKE, authenticated(report(f"发改委 <{FGW}>", body="补充：增容方案已批复。")))
    bot.cli("run", "--once", today="2026-12-28")
    assert len(rows(bot, UnitReport)) == 2 and len(bot.rig.messages(FGW)) == 2


def test_automatic_answers_to_one_address_are_capped(bot):
    raw = lambda i: registration_mail(sender=ENT, to=INTAKE, message_id=f"many-{i}@corp.test",  # noqa: E731
                                      attachments=[("表.xlsx", b"not a workbook")])
    for i in range(25):
        bot.rig.append(INTAKE, raw(i))
    bot.cli("run", "--once", today="2026-12-01")
    assert len(bot.rig.messages(ENT)) <= 20


# -- the small ones --------------------------------------------------------------------------------

def test_a_line_separator_in_the_enterprise_name_does_not_stop_the_reply(bot):
    values = FormValues(enterprise_name="乌海市金沙湾\u2028新材料科技有限公司")
    bot.rig.append(INTAKE, registration_mail(sender=ENT, to=INTAKE, message_id="u2028@corp.test",
                                             attachments=[("表.xlsx", form_xlsx(values))]))
    bot.cli("run", "--once", today="2026-12-01")
    [reply] = [parse(m) for m in bot.rig.wait_for_messages(ENT, 1)]
    assert "\u2028" not in str(reply["Subject"]) and reply["In-Reply-To"] == "<u2028@corp.test>"


def test_a_second_mail_reusing_a_message_id_is_answered_too(bot):
    for title in ("第一份", "第二份"):
        bot.rig.append(INTAKE, registration_mail(sender=ENT, to=INTAKE, message_id="same@corp.test",
                                                 attachments=[("表.xlsx", form_xlsx(FormValues(title=title)))]))
    bot.cli("run", "--once", today="2026-12-01")
    assert len(bot.rig.wait_for_messages(ENT, 2)) == 2
