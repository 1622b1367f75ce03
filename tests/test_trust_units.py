"""The pieces of "who may do what by mail", one function at a time: the sender of a From field,
whose Authentication-Results count, linear text handling on hostile input, headers that can always
be built, Maildir names of any encoding, one-line database errors with the password masked, and a
case number format whose numbers replies can be matched to."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.casetag import findable
from bot.errors import ConfigError
from bot.mailbox.maildir import MaildirSource
from bot.message.auth import authenticate
from bot.message.html import html_to_text
from bot.message.parse import parse_message
from bot.message.quote import fresh_text
from bot.message.sender import sender_of
from bot.outbox.compose import Draft, build_mime
from bot.store.db import open_database

REPO = Path(__file__).resolve().parents[1]
OURS = "mx.rb.test"


@pytest.mark.parametrize("value, address, trusted", [
    ("Zhang <zhang@corp.test>", "zhang@corp.test", True),
    ("zhang@corp.test", "zhang@corp.test", True),
    ('"zhang@corp.test" <zhang@corp.test>', "zhang@corp.test", True),
    ("=?GB2312?B?1cXI/Q==?= <zs@qq.com>", "zs@qq.com", True),
    ("admin@rb.test <attacker@evil.test>", "attacker@evil.test", False),
    ('"admin@rb.test" <attacker@evil.test>', "attacker@evil.test", False),
    ("=?utf-8?b?YWRtaW5AcmIudGVzdA==?= <attacker@evil.test>", "attacker@evil.test", False),
    ("a@corp.test, b@corp.test", "a@corp.test", False),
    ("<a@corp.test> <b@corp.test>", "a@corp.test", False),
])
def test_the_sender_is_the_one_angle_address(value, address, trusted):
    sender = sender_of([value])
    assert sender.address == address and (sender.problem == "") is trusted


def test_two_from_fields_are_not_trusted():
    assert sender_of(["a@corp.test", "b@corp.test"]).problem == "several From fields"


def mail(*headers: str, sender: str = "fgw@units.test") -> bytes:
    return ("\r\n".join([*headers, f"From: 发改委 <{sender}>", "To: intake@rb.test", "Subject: x",
                         "Message-ID: <m@units.test>", "", "body"]) + "\r\n").encode()


@pytest.mark.parametrize("headers, passed, forged", [
    ([f"Authentication-Results: {OURS}; dmarc=pass header.from=units.test"], True, False),
    ([f"Authentication-Results: {OURS}; dkim=pass header.d=units.test"], True, False),
    ([f"Authentication-Results: {OURS}; spf=pass smtp.mailfrom=bounce@mail.units.test"], True, False),
    ([f"Authentication-Results: {OURS}; dkim=pass header.d=evil.test"], False, False),  # not aligned
    ([], False, False),  # no header at all is not a pass
    (["Authentication-Results: mx.evil.test; dmarc=pass header.from=units.test"], False, False),
    ([f"Authentication-Results: {OURS}; dkim=neutral header.d=units.test"], False, False),
    ([f"Authentication-Results: {OURS}; dmarc=temperror header.from=units.test"], False, False),
    # the topmost of ours decides: a "pass" the sender wrote below our failure does not count
    ([f"Authentication-Results: {OURS}; dmarc=fail header.from=units.test",
      f"Authentication-Results: {OURS}; dmarc=pass header.from=units.test"], False, True),
])
def test_only_our_servers_topmost_verdict_counts(headers, passed, forged):
    result = authenticate(parse_message(mail(*headers)), OURS)
    assert (result.passed, result.failed) == (passed, forged)
    assert result.passed or result.why_cn  # the admin reads why in Chinese


def test_no_authserv_id_means_nothing_is_authenticated():
    raw = mail(f"Authentication-Results: {OURS}; dmarc=pass header.from=units.test")
    assert not authenticate(parse_message(raw), "").passed


def test_a_deceptive_from_is_never_authenticated():
    raw = mail(f"Authentication-Results: {OURS}; dmarc=pass header.from=evil.test",
               sender="attacker@evil.test").replace("发改委".encode(), b"fgw@units.test")
    assert not authenticate(parse_message(raw), OURS).passed


def test_quote_stripping_is_linear_on_empty_lines():
    body = "落实情况" + "\n" * 200_000 + "> quoted"
    started = time.monotonic()
    assert fresh_text(body) == "落实情况"
    assert time.monotonic() - started < 1.0  # it took 48 s on 60,000 lines before


def test_html_conversion_is_linear_on_unclosed_tags():
    started = time.monotonic()
    text = html_to_text("<p>企业名称：镕喆</p>" + "<a" * 150_000)
    assert text.startswith("企业名称：镕喆")
    assert time.monotonic() - started < 2.0  # 86 s with html.parser


def test_a_reply_can_be_built_whatever_the_enterprise_wrote():
    draft = Draft(purpose="reply-accepted", to=["ent1@corp.test"],
                  subject="预约受理通知：乌海\u2028镕喆\r\n公司\x00", body="正文",
                  in_reply_to="abc\r\n@corp.test", references=["x\u2029y@corp.test", "<z>"])
    raw = build_mime(draft, message_id="m@bot.test", mail_from="intake@rb.test", from_name="办公室",
                     now=datetime(2026, 12, 1, tzinfo=timezone.utc))
    msg = parse_message(raw)
    assert msg.subject == "预约受理通知：乌海 镕喆 公司"
    assert msg.in_reply_to == "abc@corp.test"


def test_maildir_names_of_any_encoding_are_read_and_moved(tmp_path):
    root = tmp_path / "mail"
    for sub in ("new", "cur", "tmp"):
        (root / sub).mkdir(parents=True)
    sample = sorted((REPO / "samples" / "demo").glob("*.eml"))[0].read_bytes()
    os.makedirs(root / "new", exist_ok=True)
    with open(os.path.join(os.fsencode(root / "new"), "登记表".encode("gbk") + b".eml"), "wb") as f:
        f.write(sample)
    (root / "new" / "中文 名称.eml").write_bytes(sample.replace(b"Message-ID: <", b"Message-ID: <b", 1))
    source = MaildirSource(root)
    source.open()
    items = source.fetch_new()
    assert len(items) == 2
    source.mark_done_many(items[:1])
    again = MaildirSource(root)  # the uid list was written and is read back
    again.open()
    assert [i.uid for i in again.fetch_new()] == [items[1].uid]


def test_database_errors_are_one_line_without_the_password(tmp_path):
    with pytest.raises(ConfigError) as error:
        open_database("postgresql://reception:s3cret-pw@127.0.0.1:1/reception")
    assert "s3cret-pw" not in str(error.value) and "***" in str(error.value)
    corrupt = tmp_path / "bot.db"
    corrupt.write_bytes(b"this is not a database " * 200)
    with pytest.raises(ConfigError, match="无法打开"):
        open_database(f"sqlite:///{corrupt}")


def test_the_cli_says_so_in_one_line(tmp_path):
    (tmp_path / "config.toml").write_text(
        f'rules_dir = "{REPO / "rules"}"\ndatabase_url = "postgresql://u:hunter2@127.0.0.1:1/db"\n',
        encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "bot", "--config", str(tmp_path / "config.toml"),
                           "cases", "list"], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 2
    assert "hunter2" not in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("fmt, ok", [
    ("WHJD-{year}-{seq:04d}", True), ("QY-{year}-{seq:03d}", True),
    ("WHJD{year}{seq:04d}", False),  # no dashes: the subject matcher cannot find it
    ("WHJD-{year}-{seq}", False),  # WHJD-2026-1: too short a number
    ("{year}-{seq:04d}", False),  # no letters first
])
def test_a_case_number_format_must_be_findable_in_a_subject(fmt, ok):
    assert findable(fmt) is ok
