#!/usr/bin/env python3
"""Memory: a backlog of N messages processed by one `run --once` in bounded memory (quality.md).

N registration mails with a small .xlsx form (a handful of distinct forms reused, each mail with its own
Message-ID; 30 senders) are MULTIAPPENDed to intake@rb.test; then `python -m bot run --once` (SQLite,
--today 2026-12-01) runs as a child process. Its peak RSS is read from the kernel when it exits
(os.wait4 -> ru_maxrss, this child only) and its RSS is sampled from /proc/<pid>/status every 0.25 s,
against the number of messages it has decided so far (from its log), to show growth per 1,000
messages. The bot reads forms in worker processes during a backlog, so the RSS of the child's own
children (the workers, multiprocessing's resource tracker) is sampled too and added: the verdict is
on that sum. Target: peak RSS < 200 MB.

Default N: 10,000 (the spec's size). On this machine (2 shared cores) that takes several minutes; with
--n smaller for a quick run the growth line still shows whether memory is bounded.
The run ends after the first `run --once` (all messages decided, the first outbox batch sent); the
remaining queued replies are not drained here (bench_ingest measures delivery).

Run: .venv/bin/python bench/bench_memory.py [--n 10000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib as common  # noqa: E402
from benchlib import INTAKE, metric, print_table, result_json, verdict  # noqa: E402

LIMIT_MB = 200


def small_forms(senders: list[str], distinct: int = 6) -> list[tuple[int, bytes]]:
    import random

    from bot.samples import form_xlsx

    rng = random.Random(7)
    return [(k, form_xlsx(common.form_values(k, 0, rng))) for k in range(min(distinct, len(senders)))]


def backlog(n: int, senders: list[str]):
    """N mails: the few xlsx forms reused, 30 senders, distinct Message-IDs; generated lazily."""
    from datetime import datetime, timezone

    from bot.samples import registration_mail

    forms = small_forms(senders)
    now = datetime.now(timezone.utc)
    for i in range(n):
        _k, data = forms[i % len(forms)]
        yield registration_mail(sender=senders[i % len(senders)], to=INTAKE, date=now,
                                attachments=[("来访企业预约登记表.xlsx", data)],
                                message_id=f"bench-mem-{i}@corp.test")


def append_backlog(rig, n: int, senders: list[str], chunk: int = 200) -> tuple[float, float]:
    t0 = time.monotonic()
    size = 0
    with rig.imap(INTAKE, timeout=300) as c:
        batch = []
        for raw in backlog(n, senders):
            batch.append(raw)
            size += len(raw)
            if len(batch) == chunk:
                c.multiappend("INBOX", batch)
                batch = []
        if batch:
            c.multiappend("INBOX", batch)
    return time.monotonic() - t0, size / max(n, 1)


def _status_kb(pid: int, key: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:  # field 4: ppid
                kids.append(int(entry.name))
    return kids


def run_measured(env, timeout: float) -> dict:
    """`run --once` as a child; RSS samples (t, decided so far, rss_kb) and the kernel's peak."""
    log = env.root / "run.log"
    cmd = common.bot_cmd(env, "run", "--once")
    samples = []
    decided = 0
    with open(log, "wb") as out, open(log, "rb") as follow:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=env.root, env=env.env(), stdout=out, stderr=out,
                                stdin=subprocess.DEVNULL)
        rusage = None
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                rusage, proc.returncode = ru, os.waitstatus_to_exitcode(status)
                break
            chunk = follow.read()
            decided += chunk.count(b" INFO bot.intake.pipeline ")
            rss = _status_kb(proc.pid, "VmRSS")
            if rss is not None:
                kids = sum(_status_kb(kid, "VmRSS") or 0 for kid in _children(proc.pid))
                samples.append((time.monotonic() - t0, decided, rss, kids))
            if time.monotonic() - t0 > timeout:
                proc.kill()
                raise RuntimeError(f"run --once did not finish within {timeout:.0f} s")
            time.sleep(0.25)
        secs = time.monotonic() - t0
        decided += follow.read().count(b" INFO bot.intake.pipeline ")
    text = log.read_text(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"run --once exited {proc.returncode}:\n{text[-3000:]}")
    summary = next((ln for ln in reversed(text.splitlines()) if ln.startswith(common.SUMMARY)), "?")
    return {"seconds": secs, "peak_kb": rusage.ru_maxrss, "samples": samples, "decided": decided,
            "summary": summary}


