"""Command-line details: the notice's 15-working-day warning, private storage, exit codes."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

from docx import Document

from tests.support.preload import run_bot

REPO = Path(__file__).resolve().parents[1]


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return run_bot(list(args), cwd=cwd)


def test_notice_renders_and_warns_when_late(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    ok = cli(tmp_path, "--rules", str(rules), "notice", "2026-12", str(tmp_path / "n.docx"))
    assert ok.returncode == 0 and "注意" not in ok.stderr
    assert (tmp_path / "来访企业预约登记表.xlsx").exists() and (tmp_path / "来访企业预约登记表.docx").exists()
    text = "\n".join(p.text for p in Document(tmp_path / "n.docx").paragraphs)
    assert "2026年12月22日（星期二）" in text and "intake@rb.test" in text

    sessions = rules / "sessions.toml"
    sessions.write_text(sessions.read_text(encoding="utf-8").replace(
        "notice_date = 2026-11-23", "notice_date = 2026-12-10"), encoding="utf-8")
    late = cli(tmp_path, "--rules", str(rules), "notice", "2026-12", str(tmp_path / "late.docx"))
    assert late.returncode == 0
    assert "通告日期2026年12月10日距接待日2026年12月22日不足15个工作日" in late.stderr
    assert "应不晚于2026年12月1日发布" in late.stderr
    past = cli(tmp_path, "--rules", str(rules), "--today", "2027-01-05", "notice", "2026-12", str(tmp_path / "p.docx"))
    assert past.returncode == 0 and "接待日期2026年12月22日已过" in past.stderr


def test_storage_is_private_to_the_service_user(tmp_path):
    shutil.copytree(REPO / "samples" / "demo", tmp_path / "demo")
    (tmp_path / "config.toml").write_text(
        f'rules_dir = "{REPO / "rules"}"\ntemplates_dir = "{REPO / "templates"}"\n', encoding="utf-8")
    from bot.mailbox.maildir import MaildirSink

    MaildirSink(tmp_path / "storage" / "mail").deliver((tmp_path / "demo" / "01-accepted-foxmail-xlsx.eml").read_bytes())
    done = cli(tmp_path, "--today", "2026-12-01", "run", "--once")
    assert done.returncode == 0, done.stderr
    storage = tmp_path / "storage"
    # What the bot writes itself (the inbox Maildir belongs to whoever delivers into it).
    written = [storage / "bot.db", *[p for top in ("archive", "outbox", "documents")
                                     for p in [storage / top, *(storage / top).rglob("*")]
                                     if (storage / top).exists()]]
    assert any(p.suffix == ".eml" for p in written) and len(written) > 5
    for path in written:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"


def test_unknown_command_and_bad_config_are_usage_errors(tmp_path):
    assert cli(tmp_path, "no-such-command").returncode == 2
    (tmp_path / "config.toml").write_text("imap = 3\nbogus = 1\n", encoding="utf-8")
    bad = cli(tmp_path, "run", "--once")
    # One line: the first problem at its line, and how many more `check` lists.
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1, bad.stderr
    assert "config.toml:1: “imap”应为 [imap] 段，而不是整数（另有 1 处问题" in bad.stderr
