"""`make demo`: the bot on the embedded default's layout (Maildir + SQLite) with sample mail.

It runs with its own config, samples/demo/config.toml, and storage folder, storage/demo/: never with
./config.toml, so `make demo` in a deployed folder cannot touch the real mailbox or database.
Puts the sample mails of samples/demo/ into the demo inbox (once: a mail already in the ledger
is not delivered again), runs one pass as of 2026-12-01 (the first session's registration window),
and prints what happened to each mail and where its reply was written.

Then one reviewed answer, the office's way after the reception: the accepted case is assigned to
the 工信局 (2026-12-23), the unit mails its 办理结果 (2026-12-29), the bot drafts the answer for the
admin (salutation, signature and phone numbers removed), and the admin approves it with `answer`:
only then does the enterprise get it, with the 满意度 question. Each step runs once.
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
ASSIGNED, REPORTED = "2026-12-23", "2026-12-29"
UNIT = "gxj@units.test"
UNIT_RESULT = """市营商办：
    经我局协调，国网乌海供电公司已于2026年12月28日完成贵企业技改项目的增容审批，增容工程将于2027年1月上旬
完工送电。我局将持续跟踪工程进度，确保项目按期投产。具体事宜可联系我局王科长（电话：13904731234）。

乌海市工业和信息化局
2026年12月29日
"""


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
    case = seen.get(samples[0][1], ("", "", ""))[2]
    return reviewed_answer(case) if case else 0


def bot(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", "--config", str(CONFIG), *args], cwd=ROOT,
                          capture_output=True, text=True)


def reviewed_answer(case: str) -> int:
    """The follow-up of the accepted case, up to the answer the office approved."""
    import json

    from bot.mailbox.maildir import MaildirSink
    from bot.samples import registration_mail

    shown = json.loads(bot("case", "show", case, "--json").stdout or "{}")
    if shown.get("status") == "accepted":
        bot("--today", ASSIGNED, "assign", case, "--lead", "gxj", "--note", "协调供电部门加快增容审批，年底前通电")
    if "demo-07@units.test" not in _ledger_ids():
        # As the office's receiving server hands it over: it vouches for the unit's domain.
        stamp = b"Authentication-Results: mx.demo.reception-bot.local; dmarc=pass header.from=units.test\r\n"
        MaildirSink(STORAGE / "mail").deliver(stamp + registration_mail(
            sender=UNIT, to="intake@rb.test", subject=f"[{case}] 办理结果", body=UNIT_RESULT,
            message_id="demo-07@units.test"))
        bot("--today", REPORTED, "run", "--once")
    shown = json.loads(bot("case", "show", case, "--json").stdout or "{}")
    if (shown.get("answer") or {}).get("status") == "draft":
        done = bot("--today", REPORTED, "answer", case)
        if done.returncode != 0:
            print(done.stderr)
            return done.returncode
    draft, answer = _mail_with("答复待审核"), _mail_with("诉求办理答复")
    print()
    print(f"One reviewed answer ({case}): the unit's 办理结果 became a draft for the admin,")
    print(f"  draft to the admin:        {draft.relative_to(ROOT) if draft else '(none)'}")
    print(f"  answer to the enterprise:  {answer.relative_to(ROOT) if answer else '(none)'}  (sent after `answer`)")
    return 0


def _mail_with(subject_part: str) -> Path | None:
    for sub in ("new", "cur"):
        for path in sorted((STORAGE / "outbox" / sub).glob("*")):
            if subject_part in str(email.message_from_bytes(path.read_bytes(), policy=default)["Subject"]):
                return path
    return None


if __name__ == "__main__":
    sys.exit(main())
