"""LOOP-AUTO: each header rule, robot senders, our own mail, and header-less Chinese auto-replies."""

from __future__ import annotations

import pytest

from bot.message.loop import loop_reason
from bot.message.model import Attachment, InboundMessage

OWN = ["Qyjd@Example.gov.cn"]
DOMAINS = ["bot.example.gov.cn"]


def make(headers=(), from_addr="zs@wuhai-rongzhe.cn", subject="来访企业预约登记表", message_id="a1@wuhai-rongzhe.cn",
         attachments=()) -> InboundMessage:
    return InboundMessage(raw=b"", message_id=message_id, from_addr=from_addr, from_name="", to=[], cc=[],
                          subject=subject, date=None, in_reply_to="", references=[], headers=list(headers),
                          text_body="", attachments=list(attachments))


def reason(msg: InboundMessage) -> str | None:
    return loop_reason(msg, OWN, DOMAINS)


def test_ordinary_registration_mail_is_answered():
    assert reason(make([("Auto-Submitted", "no"), ("Precedence", "normal")])) is None


@pytest.mark.parametrize("value", ["auto-replied", "auto-generated", "Auto-Replied; owner-email=x@y",
                                   "auto-notified"])
def test_auto_submitted_other_than_no(value):
    assert "Auto-Submitted" in reason(make([("Auto-Submitted", value)]))


@pytest.mark.parametrize("value", ["bulk", "junk", "list", "Bulk"])
def test_precedence(value):
    assert "Precedence" in reason(make([("Precedence", value)]))


@pytest.mark.parametrize("name, value", [
    ("X-Autoreply", "yes"), ("X-Autorespond", "1"), ("X-Auto-Response-Suppress", "All"),
    ("x-auto-response-suppress", "OOF, AutoReply"), ("List-Id", "<reg.lists.example.cn>"),
    ("List-Unsubscribe", "<mailto:unsub@example.cn>"),
])
def test_marker_headers(name, value):
    got = reason(make([(name, value)]))
    assert got and name.lower() in got.lower()


def test_x_loop_naming_our_mailbox_case_insensitive():
    assert "X-Loop" in reason(make([("X-Loop", "QYJD@example.GOV.cn")]))
    assert reason(make([("X-Loop", "someone-else@example.cn")])) is None


def test_delivery_status_reports():
    assert "multipart/report" in reason(make([("Content-Type", "multipart/report; report-type=delivery-status")]))
    dsn = Attachment("", "message/delivery-status", b"Action: failed")
    assert "delivery status" in reason(make(attachments=[dsn]))


@pytest.mark.parametrize("sender", ["MAILER-DAEMON@mx.example.cn", "postmaster@163.com", "noreply@qq.com",
                                    "No-Reply@service.example.cn", "do-not-reply@example.cn", "mailer-daemon"])
def test_robot_senders(sender):
    assert "automatic mailbox" in reason(make(from_addr=sender.lower()))


def test_robot_check_is_on_the_local_part_only():
    assert reason(make(from_addr="zhang.noreply.fan@example.cn")) is None
    assert reason(make(from_addr="li@noreply.example.cn")) is None


@pytest.mark.parametrize("value", ["<>", "< >", " <> "])
def test_empty_return_path(value):
    assert "empty return path" in reason(make([("Return-Path", value)]))


def test_return_path_with_address_is_fine():
    assert reason(make([("Return-Path", "<zs@wuhai-rongzhe.cn>")])) is None


@pytest.mark.parametrize("sender", ["qyjd@example.gov.cn", "QYJD@EXAMPLE.GOV.CN"])
def test_our_own_address_case_insensitive(sender):
    assert "own address" in reason(make(from_addr=sender.lower()))


def test_our_own_address_list_is_compared_case_insensitively_too():
    assert loop_reason(make(from_addr="qyjd@example.gov.cn"), ["QYJD@EXAMPLE.GOV.CN"], []) is not None


def test_message_id_on_our_domain():
    assert "own domain" in reason(make(message_id="reply-17@BOT.example.gov.cn"))
    assert reason(make(message_id="reply-17@example.gov.cn")) is None  # a sibling domain is not ours


@pytest.mark.parametrize("subject", [
    "自动回复: 来访企业预约登记表", "自动回复：您的来信已收到", "【自动答复】", "休假中", "Auto Reply: 登记表",
    "Auto-Reply: x", "AutoReply", "Automatic reply: 来访企业预约登记表", "Out of Office: x", "OUT OF OFFICE",
    "退信", "系统退信：邮件无法送达", "Undeliverable: 来访企业预约登记表", "Delivery Status Notification (Failure)",
])
def test_auto_reply_subjects_without_headers(subject):
    assert "subject" in reason(make(subject=subject))


@pytest.mark.parametrize("subject", ["来访企业预约登记表", "回复：补充材料", "Re: 登记表已修改", "关于自动化产线用电的诉求"])
def test_ordinary_subjects_are_not_auto_replies(subject):
    assert reason(make(subject=subject)) is None
