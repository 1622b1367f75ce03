"""The embedded default (Maildir + SQLite) in a temp dir, driven in process like `run --once`."""

from __future__ import annotations

import email
from datetime import date
from email.policy import default
from pathlib import Path

from sqlmodel import Session, select

from bot.cli import Options
from bot.mailbox.maildir import MaildirSink
from bot.service.daemon import run_once
from bot.service.jobs import Jobs
from bot.service.runtime import open_runtime, open_source
from bot.store.models import Case

REPO = Path(__file__).resolve().parents[2]
INTAKE = "intake@rb.test"
AUTHSERV = "mx.rb.test"  # as in tests.support.botenv


class Embedded:
    """The embedded default in a temp dir, driven like `run --once` with a chosen date."""

    def __init__(self, root: Path, rules: Path):
        self.root, self.rules = root, rules
        (root / "config.toml").write_text(
            f'rules_dir = "{rules}"\ntemplates_dir = "{REPO / "templates"}"\n'
            f'[trust]\nauthserv_id = "{AUTHSERV}"\n', encoding="utf-8")

    def runtime(self, today: str, transport: bool = True):
        return open_runtime(Options(self.root / "config.toml", None, date.fromisoformat(today)),
                            with_transport=transport)

    def run(self, today: str):
        rt = open_runtime(Options(self.root / "config.toml", None, date.fromisoformat(today)))
        run_once(rt, open_source(rt), Jobs(rt))
        return rt

    def deliver(self, raw: bytes) -> None:
        MaildirSink(self.root / "storage" / "mail").deliver(raw)

    def sent(self) -> list[email.message.EmailMessage]:
        out = self.root / "storage" / "outbox"
        files = sorted((p for sub in ("new", "cur") for p in (out / sub).glob("*")),
                       key=lambda p: p.stat().st_mtime_ns)
        return [email.message_from_bytes(p.read_bytes(), policy=default) for p in files]

    def cases(self, rt) -> list[Case]:
        with Session(rt.engine) as db:
            return list(db.exec(select(Case).order_by(Case.id)))
