"""Every message of the hostile corpus goes through the whole pipeline (embedded Maildir + SQLite):
each gets a clear outcome (a reply that says what to fix, or ignored with its reason), its raw copy
is archived byte for byte, and the loop never stops."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.cli import Options
from bot.mailbox.maildir import MaildirSink
from bot.message.parse import parse_message
from bot.service.daemon import run_once
from bot.service.jobs import Jobs
from bot.service.runtime import open_runtime, open_source
from bot.store.models import InboundMail, Outbox

REPO = Path(__file__).resolve().parents[1]
HOSTILE = REPO / "tests" / "data" / "hostile"
pytestmark = pytest.mark.rig  # the pipeline runs on PostgreSQL too

FILES = [entry["file"] for entry in json.loads((HOSTILE / "INDEX.json").read_text(encoding="utf-8"))]


def delivered(name: str) -> bytes:
    """The corpus shares one Message-ID on purpose (for parser tests); here each mail must be its
    own message, or the ledger would rightly answer only the first of them."""
    raw = (HOSTILE / name).read_bytes()
    return raw.replace(b"<hostile@example.cn>", f"<hostile-{name}@example.cn>".encode(), 1)


@pytest.fixture
def processed(tmp_path, db_url):
    root = tmp_path
    (root / "config.toml").write_text(
        f'rules_dir = "{REPO / "rules"}"\ntemplates_dir = "{REPO / "templates"}"\n'
        f'database_url = "{db_url}"\nrate_limit_per_recipient = 100000\n', encoding="utf-8")
    sink = MaildirSink(root / "storage" / "mail")
    for name in FILES:
        sink.deliver(delivered(name))
    rt = open_runtime(Options(root / "config.toml", None, date(2026, 12, 1)))
    started = time.monotonic()
    result = run_once(rt, open_source(rt), Jobs(rt))
    elapsed = time.monotonic() - started
    with Session(rt.engine) as db:
        rows = list(db.exec(select(InboundMail)))
        outbox = list(db.exec(select(Outbox)))
    return root, result, rows, outbox, elapsed


def test_every_hostile_message_has_one_outcome(processed):
    root, result, rows, _outbox, elapsed = processed
    assert result.processed == len(FILES)
    assert set(result.outcomes) <= {"ignored", "needs_correction", "accepted", "deferred",
                                    "referred", "rejected", "duplicate",
                                    "refused", "enterprise-note"}  # impersonation; a note on a case
    assert all(r.status in ("done", "quarantined") for r in rows)
    quarantined = [(r.message_id, r.last_error) for r in rows if r.status == "quarantined"]
    assert quarantined == []
    assert not list((root / "storage" / "mail" / "new").iterdir())
    assert elapsed < 2.0 * len(FILES)  # a generous bound: no single message takes long


def test_raw_copies_are_archived_byte_for_byte(processed):
    """Every message is archived, also one whose Message-ID repeats an earlier one (answered once)."""
    root, _result, rows, _outbox, _elapsed = processed
    archive = root / "storage" / "archive"
    for name in FILES:
        raw = delivered(name)
        digest = hashlib.sha256(raw).hexdigest()
        assert (archive / digest[:2] / f"{digest}.eml").read_bytes() == raw, name
    assert all(Path(r.archive_path).exists() for r in rows)


def test_each_sender_gets_an_answer_or_a_reason(processed):
    _root, _result, rows, outbox, _elapsed = processed
    replied = {o.recipients for o in outbox if o.purpose.startswith("reply")}
    for row in rows:
        if row.decision == "ignored":
            assert row.rules in ("LOOP-AUTO", "MAIL-EMPTY")
        elif row.decision == "refused":  # a From that impersonates the admin: told in the digest
            assert "display name" in row.rules
        elif row.decision == "enterprise-note":  # about an existing case: the admin reads it
            assert row.case_number
        elif row.sender:
            assert row.sender in replied, (row.message_id, row.decision, row.rules)
        assert row.decision in ("ignored", "needs_correction", "accepted", "deferred", "referred",
                                "rejected", "refused", "enterprise-note"), row.decision


@pytest.mark.parametrize("name", ["zip_bomb_xlsx.eml", "billion_laughs_docx.eml"])
def test_bombs_are_answered_as_unreadable(processed, name):
    _root, _result, rows, _outbox, _elapsed = processed
    if not (HOSTILE / name).exists():
        pytest.skip(f"{name} not in the corpus")
    mid = parse_message(delivered(name)).message_id
    row = next(r for r in rows if r.message_id == mid)
    assert (row.decision, row.rules) == ("needs_correction", "FORM-UNREADABLE")


def test_every_hostile_mail_is_read_within_the_per_mail_limit():
    """Each mail of the corpus, read by a real worker under the default limits: the time and the
    worker's peak memory are measured by the parent, and no mail comes near the limit (the
    attacks that once took minutes and gigabytes are among them)."""
    from bot.config import embedded_default
    from bot.intake.prefetch import Sandbox, WorkerLimits
    from bot.rules.loader import load_rules

    limits = WorkerLimits(embedded_default(REPO).mail_seconds, embedded_default(REPO).mail_memory_mb)
    sandbox = Sandbox(2, limits)
    try:
        jobs = sandbox.submit_all([delivered(name) for name in FILES], load_rules(REPO / "rules"),
                                  ("bot.example.test",))
        measured = {name: job.result() for name, job in zip(FILES, jobs)}
    finally:
        sandbox.close()
    overran = {name: a.overrun for name, a in measured.items() if a.overrun}
    assert overran == {}
    slowest = max(measured.items(), key=lambda item: item[1].seconds)
    greediest = max(measured.items(), key=lambda item: item[1].peak_rss)
    assert slowest[1].seconds < 10, slowest[0]  # seconds, on a loaded 2-core machine
    assert greediest[1].peak_rss < 400 * 2**20, greediest[0]
