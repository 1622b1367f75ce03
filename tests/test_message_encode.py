"""Outgoing attachment names: one UTF-8 B word inside quoted name= / filename=, never RFC 2231."""

from __future__ import annotations

import base64
import email.policy
import re
from email.message import EmailMessage

import pytest

from bot.message.encode import add_attachment
from bot.message.parse import parse_message

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
SHORT = "来访企业预约登记表-乌海镕喆科技.docx"
LONG = "内蒙古自治区乌海市海勃湾区镕喆新材料科技有限公司来访企业预约登记表（2024年第二季度市长接待日）回执.docx"


def outgoing(body: str = "您好，回执见附件。") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "qyjd@example.gov.cn"
    msg["To"] = "zs@example.cn"
    msg["Subject"] = "回执"
    msg.set_content(body, charset="utf-8", cte="base64")
    return msg


def word(name: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(name.encode("utf-8")).decode("ascii") + "?="


@pytest.mark.parametrize("name", [SHORT, LONG])
def test_name_is_one_utf8_b_word_in_quotes(name):
    msg = outgoing()
    add_attachment(msg, b"PK\x03\x04stub", name, DOCX)
    raw = msg.as_bytes()
    assert f'name="{word(name)}"'.encode() in raw
    assert f'filename="{word(name)}"'.encode() in raw
    assert b"filename*" not in raw and b"name*" not in raw
    assert len(re.findall(rb"=\?utf-8\?b\?", raw)) == 2 + raw.count(b"Subject: =?utf-8?b?")


def test_long_name_is_folded_between_parameters_not_inside_the_word():
    msg = outgoing()
    add_attachment(msg, b"data", LONG, DOCX)
    raw = msg.as_bytes(policy=email.policy.SMTP)
    assert len(word(LONG)) > 75
    assert f"Content-Type: {DOCX};\r\n name=\"{word(LONG)}\"\r\n".encode() in raw
    assert f"Content-Disposition: attachment;\r\n filename=\"{word(LONG)}\"\r\n".encode() in raw
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


@pytest.mark.parametrize("policy", [email.policy.default, email.policy.SMTP, email.policy.SMTPUTF8])
@pytest.mark.parametrize("name", [SHORT, LONG, "plain-ascii.xlsx", 'quote"and\\slash.txt'])
def test_parse_message_reads_the_name_back(policy, name):
    msg = outgoing()
    add_attachment(msg, b"PK\x03\x04stub", name, DOCX)
    parsed = parse_message(msg.as_bytes(policy=policy))
    assert [(a.filename, a.content_type, a.data) for a in parsed.attachments] == [(name, DOCX, b"PK\x03\x04stub")]
    assert "回执见附件" in parsed.text_body and parsed.subject == "回执"


def test_ascii_name_is_written_plain():
    msg = outgoing()
    add_attachment(msg, b"x", "form.xlsx", "text/plain")
    assert b'filename="form.xlsx"' in msg.as_bytes()


def test_several_attachments_and_binary_data_round_trip():
    msg = outgoing()
    blobs = [(bytes(range(256)) * 40, SHORT), (b"", "空.xlsx"), (b"\r\n\x00", LONG)]
    for data, name in blobs:
        add_attachment(msg, data, name, "application/octet-stream")
    parsed = parse_message(msg.as_bytes())
    assert [(a.filename, a.data) for a in parsed.attachments] == [(n, d) for d, n in blobs]


def test_a_message_without_body_becomes_multipart_mixed():
    msg = EmailMessage()
    msg["Subject"] = "x"
    add_attachment(msg, b"x", SHORT, "bogus type")
    parsed = parse_message(msg.as_bytes())
    assert msg.get_content_type() == "multipart/mixed"
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [(SHORT, "application/octet-stream")]
