"""Outgoing attachment names: one UTF-8 B word inside quoted name= / filename=, never RFC 2231.
Outgoing headers written already folded: they read back as the email package's own would."""

from __future__ import annotations

import base64
import email.policy
import re
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.header import decode_header, make_header
from email.utils import format_datetime, getaddresses

import pytest

from bot.message.encode import (
    MAX_LINE,
    _make_mixed,
    add_attachment,
    encoded_words,
    flatten,
    set_addresses,
    set_text,
    set_text_body,
)
from bot.outbox.compose import Draft, OutgoingAttachment, build_mime, date_header
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


# -- headers written already folded (set_text, set_addresses, build_mime) ---------------------------

SUBJECTS = ["回执", "预约受理通知：内蒙古自治区乌海市海勃湾区镕喆新材料科技有限公司 [JD-2026-0123]",
            "表情😀与𠀀扩展汉字" * 30, "plain ascii", "A" * 200, "x =?utf-8?b?5Zue5omn?= y",
            "mixed 中文 and ASCII words " * 10 + "end"]


@pytest.mark.parametrize("subject", SUBJECTS)
def test_subject_reads_back_and_every_line_fits(subject):
    msg = EmailMessage()
    set_text(msg, "Subject", subject)
    raw = msg.as_bytes()
    assert email.message_from_bytes(raw, policy=email.policy.default)["Subject"] == subject
    assert parse_message(raw + b"\n\nbody\n").subject == subject
    assert all(len(line) <= MAX_LINE for line in raw.split(b"\n"))


@pytest.mark.parametrize("text", ["镕喆" * 100, "a😀b" * 60, "é" * 77, "x"])
def test_encoded_words_cut_between_characters_and_stay_short(text):
    words = encoded_words(text)
    assert all(len(w) <= 75 for w in words)
    assert "".join(base64.b64decode(w[10:-2]).decode("utf-8") for w in words) == text  # each decodes alone


def test_ascii_that_looks_like_an_encoded_word_is_not_decoded_by_the_reader():
    msg = EmailMessage()
    set_text(msg, "Subject", "=?utf-8?b?5Zue5omn?=")
    assert msg.as_bytes() != b"Subject: =?utf-8?b?5Zue5omn?=\n\n"
    assert email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)["Subject"] == "=?utf-8?b?5Zue5omn?="


@pytest.mark.parametrize("pairs", [
    [("市长服务民营企业接待日办公室（乌海市人民政府办公室）", "intake@rb.test")],
    [("Office \"A\", Wuhai", "intake@rb.test")],
    [("", "a@b.test")],
    [("", f"unit{i}@dept{i}.wuhai.gov.cn") for i in range(12)],
    [("", "张三@例子.中国")],  # not a plain addr-spec: left to the email package
])
def test_address_headers_read_back(pairs):
    msg = EmailMessage()
    set_addresses(msg, "To", pairs)
    raw = msg.as_bytes()
    header = email.message_from_bytes(raw, policy=email.policy.default)["To"]
    assert [a.addr_spec for a in header.addresses] == [a for _, a in pairs]
    # display names as RFC 2047 reads them (the whitespace between two words is not text; the
    # stdlib's address parser keeps it, mail clients do not)
    value = email.message_from_bytes(raw, policy=email.policy.compat32)["To"]
    names = [str(make_header(decode_header(n))) for n, _a in getaddresses([value])]
    assert names == [n for n, _ in pairs]
    assert all(len(line) <= MAX_LINE for line in raw.split(b"\n"))


def test_one_office_name_is_one_word_as_before():
    msg = EmailMessage()
    set_addresses(msg, "From", [("市长服务民营企业接待日办公室", "intake@rb.test")])
    assert msg.as_bytes().count(b"=?utf-8?b?") == 1


def test_build_mime_reads_back_whole():
    """Every header as the email package reads it, the body and the attachment as the bot does."""
    refs = [f"{'r' * 60}{i}@foxmail.com" for i in range(25)]
    draft = Draft(purpose="reply-accepted", to=["zs@corp.test"], cc=["admin@rb.test"],
                  subject="回复：【报名】乌海镕喆新材料科技有限公司", body="尊敬的企业：\n\n您好！😀\n",
                  case_number="JD-2026-0123", in_reply_to="<abc@corp.test>", references=refs,
                  attachments=[OutgoingAttachment(SHORT, b"PK\x03\x04stub", DOCX)])
    raw = build_mime(draft, message_id="m1@rb.test", mail_from="intake@rb.test",
                     from_name="市长服务民营企业接待日办公室", now=datetime(2026, 12, 1, 9, tzinfo=timezone.utc))
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert parse_message(raw).from_name == "市长服务民营企业接待日办公室"
    assert str(msg["To"]) == "zs@corp.test" and str(msg["Cc"]) == "admin@rb.test"
    assert msg["Subject"] == "回复：【报名】乌海镕喆新材料科技有限公司 [JD-2026-0123]"
    assert msg["Message-ID"] == "<m1@rb.test>" and msg["In-Reply-To"] == "<abc@corp.test>"
    assert msg["References"].split() == [f"<{r}>" for r in (refs + ["abc@corp.test"])[-20:]]
    assert msg["Date"].datetime == datetime(2026, 12, 1, 9, tzinfo=timezone.utc)
    assert (msg["Auto-Submitted"], msg["X-Loop"]) == ("auto-replied", "intake@rb.test")
    parsed = parse_message(raw)
    assert parsed.text_body.strip() == "尊敬的企业：\n\n您好！😀"
    assert [(a.filename, a.data) for a in parsed.attachments] == [(SHORT, b"PK\x03\x04stub")]
    head = raw.split(b"\n\n", 1)[0]  # the attachment's parameters are kept whole on purpose (above)
    assert all(len(line) <= MAX_LINE for line in head.split(b"\n"))


