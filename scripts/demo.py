"""`make demo`: the bot on the embedded default's layout (Maildir + SQLite) with sample mail.

It runs with its own config, samples/demo/config.toml, and storage folder, storage/demo/: never with
./config.toml, so `make demo` in a deployed folder cannot touch the real mailbox or database.
Puts the sample mails of samples/demo/ into the demo inbox (once: a mail already in the ledger
is not delivered again), runs one pass as of 2026-12-01 (the first session's registration window),
and prints what happened to each mail and where its reply was written.
"""

from __future__ import annotations

import email
import subprocess
import sys
from email.policy import default
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "demo"
CONFIG = SAMPLES / "config.toml"
STORAGE = ROOT / "storage" / "demo"  # storage_dir of CONFIG
TODAY = "2026-12-01"


def header(raw: bytes, name: str) -> str:
    return str(email.message_from_bytes(raw, policy=default).get(name, "")).strip().strip("<>")


def deliver_samples() -> list[tuple[str, str]]:
    from bot.mailbox.maildir import MaildirSink

    known = _ledger_ids()
    sink = MaildirSink(STORAGE / "mail")
    samples = []
    for path in sorted(SAMPLES.glob("*.eml")):
        raw = path.read_bytes()
        mid = header(raw, "Message-ID")
        samples.append((path.name, mid))
        if mid not in known:
            sink.deliver(raw)
    return samples


def _ledger_ids() -> set[str]:
    import sqlite3

    db = STORAGE / "bot.db"
    if not db.exists():
        return set()
    try:
        with sqlite3.connect(db) as conn:
            return {r[0] for r in conn.execute("select message_id from inbound_mail")}
    except sqlite3.Error:
        return set()


def outcomes() -> dict[str, tuple[str, str, str]]:
    import sqlite3

    with sqlite3.connect(STORAGE / "bot.db") as conn:
        rows = conn.execute("select message_id, decision, rules, case_number from inbound_mail")
        return {mid: (decision, rules, case) for mid, decision, rules, case in rows}


def replies() -> dict[str, Path]:
    found = {}
    for sub in ("new", "cur"):
        for path in (STORAGE / "outbox" / sub).glob("*"):
            found[header(path.read_bytes(), "In-Reply-To")] = path
    return found


def main() -> int:
    samples = deliver_samples()
    cmd = [sys.executable, "-m", "bot", "--config", str(CONFIG), "--today", TODAY, "run", "--once"]
    done = subprocess.run(cmd, cwd=ROOT)
    if done.returncode != 0:
        return done.returncode
    seen, sent = outcomes(), replies()
    table = Table(title=f"reception-bot demo（as of {TODAY}; data in storage/demo/）")
    for col in ("message", "decision", "rules", "case", "reply file"):
        table.add_column(col, overflow="fold")
    for name, mid in samples:
        decision, rules, case = seen.get(mid, ("?", "", ""))
        reply = sent.get(mid)
        table.add_row(name, decision, rules, case or "-",
                      str(reply.relative_to(ROOT)) if reply else "(none: no reply is sent)")
    Console(width=170).print(table)
    print("Open a reply file to read the Chinese answer; storage/demo/bot.db holds the ledger.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
