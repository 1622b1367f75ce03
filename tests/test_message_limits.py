"""MailLimits: defaults, and that each limit skips only what is over it."""

from __future__ import annotations

import base64
import dataclasses

import pytest

from bot.errors import InputError
from bot.message.limits import MailLimits
from bot.message.parse import parse_message

MB = 1024 * 1024


def mail(parts: list[bytes], subject: str = "limits") -> bytes:
    body = b"".join(b"--L\r\n" + p + b"\r\n" for p in parts) + b"--L--\r\n"
    return (f"From: a@example.cn\r\nTo: qyjd@example.gov.cn\r\nSubject: {subject}\r\nMessage-ID: <l@example.cn>\r\n"
            'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="L"\r\n\r\n').encode() + body


def attachment(name: str, data: bytes) -> bytes:
    return (f'Content-Type: application/octet-stream; name="{name}"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
            ).encode() + base64.encodebytes(data)


TEXT = b"Content-Type: text/plain; charset=utf-8\r\n\r\nhello"


def test_defaults_match_the_quality_spec():
    limits = MailLimits()
    assert (limits.max_message_bytes, limits.max_parts, limits.max_depth) == (30 * MB, 200, 20)
    assert (limits.max_attachment_bytes, limits.max_header_line) == (20 * MB, 10_000)


def test_limits_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        MailLimits().max_parts = 5


def test_empty_input_is_the_only_refusal():
    with pytest.raises(InputError):
        parse_message(b"")


def test_attachment_over_limit_is_skipped_and_the_next_one_read():
    raw = mail([TEXT, attachment("big.xlsx", b"x" * 5000), attachment("small.xlsx", b"y" * 10)])
    msg = parse_message(raw, MailLimits(max_attachment_bytes=4096))
    big, small = msg.attachments
    assert big.filename == "big.xlsx" and big.skipped and big.data == b""
    assert small.filename == "small.xlsx" and not small.skipped and small.data == b"y" * 10
    assert any("big.xlsx" in n for n in msg.notes)


def test_attachment_exactly_at_limit_is_kept():
    msg = parse_message(mail([TEXT, attachment("edge.xlsx", b"x" * 4096)]), MailLimits(max_attachment_bytes=4096))
    assert msg.attachments[0].data == b"x" * 4096


def test_base64_line_breaks_do_not_count_towards_the_size():
    data = b"x" * 4095
    msg = parse_message(mail([TEXT, attachment("edge.xlsx", data)]), MailLimits(max_attachment_bytes=4096))
    assert msg.attachments[0].data == data


def test_message_over_limit_reads_headers_only():
    raw = mail([TEXT, attachment("a.xlsx", b"x" * 3000)], subject="=?utf-8?B?5aSn6YKu5Lu2?=")
    msg = parse_message(raw, MailLimits(max_message_bytes=len(raw) - 1))
    assert msg.subject == "大邮件" and msg.message_id == "l@example.cn"
    assert msg.attachments == [] and msg.text_body == ""
    assert any("headers only" in n for n in msg.notes)
    assert parse_message(raw, MailLimits(max_message_bytes=len(raw))).attachments


def test_parts_over_limit_are_skipped_the_first_ones_kept():
    raw = mail([TEXT] + [attachment(f"p{i}.txt", b"x") for i in range(6)])
    msg = parse_message(raw, MailLimits(max_parts=4))  # root, text, p0, p1
    assert [a.filename for a in msg.attachments if not a.skipped] == ["p0.txt", "p1.txt"]
    assert [a.filename for a in msg.attachments if a.skipped] == ["p2.txt", "p3.txt", "p4.txt", "p5.txt"]


def test_depth_over_limit_is_skipped():
    inner = b'Content-Type: multipart/mixed; boundary="I"\r\n\r\n--I\r\n' + attachment("deep.xlsx", b"x") + b"\r\n--I--"
    raw = mail([TEXT, inner])  # root 0, inner multipart 1, deep.xlsx 2
    assert parse_message(raw, MailLimits(max_depth=2)).attachments[0].data == b"x"
    skipped = parse_message(raw, MailLimits(max_depth=1)).attachments[0]
    assert skipped.filename == "deep.xlsx" and skipped.skipped


def test_long_header_line_truncated_with_note():
    raw = mail([TEXT], subject="S" * 300)
    msg = parse_message(raw, MailLimits(max_header_line=100))
    assert len(msg.subject) <= 100 and msg.text_body == "hello"
    assert any("truncated" in n for n in msg.notes)


def test_long_body_lines_are_not_header_lines():
    line = "正文" * 6000  # one 12,000-character body line (webmail HTML often has no breaks)
    raw = mail([b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + line.encode()])
    msg = parse_message(raw)
    assert msg.text_body == line and msg.notes == []