def test_the_date_header_is_the_email_packages_in_the_zone_given():
    """Formatted once per second; the same instant in another zone keeps its own zone."""
    utc = datetime(2026, 12, 1, 8, 30, 15, 999_999, tzinfo=timezone.utc)
    for now in (utc, utc.astimezone(timezone(timedelta(hours=8))), utc, utc.replace(microsecond=1)):
        assert date_header(now) == format_datetime(now)
    assert date_header(utc.astimezone(timezone(timedelta(hours=8)))).endswith("16:30:15 +0800")


# -- flatten: the bytes of the email package's generator, without its header parsing ---------------

def built(attachments: list[tuple[str, bytes]], subject: str = "回复：【报名】乌海镕喆新材料科技有限公司",
          to: list[tuple[str, str]] | None = None, body: str = "尊敬的企业：\n\n您好！😀\n") -> EmailMessage:
    """A message as build_mime makes it, from the same helpers."""
    msg = EmailMessage()
    set_addresses(msg, "From", [("市长服务民营企业接待日办公室", "intake@rb.test")])
    set_addresses(msg, "To", to or [("", "zs@corp.test")])
    set_text(msg, "Subject", subject)
    msg.set_raw("Message-ID", "<m1@rb.test>")
    set_text_body(msg, body)
    for name, data in attachments:
        add_attachment(msg, data, name, DOCX)
    return msg


def as_the_generator_writes(msg: EmailMessage, ours: bytes) -> bytes:
    """msg.as_bytes() with the boundary `ours` chose (the email package would choose another)."""
    found = re.search(rb'boundary="([^"]+)"', ours)
    if found:
        msg.set_boundary(found.group(1).decode())
    return msg.as_bytes()


@pytest.mark.parametrize("make", [
    lambda: built([]),
    lambda: built([], body=""),
    lambda: built([(SHORT, b"PK\x03\x04stub" * 500)]),
    lambda: built([(SHORT, b"a"), (LONG, bytes(range(256)) * 40), ("plain.docx", b"")]),
    lambda: built([(SHORT, b"a")], subject="A plain ASCII subject " * 6),  # left to the email package
    lambda: built([], to=[("", 'odd "quoted"@corp.test'), ("张三", "zs@corp.test")]),  # likewise
], ids=["text", "empty body", "one document", "three attachments", "long ASCII subject",
        "unusual address"])
def test_flatten_writes_what_the_generator_writes(make):
    ours = flatten(make())
    assert ours == as_the_generator_writes(make(), ours)  # the same message, built again
    reread = email.message_from_bytes(ours, policy=email.policy.default)
    expected = make()
    assert [part.get_payload(decode=True) for part in reread.walk() if not part.is_multipart()] == \
        [part.get_payload(decode=True) for part in expected.walk() if not part.is_multipart()]


@pytest.mark.parametrize("body", ["尊敬的企业：\n\n您好！😀\n", ""])
def test_a_text_message_turns_mixed_as_the_email_package_turns_it(body):
    """add_attachment moves the body into a first part itself, without make_mixed's header parsing:
    the same headers, parts and bytes as make_mixed gives."""
    ours, theirs = built([], body=body), built([], body=body)
    _make_mixed(ours)
    theirs.make_mixed()
    for msg in (ours, theirs):
        msg.set_boundary("=====b=====")

    def shape(msg):
        return [[(name, str(value)) for name, value in part.raw_items()] for part in msg.walk()]

    assert shape(ours) == shape(theirs)
    assert ours.as_bytes() == theirs.as_bytes()


def test_flatten_leaves_other_shapes_to_the_generator():
    nested = built([(SHORT, b"a")])
    nested.preamble = "This is a multi-part message in MIME format."
    inner = built([(SHORT, b"b")])
    nested.attach(inner)  # a multipart inside the mixed one
    ours = flatten(nested)
    assert ours.count(b"boundary=") == 2 and b"This is a multi-part" in ours
    reread = email.message_from_bytes(ours, policy=email.policy.default)
    assert [part.get_content_type() for part in reread.walk()] == [
        "multipart/mixed", "text/plain", DOCX, "multipart/mixed", "text/plain", DOCX]


def test_boundaries_differ_and_never_start_a_line_of_the_parts():
    first, second = (flatten(built([(SHORT, b"a")])) for _ in range(2))
    mark = re.search(rb'boundary="([^"]+)"', first).group(1)
    assert mark != re.search(rb'boundary="([^"]+)"', second).group(1)
    assert len(mark) == 15 + 19 + 2 and first.count(b"\n--" + mark) == 3
