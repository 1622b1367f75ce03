"""Golden corpus: each tests/data/mail/NAME.eml parses to the hand-written NAME.json."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

from bot.message.parse import parse_message

MAIL = Path(__file__).parent / "data" / "mail"
CASES = sorted(MAIL.glob("*.eml"))
SHAPES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "mail-shapes"
# What the mail-shapes README says every one of its six messages must give.
SHAPES_FILENAME = "来访企业预约登记表-乌海镕喆科技.docx"
SHAPES_BODY = ("镕喆", "0473-1234567")
DIGEST_ID = re.compile(r"[0-9a-f]{32}@digest\.invalid")


def test_corpus_has_at_least_twelve_messages():
    assert len(CASES) >= 12
    assert all(p.with_suffix(".json").exists() for p in CASES)


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_golden_message(path: Path):
    expect = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    msg = parse_message(path.read_bytes())
    if expect["message_id"] is None:
        assert DIGEST_ID.fullmatch(msg.message_id)
        assert parse_message(path.read_bytes()).message_id == msg.message_id
    else:
        assert msg.message_id == expect["message_id"]
    assert msg.from_addr == expect["from_addr"]
    if "from_name" in expect:
        assert msg.from_name == expect["from_name"]
    assert msg.subject == expect["subject"]
    got = [{"filename": a.filename, "content_type": a.content_type, "size": len(a.data)} for a in msg.attachments]
    assert got == expect["attachments"]
    assert not any(a.skipped for a in msg.attachments)
    for text in expect["body_contains"]:
        assert text in msg.text_body
    for text in expect.get("body_excludes", []):
        assert text not in msg.text_body
    assert msg.notes == []


def test_generator_reproduces_the_committed_golden_corpus(tmp_path: Path):
    script = Path(__file__).resolve().parents[1] / "scripts" / "make_mail_corpus.py"
    spec = importlib.util.spec_from_file_location("make_mail_corpus", script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    module.write_golden(tmp_path)
    for path in CASES:
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name
        assert (tmp_path / path.with_suffix(".json").name).read_bytes() == path.with_suffix(".json").read_bytes()


@pytest.mark.skipif(not SHAPES.is_dir(), reason="shared mail-shapes samples not present")
@pytest.mark.parametrize("name", sorted(p.name for p in SHAPES.glob("*.eml")) if SHAPES.is_dir() else [])
def test_shared_mail_shapes(name: str):
    msg = parse_message((SHAPES / name).read_bytes())
    assert [a.filename for a in msg.attachments] == [SHAPES_FILENAME]
    for text in SHAPES_BODY:
        assert text in msg.text_body


@pytest.mark.skipif(not SHAPES.is_dir(), reason="shared mail-shapes samples not present")
def test_shared_mail_shapes_are_all_six():
    assert len(list(SHAPES.glob("*.eml"))) == 6
