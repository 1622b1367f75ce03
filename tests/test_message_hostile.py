"""Hostile corpus: parse_message never raises, keeps its limits, stays fast, and gives the facts in INDEX.json."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from bot.errors import InputError
from bot.message.limits import MailLimits
from bot.message.loop import loop_reason
from bot.message.model import InboundMessage
from bot.message.parse import parse_message

HOSTILE = Path(__file__).parent / "data" / "hostile"
INDEX = json.loads((HOSTILE / "INDEX.json").read_text(encoding="utf-8"))
SECONDS = 2.0


def test_index_lists_every_file_and_at_least_fifty():
    listed = {e["file"] for e in INDEX}
    assert listed == {p.name for p in HOSTILE.glob("*.eml")}
    assert len(listed) >= 50
    assert all(e["description"] and "expect" in e for e in INDEX)


@pytest.mark.parametrize("entry", INDEX, ids=lambda e: e["file"])
def test_hostile_message(entry: dict):
    raw = (HOSTILE / entry["file"]).read_bytes()
    limits = MailLimits(**entry.get("limits", {}))
    expect = entry["expect"]
    if expect.get("raises") == "InputError":
        with pytest.raises(InputError):
            parse_message(raw, limits)
        return
    start = time.perf_counter()
    msg = parse_message(raw, limits)
    assert time.perf_counter() - start < SECONDS
    assert_within_limits(msg, limits, raw)
    for key, value in expect.items():
        FACTS[key](msg, value)


def assert_within_limits(msg: InboundMessage, limits: MailLimits, raw: bytes) -> None:
    kept = [a for a in msg.attachments if not a.skipped]
    assert len(kept) <= limits.max_parts
    assert all(len(a.data) <= limits.max_attachment_bytes for a in kept)
    assert all(a.data == b"" for a in msg.attachments if a.skipped)
    assert all(len(v) <= limits.max_header_line for _, v in msg.headers)
    assert len(msg.subject) <= limits.max_header_line
    assert msg.message_id and "\x00" not in msg.subject + msg.text_body
    if len(raw) > limits.max_message_bytes:
        assert msg.attachments == [] and msg.text_body == ""


def _names(msg, skipped=None):
    return [a.filename for a in msg.attachments if skipped is None or bool(a.skipped) == skipped]


def _loop(msg):
    return loop_reason(msg, ["qyjd@example.gov.cn"], ["bot.example.gov.cn"]) or ""


def _each(check):
    def run(msg, values):
        for v in values:
            assert check(msg, v), v
    return run


def _equal(getter):
    def run(msg, value):
        assert getter(msg) == value
    return run


FACTS = {
    "subject": _equal(lambda m: m.subject),
    "subject_contains": _each(lambda m, v: v in m.subject),
    "from_addr": _equal(lambda m: m.from_addr),
    "from_name": _equal(lambda m: m.from_name),
    "message_id": _equal(lambda m: m.message_id),
    "message_id_digest": lambda m, v: (bool(re.fullmatch(r"[0-9a-f]{32}@digest\.invalid", m.message_id))
                                       == v) or pytest.fail(m.message_id),
    "date_none": _equal(lambda m: m.date is None),
    "body_contains": _each(lambda m, v: v in m.text_body),
    "body_excludes": _each(lambda m, v: v not in m.text_body),
    "body_startswith": lambda m, v: m.text_body.startswith(v) or pytest.fail(repr(m.text_body[:20])),
    "body_empty": _equal(lambda m: m.text_body.strip() == ""),
    "attachment_count": _equal(lambda m: len(m.attachments)),
    "attachment_names": _equal(_names),
    "kept_names": _equal(lambda m: _names(m, skipped=False)),
    "skipped_names": _equal(lambda m: _names(m, skipped=True)),
    "kept_count": _equal(lambda m: len(_names(m, skipped=False))),
    "skipped_count": _equal(lambda m: len(_names(m, skipped=True))),
    "content_types": _equal(lambda m: [a.content_type for a in m.attachments]),
    "attachment_sizes": _equal(lambda m: [len(a.data) for a in m.attachments]),
    "notes_contain": _each(lambda m, v: any(v in n for n in m.notes)),
    "loop_contains": lambda m, v: v in _loop(m) or pytest.fail(_loop(m)),
    "raises": lambda m, v: pytest.fail(f"expected {v}"),
}


def test_every_fact_in_the_index_is_checked():
    assert {k for e in INDEX for k in e["expect"]} <= set(FACTS)