def growth(samples, n: int) -> tuple[list[list[str]], float]:
    """RSS when 10/25/50/75/100 % of the messages were decided; slope (MB per 1,000 messages) between
    25 % and 100 % (after the start-up and first-batch allocations)."""
    rows, points = [], {}
    for pct in (10, 25, 50, 75, 100):
        want = n * pct / 100
        hit = next((s for s in samples if s[1] >= want), None)
        if hit:
            points[pct] = hit
            rows.append([f"RSS when {pct}% decided ({hit[1]} msgs, t={hit[0]:.0f} s)", f"{(hit[2] + hit[3]) / 1024:.1f} MB", ""])
    slope = float("nan")
    if 25 in points and 100 in points and points[100][1] > points[25][1]:
        a, b = points[25], points[100]
        slope = (b[2] + b[3] - a[2] - a[3]) / 1024 / ((b[1] - a[1]) / 1000)
    return rows, slope


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="messages in the backlog (default 10000)")
    ap.add_argument("--timeout", type=float, default=3600)
    args = ap.parse_args(argv)

    senders = common.sender_addresses(30)
    work = Path(tempfile.mkdtemp(prefix="rb-bench-memory-"))
    with common.start_rig() as rig:
        common.prepare(rig, senders)
        env = common.bot_env(rig, work / "bot")
        env.cli("run", "--once", today=common.TODAY)  # database created outside the measured run
        append_s, size = append_backlog(rig, args.n, senders)
        r = run_measured(env, args.timeout)
        rig.smtp_accepted.clear()
    peak_mb = r["peak_kb"] / 1024
    total_mb = max((s[2] + s[3] for s in r["samples"]), default=0) / 1024
    workers_mb = max((s[3] for s in r["samples"]), default=0) / 1024
    rate = r["decided"] / r["seconds"] if r["seconds"] else 0.0
    rows = [
        [f"MULTIAPPEND {args.n} msgs (avg {size / 1024:.1f} KiB)", f"{append_s:.1f} s",
         f"{args.n / append_s:.0f} msg/s"],
        ["run --once wall time", f"{r['seconds']:.1f} s", f"{rate:.1f} msg/s decided"],
        [r["summary"], "", ""],
    ]
    grow_rows, slope = growth(r["samples"], args.n)
    rows += [[a, b, c] for a, b, c in grow_rows]
    rows += [
        ["RSS growth from 25% to 100% decided", f"{slope:+.2f} MB / 1,000 msgs", ""],
        ["peak RSS of the bot process (ru_maxrss of the child)", f"{peak_mb:.1f} MB", ""],
        ["peak RSS of its worker processes (sampled, summed)", f"{workers_mb:.1f} MB", ""],
        ["peak RSS, bot + workers (sampled, summed)", f"{total_mb:.1f} MB",
         f"< {LIMIT_MB} MB {verdict(total_mb < LIMIT_MB)}"],
    ]
    if args.n < 10_000:
        est = total_mb + (slope if slope == slope else 0.0) * (10_000 - args.n) / 1000
        rows.append(["extrapolated peak for 10,000 (linear growth)", f"{est:.1f} MB",
                     f"< {LIMIT_MB} MB {verdict(est < LIMIT_MB)}"])
        rows.append(["extrapolated time for 10,000 at this rate", f"{10_000 / rate:.0f} s" if rate else "-", ""])
    print_table(f"bench_memory: one `run --once` over a backlog of {args.n} small-xlsx mails (SQLite)",
                ["measure", "value", "target / rate"], rows)
    result_json("memory", [
        metric(f"memory peak RSS, bot + workers, {args.n} msgs", round(total_mb, 1), "MB", f"< {LIMIT_MB}",
               total_mb < LIMIT_MB),
        metric("memory peak RSS, bot process alone", round(peak_mb, 1), "MB", "", None),
        metric("memory RSS growth", round(slope, 2) if slope == slope else "n/a", "MB/1k msgs", "", None),
        metric("memory run time", round(r["seconds"], 1), "s", "", None),
    ])
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
