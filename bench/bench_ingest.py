#!/usr/bin/env python3
"""Ingest throughput: reception-bot end to end as a ratio of the bare fetch+parse limit (quality.md).

A backlog of N registration mails (2/3 xlsx, 1/3 docx, ~30 senders who are rig users) is MULTIAPPENDed
to intake@rb.test on a private Dovecot (tests/rig), then

  (a) the LIMIT: the same messages fetched with imapclient (FETCH BODY.PEEK[] in batches of 100) and
      parsed (mail-parser, openpyxl read-only / python-docx) in one bare loop: no database, no rules,
      no reply. Measured before and after (b) on the same messages (PEEK leaves them unchanged; after
      (b) they are read from the Processed folder) and averaged, so a change in the machine's load
      during the run does not land on one side only;
  (b) reception-bot: `python -m bot run --once` (subprocess, SQLite, --today 2026-12-01) from the start
      of the process until every reply it sent is in the senders' mailboxes (counted over IMAP).

Run: .venv/bin/python bench/bench_ingest.py [--n 1000] [--rounds 1] [--profile]
Exit status 0 whenever the measurement itself worked (the verdict is in the table).

The helpers in the first half of this file (machine line, table, the mail mix, the rig and the bot
set-up) are shared by the other bench scripts, which import this module.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
OUT = BENCH / "out"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

INTAKE = "intake@rb.test"
TODAY = "2026-12-01"
HIGH_RATE = "rate_limit_per_recipient = 100000000"

# =====================================================================================================
# shared helpers
# =====================================================================================================


def machine() -> dict:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    try:
        nproc = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        nproc = os.cpu_count() or 0
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return {"nproc": nproc, "cpu": model, "python": platform.python_version(),
            "loadavg": load, "date": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")}


def machine_line() -> str:
    m = machine()
    return (f"machine: nproc={m['nproc']} cpu={m['cpu']!r} python={m['python']} "
            f"loadavg={m['loadavg']} date={m['date']}")


def print_table(title: str, headers: list[str], rows: list[list]) -> None:
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(headers))]
    line = "+-" + "-+-".join("-" * w for w in widths) + "-+"
    print(title)
    print(machine_line())
    print(line)
    for k, row in enumerate(cells):
        print("| " + " | ".join(_pad(c, w) for c, w in zip(row, widths)) + " |")
        if k == 0:
            print(line)
    print(line, flush=True)


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def result_json(name: str, metrics: list[dict]) -> None:
    """One machine-readable line for run_all.py: metric, value, unit, target, pass."""
    print("BENCH-RESULT " + json.dumps({"bench": name, "metrics": metrics}, ensure_ascii=False),
          flush=True)


def metric(name: str, value, unit: str, target: str, ok: bool | None) -> dict:
    return {"metric": name, "value": value, "unit": unit, "target": target,
            "pass": None if ok is None else bool(ok)}


# --- the mail mix ---------------------------------------------------------------------------------

ROSTER = [line.split(",")[:2] for line in
          (REPO / "rules" / "roster.csv").read_text(encoding="utf-8").splitlines()[1:] if line.strip()]
DISTRICT_OF = {"150302": "海勃湾区", "150303": "海南区", "150304": "乌达区", "150300": "海勃湾区"}
FIELDS = ["工业和信息化", "能源", "自然资源与规划", "住建与城市管理", "商务与招商引资", "金融服务",
          "科技创新与人才", "交通物流", "生态环境", "政务服务与营商环境"]
TITLES = ["新材料技改项目用电负荷审批进度慢", "园区供热管网接入费用过高", "项目用地规划调整审批慢",
          "企业贷款续贷手续繁琐", "高新技术企业认定政策咨询", "危险品运输通行证办理周期长",
          "环评批复前置条件不明确", "厂房产权证办理受阻", "新建光伏项目并网排队时间长",
          "招聘高层次人才落户政策落实"]


def sender_addresses(count: int = 30) -> list[str]:
    return [f"ent{i}@corp.test" for i in range(1, count + 1)]


def ensure_users(rig, addresses) -> None:
    known = set(rig.users)
    for a in addresses:
        if a not in known:
            rig.add_user(a)


def _uscc(seq: int) -> str:
    from bot.forms.validate import uscc_check_char

    body = f"91150302MA{seq:07d}"[:17]
    return body + uscc_check_char(body)


def enterprise(index: int) -> tuple[str, str, str]:
    """(credit code, name, district) of sender `index` (0-based): the roster first, then unknown
    enterprises (referred to their district)."""
    if index < len(ROSTER):
        code, name = ROSTER[index]
    else:
        code, name = _uscc(1000 + index), f"乌海市测试{index}号商贸有限公司"
    return code, name, DISTRICT_OF.get(code[2:8], "海勃湾区")


def form_values(index: int, variant: int, rng: random.Random):
    from bot.samples import FormValues

    code, name, district = enterprise(index)
    title = TITLES[(index + variant) % len(TITLES)]
    vague = rng.random() < 0.05  # a few come back as needs_correction
    return FormValues(
        enterprise_name=name, credit_code=code, district=district,
        contact_phone=f"1390473{index:02d}{variant:02d}",
        field=FIELDS[(index * 3 + variant) % len(FIELDS)], title=title,
        facts="略" if vague else f"（第{variant + 1}份）{title}。" + FormValues().facts,
        requests=FormValues().requests)


class MailMix:
    """Registration mails: distinct forms (a pool, built once) sent with distinct Message-IDs.

    2/3 of the forms are .xlsx, 1/3 .docx; sender k always writes for the same enterprise."""

    def __init__(self, senders: list[str], pool: int = 120, seed: int = 20261201):
        from bot.samples import form_docx, form_xlsx

        self.senders = senders
        rng = random.Random(seed)
        self.forms: list[tuple[int, str, bytes]] = []  # (sender index, file name, bytes)
        t0 = time.monotonic()
        for k in range(pool):
            index = k % len(senders)
            values = form_values(index, k // len(senders), rng)
            if k % 3 == 2:
                self.forms.append((index, "来访企业预约登记表.docx", form_docx(values)))
            else:
                self.forms.append((index, "来访企业预约登记表.xlsx", form_xlsx(values)))
        self.build_seconds = time.monotonic() - t0

    def mail(self, k: int, message_id: str, date: datetime | None = None) -> tuple[str, bytes]:
        """(sender, raw mail) carrying form k of the pool."""
        from bot.samples import registration_mail

        index, name, data = self.forms[k % len(self.forms)]
        sender = self.senders[index]
        return sender, registration_mail(sender=sender, to=INTAKE, attachments=[(name, data)],
                                         date=date or datetime.now(timezone.utc), message_id=message_id)

    def mails(self, n: int, tag: str) -> list[tuple[str, bytes]]:
        now = datetime.now(timezone.utc)
        return [self.mail(i, f"bench-{tag}-{i}@corp.test", now) for i in range(n)]


def multiappend(rig, address: str, raws: list[bytes], folder: str = "INBOX", chunk: int = 100) -> float:
    t0 = time.monotonic()
    with rig.imap(address, timeout=120) as c:
        for i in range(0, len(raws), chunk):
            c.multiappend(folder, raws[i:i + chunk])
    return time.monotonic() - t0


def clear(rig, addresses) -> None:
    for a in addresses:
        rig.clear(a)


class Counter:
    """Open IMAP connections to several mailboxes; total() sums their INBOX message counts."""

    def __init__(self, rig, addresses):
        self._stack = contextlib.ExitStack()
        self.conns = [self._stack.enter_context(rig.imap(a)) for a in addresses]

    def total(self) -> int:
        return sum(c.folder_status("INBOX", [b"MESSAGES"])[b"MESSAGES"] for c in self.conns)

    def wait(self, expected: int, timeout: float, interval: float = 0.05) -> float | None:
        deadline = time.monotonic() + timeout
        while True:
            if self.total() >= expected:
                return time.monotonic()
            if time.monotonic() > deadline:
                return None
            time.sleep(interval)

    def close(self) -> None:
        self._stack.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def bot_env(rig, root: Path, database_url: str | None = None, extra: str = ""):
    from tests.support.botenv import make_env

    url = database_url or f"sqlite:///{root / 'bot.db'}"
    return make_env(root, rig, url, extra=HIGH_RATE + "\n" + extra)


def bot_cmd(env, *args: str, today: str = TODAY) -> list[str]:
    return [sys.executable, "-m", "bot", "--config", str(env.config), "--today", today, *args]


def run_bot_once(env, timeout: float = 1800, wrap: list[str] | None = None) -> tuple[float, str]:
    """`run --once` as a subprocess; returns (seconds, the 'processed ...' line)."""
    cmd = bot_cmd(env, "run", "--once")
    if wrap:
        cmd = wrap + cmd
    log = env.root / "run.log"
    t0 = time.monotonic()
    with open(log, "ab") as fh:
        done = subprocess.run(cmd, cwd=env.root, env=env.env(), stdout=fh, stderr=fh,
                              stdin=subprocess.DEVNULL, timeout=timeout)
    secs = time.monotonic() - t0
    text = log.read_text(errors="replace")
    if done.returncode != 0:
        raise RuntimeError(f"run --once exited {done.returncode}:\n{text[-3000:]}")
    summary = next((ln for ln in reversed(text.splitlines()) if ln.startswith("processed ")), "?")
    return secs, summary


def outbox_stats(db_path: Path, recipients: set[str]) -> dict:
    """Replies sent to `recipients`, other mail sent, mail not sent (pending/failed)."""
    con = sqlite3.connect(db_path)
    try:
        rows = con.execute("select status, recipients from outbox").fetchall()
    finally:
        con.close()
    stats = {"to_senders": 0, "to_senders_sent": 0, "other_sent": 0, "unsent": 0}
    for status, rcpts in rows:
        mine = all(r in recipients for r in rcpts.split(","))
        stats["to_senders"] += mine
        if status != "sent":
            stats["unsent"] += 1
        elif mine:
            stats["to_senders_sent"] += 1
        else:
            stats["other_sent"] += 1
    return stats


def start_rig():
    from tests.rig.fixtures import MailRig

    return MailRig()


# =====================================================================================================
# (a) the limit: fetch + mail-parser + openpyxl read-only / python-docx, nothing else
# =====================================================================================================


def read_xlsx(data: bytes) -> int:
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        cells = 0
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                cells += sum(1 for v in row if v is not None)
        return cells
    finally:
        wb.close()


def read_docx(data: bytes) -> int:
    import docx

    document = docx.Document(io.BytesIO(data))
    cells = sum(1 for p in document.paragraphs if p.text)
    for table in document.tables:
        for row in table.rows:
            cells += sum(1 for c in row.cells if c.text)
    return cells


def limit_pass(rig, address: str, folder: str = "INBOX", batch: int = 100) -> tuple[float, int, int]:
    """Seconds to fetch and parse every message of the folder; (seconds, messages, forms read)."""
    import mailparser
    from imapclient import IMAPClient

    t0 = time.monotonic()
    c = IMAPClient(rig.host, rig.imap_port, ssl=False, timeout=60)
    try:
        c.login(address, rig.password)
        c.select_folder(folder, readonly=True)
        uids = sorted(c.search("ALL"))
        messages = forms = 0
        for i in range(0, len(uids), batch):
            chunk = uids[i:i + batch]
            data = c.fetch(chunk, ["BODY.PEEK[]"])
            for uid in chunk:
                mail = mailparser.parse_from_bytes(data[uid][b"BODY[]"])
                messages += 1
                for att in mail.attachments:
                    payload = att["payload"]
                    raw = base64.b64decode(payload) if att.get("binary") else payload.encode()
                    name = (att.get("filename") or "").lower()
                    if name.endswith(".xlsx"):
                        forms += read_xlsx(raw) > 0
                    elif name.endswith(".docx"):
                        forms += read_docx(raw) > 0
        secs = time.monotonic() - t0
    finally:
        with contextlib.suppress(Exception):
            c.logout()
    return secs, messages, forms


# =====================================================================================================
# (b) reception-bot end to end
# =====================================================================================================


def bot_pass(rig, env, senders: list[str], n: int, profile: Path | None = None) -> dict:
    """Run `run --once` on the backlog in the intake INBOX; seconds until all replies are delivered.

    When one run leaves replies unsent (the outbox drain is capped per run), `run --once` is run again,
    as cron would, until none is pending (at most 10 runs); the runs needed are reported."""
    wrap = None
    if profile is not None:
        wrap = [str(Path(sys.executable).parent / "py-spy"), "record", "--idle", "--rate", "200",
                "--format", "raw", "-o", str(profile), "--"]
    runs, first_unsent, process_s = 0, 0, 0.0
    with Counter(rig, senders) as counter:
        before = counter.total()
        t0 = time.monotonic()
        while True:
            secs, summary = run_bot_once(env, wrap=wrap if runs == 0 else None)
            if runs == 0:
                first_summary = summary
            runs += 1
            process_s += secs
            stats = outbox_stats(env.root / "bot.db", set(senders))
            if runs == 1:
                first_unsent = stats["unsent"]
            if not stats["unsent"] or runs >= 10:
                break
        expected = before + stats["to_senders"]
        # Everything `run --once` sent is delivered when it exits (the rig relays synchronously).
        t_end = counter.wait(expected, timeout=120 if not stats["unsent"] else 5)
        delivered = counter.total() - before
    total = (t_end - t0) if t_end else float("nan")
    return {"seconds": total, "process_seconds": process_s, "summary": first_summary,
            "delivered": delivered, "replies": stats["to_senders"], "other_sent": stats["other_sent"],
            "unsent": stats["unsent"], "first_unsent": first_unsent, "runs": runs,
            "rate": n / total if t_end else 0.0}


# Where the bot's wall time goes, from py-spy's collapsed stacks (--idle: waiting counts too). The first
# category whose marker appears in a sample's stack takes the sample.
STAGES = [
    ("IMAP MOVE to Processed, one command per message", "ImapSource.mark_done"),
    ("IMAP FETCH", "ImapSource.fetch_new"),
    ("outbox drain: SMTP send (incl. NOOP per mail)", "SmtpTransport.send"),
    ("outbox drain: database", "drain (bot/outbox/queue.py"),
    ("archive_raw: write + fsync file + fsync dir", "archive_raw ("),
    ("parse_message (bot/message/parse.py)", "parse_message ("),
    ("_claim: ledger row, own commit", "_claim ("),
    ("read the form (openpyxl / python-docx)", "read_attachment ("),
    ("decide (incl. seat-count queries)", "decide (bot/rules/decide.py"),
    ("rate-limit query (_over_rate)", "_over_rate ("),
    ("follow-up check (_followup)", "_followup ("),
    ("record the case (bot/cases.py)", "record (bot/cases.py"),
    ("compose + queue replies (build_mime, suppression lookups)", "queue (bot/outbox/queue.py"),
    ("drafts_for (templates)", "drafts_for ("),
    ("other work in _handle (commit, session, logging)", "_handle (bot/pipeline.py"),
    ("scheduled jobs (reminders)", "Jobs.run_due"),
    ("rules check / re-evaluation", "_check_rules ("),
    ("start-up: open_runtime (config, rules, migrations)", "open_runtime ("),
    ("start-up: imports and the rest", ""),
]


def profile_breakdown(path: Path) -> list[tuple[str, float]]:
    counts = {name: 0 for name, _ in STAGES}
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        total += int(n)
        for name, marker in STAGES:
            if marker in stack:
                counts[name] += int(n)
                break
    return [(name, counts[name] / total if total else 0.0) for name, _ in STAGES]


def startup_seconds(env) -> float:
    """`run --once` on an empty inbox: interpreter start, imports, migrations, login, logout."""
    secs, _ = run_bot_once(env)
    return secs


def prepare(rig, senders):
    ensure_users(rig, senders)
    clear(rig, [INTAKE, *senders, *rig.users])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="messages in the backlog (default 1000)")
    ap.add_argument("--senders", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=1, help="repeat (limit, bot, limit) and take medians")
    ap.add_argument("--profile", action="store_true",
                    help="also record the bot with py-spy (bench/out/ingest-pyspy.txt); slows it")
    args = ap.parse_args(argv)

    if args.profile and not (Path(sys.executable).parent / "py-spy").exists():
        print("--profile needs py-spy in this venv: .venv/bin/pip install py-spy")
        return 0
    senders = sender_addresses(args.senders)
    mix = MailMix(senders)
    work = Path(tempfile.mkdtemp(prefix="rb-bench-ingest-"))
    limits, bots, details = [], [], []
    with start_rig() as rig:
        prepare(rig, senders)
        for r in range(args.rounds):
            mails = [raw for _s, raw in mix.mails(args.n, f"ingest{r}")]
            append_s = multiappend(rig, INTAKE, mails)
            size = sum(len(m) for m in mails) / len(mails)
            del mails
            la, n_a, forms_a = limit_pass(rig, INTAKE)
            env = bot_env(rig, work / f"bot{r}")
            profile = OUT / "ingest-pyspy.txt" if args.profile else None
            if profile:
                OUT.mkdir(parents=True, exist_ok=True)
            b = bot_pass(rig, env, senders, args.n, profile)
            lb, n_b, forms_b = limit_pass(rig, INTAKE, folder="Processed")
            b["startup"] = startup_seconds(env)  # the inbox is empty now; same database
            if n_a != args.n or n_b != args.n or forms_a != args.n:
                print(f"WARNING: limit read {n_a}/{n_b} messages, {forms_a} forms; expected {args.n}")
            limits.append(args.n / ((la + lb) / 2))
            bots.append(b["rate"])
            details.append((r, append_s, size, la, lb, b))
            clear(rig, [INTAKE, *senders, *rig.users])

    no_start = [args.n / (b["seconds"] - b["runs"] * b["startup"]) for *_x, b in details]
    limit = statistics.median(limits)
    rate = statistics.median(bots)
    ratio = rate / limit if limit else 0.0
    rows = []
    for r, append_s, size, la, lb, b in details:
        rows += [
            [f"round {r}: MULTIAPPEND {args.n} msgs (avg {size / 1024:.1f} KiB)", f"{append_s:.2f} s",
             f"{args.n / append_s:.0f} msg/s", ""],
            [f"round {r}: (a) limit, before the bot", f"{la:.2f} s", f"{args.n / la:.0f} msg/s", ""],
            [f"round {r}: (a) limit, after the bot", f"{lb:.2f} s", f"{args.n / lb:.0f} msg/s", ""],
            [f"round {r}: (b) bot run --once → replies delivered", f"{b['seconds']:.2f} s",
             f"{b['rate']:.1f} msg/s", ""],
            [f"round {r}:     of which `run --once` ran ({b['runs']} run(s); the first left "
             f"{b['first_unsent']} mail(s) unsent)", f"{b['process_seconds']:.2f} s", "", ""],
            [f"round {r}:     start-up alone (empty inbox)", f"{b['startup']:.2f} s", "", ""],
            [f"round {r}:     {b['summary']}", "", "", ""],
            [f"round {r}:     replies delivered / queued to senders / other mail sent / unsent",
             f"{b['delivered']} / {b['replies']} / {b['other_sent']} / {b['unsent']}", "", ""],
        ]
    rows += [
        ["limit (a), mean of before/after" + (" (median of rounds)" if args.rounds > 1 else ""), "",
         f"{limit:.1f} msg/s", ""],
        ["reception-bot (b)", "", f"{rate:.1f} msg/s", ""],
        ["ratio (b)/(a)", "", f"{ratio:.2f}", f"≥ 0.60 {verdict(ratio >= 0.6)}"],
        ["  for information: ratio with the bot's start-up time(s) taken out", "",
         f"{statistics.median(no_start) / limit:.2f}" if limit else "-", ""],
    ]
    print_table(f"bench_ingest: {args.n} registration mails (2/3 xlsx, 1/3 docx, {len(senders)} senders), "
                f"SQLite, --today {TODAY}", ["step", "time", "rate", "target"], rows)
    if args.profile:
        prof = OUT / "ingest-pyspy.txt"
        print_table(f"where the first `run --once` spent its wall time (py-spy --idle, {prof})",
                    ["stage", "share"],
                    [[name, f"{share * 100:.1f}%"] for name, share in profile_breakdown(prof)])
    result_json("ingest", [
        metric(f"ingest limit (fetch+parse), {args.n} msgs", round(limit, 1), "msg/s", "", None),
        metric(f"ingest reception-bot end to end, {args.n} msgs", round(rate, 1), "msg/s", "", None),
        metric("ingest ratio bot/limit", round(ratio, 2), "", "≥ 0.6", ratio >= 0.6),
    ])
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
