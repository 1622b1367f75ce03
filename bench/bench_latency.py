#!/usr/bin/env python3
"""Latency with IMAP IDLE: from a form's APPEND to its reply in the sender's mailbox (quality.md).

The daemon (`python -m bot run`, SQLite, --today 2026-12-01) runs against the rig and idles on the
intake INBOX. Forms are APPENDed one at a time, ~1.5 s apart (or right after the previous reply when it
took longer), each from another sender; the sender's INBOX is polled with STATUS every 50 ms from the
moment of the APPEND. Targets: p50 < 1 s, p95 < 2 s.

The daemon's log (timestamps to the millisecond) splits each latency into: APPEND -> decided (IDLE
wake-up, fetch, parse, decide, commit), decided -> SENT (the outbox drain), SENT -> seen by the poll.

Run: .venv/bin/python bench/bench_latency.py [--count 30] [--gap 1.5]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib as common  # noqa: E402
from benchlib import INTAKE, TODAY, metric, print_table, result_json, verdict  # noqa: E402

POLL = 0.05
# The log names mails and cases, never addresses: a decision line ties the Message-ID to its case,
# the SENT line of the reply names the same case.
_DECIDED = re.compile(r"^(\S+ \S+) INFO bot\.intake\.pipeline \w+ <(bench-lat-\d+@corp\.test)> case=(\S+)")
_SENT = re.compile(r"^(\S+ \S+) INFO bot\.outbox\.queue SENT \S+ purpose=reply\S* case=(\S+)")


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def _stamp(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S,%f").timestamp()


def log_times(log: Path) -> tuple[dict[str, tuple[float, str]], list[tuple[float, str]]]:
    """Message-ID -> (time decided, case); [(time sent, case)] of the replies."""
    decided, sent = {}, []
    for line in log.read_text(errors="replace").splitlines():
        if m := _DECIDED.match(line):
            decided[m.group(2)] = (_stamp(m.group(1)), m.group(3))
        elif m := _SENT.match(line):
            sent.append((_stamp(m.group(1)), m.group(2)))
    return decided, sent


def wait_ready(rig, env, daemon, sender: str, raw: bytes, timeout: float = 60) -> float:
    """Warm-up: one form answered proves the daemon is connected and idling."""
    t0 = time.monotonic()
    with rig.imap(sender) as watch:
        rig.append(INTAKE, raw)
        while watch.folder_status("INBOX", [b"MESSAGES"])[b"MESSAGES"] < 1:
            if daemon.poll() is not None:
                raise RuntimeError("the daemon exited:\n" + (env.root / "daemon.log").read_text()[-3000:])
            if time.monotonic() - t0 > timeout:
                raise RuntimeError("the daemon did not answer the warm-up form within "
                                   f"{timeout:.0f} s:\n" + (env.root / "daemon.log").read_text()[-3000:])
            time.sleep(POLL)
    return time.monotonic() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=30)
    ap.add_argument("--gap", type=float, default=1.5, help="seconds between APPENDs")
    ap.add_argument("--timeout", type=float, default=20, help="give up on one reply after this")
    args = ap.parse_args(argv)

    senders = common.sender_addresses(max(30, args.count + 1))
    mix = common.MailMix(senders, pool=min(len(senders), 60))
    work = Path(tempfile.mkdtemp(prefix="rb-bench-latency-"))
    samples: list[dict] = []
    with common.start_rig() as rig:
        common.prepare(rig, senders)
        env = common.bot_env(rig, work / "bot")
        env.cli("run", "--once", today=TODAY)  # creates the database: not part of any latency
        daemon = env.start_daemon(today=TODAY)
        try:
            warm_sender, warm = mix.mail(len(senders) - 1, "bench-lat-warm@corp.test")
            warm_s = wait_ready(rig, env, daemon, warm_sender, warm)
            with rig.imap(INTAKE) as appender:
                for i in range(args.count):
                    sender, raw = mix.mail(i % (len(senders) - 1), f"bench-lat-{i}@corp.test")
                    with rig.imap(sender) as watch:
                        have = watch.folder_status("INBOX", [b"MESSAGES"])[b"MESSAGES"]
                        wall0, t0 = time.time(), time.monotonic()
                        appender.append("INBOX", raw)
                        seen = None
                        while time.monotonic() - t0 < args.timeout:
                            if watch.folder_status("INBOX", [b"MESSAGES"])[b"MESSAGES"] > have:
                                seen = time.monotonic()
                                break
                            time.sleep(POLL)
                    samples.append({"i": i, "sender": sender, "wall0": wall0,
                                    "latency": (seen - t0) if seen else None})
                    if daemon.poll() is not None:
                        raise RuntimeError("the daemon exited:\n"
                                           + (env.root / "daemon.log").read_text()[-3000:])
                    rest = args.gap - (time.monotonic() - t0)
                    if rest > 0:
                        time.sleep(rest)
        finally:
            daemon.terminate()
            try:
                daemon.wait(timeout=20)
            except Exception:  # noqa: BLE001
                daemon.kill()
                daemon.wait()
        decided, sent = log_times(env.root / "daemon.log")

    got = [s["latency"] for s in samples if s["latency"] is not None]
    missing = len(samples) - len(got)
    to_decide, to_sent = [], []
    for s in samples:
        if f"bench-lat-{s['i']}@corp.test" not in decided:
            continue
        d, case = decided[f"bench-lat-{s['i']}@corp.test"]
        to_decide.append(d - s["wall0"])
        after = [t for t, sent_case in sent if sent_case == case and t >= d]
        if after:
            to_sent.append(min(after) - d)
    p50, p95 = percentile(got, 50), percentile(got, 95)
    worst = max(got) if got else float("nan")
    ok50 = bool(got) and not missing and p50 < 1.0
    ok95 = bool(got) and not missing and p95 < 2.0
    rows = [
        ["daemon start to first reply (warm-up form)", f"{warm_s:.2f} s", ""],
        ["forms appended / replies seen", f"{len(samples)} / {len(got)}",
         "" if not missing else f"{missing} not answered within {args.timeout:.0f} s"],
        ["latency p50", f"{p50 * 1000:.0f} ms", f"< 1000 ms {verdict(ok50)}"],
        ["latency p95", f"{p95 * 1000:.0f} ms", f"< 2000 ms {verdict(ok95)}"],
        ["latency max", f"{worst * 1000:.0f} ms", ""],
        ["latency min", f"{min(got) * 1000:.0f} ms" if got else "-", ""],
        ["  of which APPEND -> decided (daemon log), p50",
         f"{statistics.median(to_decide) * 1000:.0f} ms" if to_decide else "-", "IDLE wake-up + fetch + decide"],
        ["  of which decided -> SENT (daemon log), p50",
         f"{statistics.median(to_sent) * 1000:.0f} ms" if to_sent else "-", "outbox drain, SMTP"],
    ]
    print_table(f"bench_latency: {len(samples)} forms APPENDed one at a time ~{args.gap} s apart, daemon with "
                f"IMAP IDLE, reply polled every {POLL * 1000:.0f} ms", ["measure", "value", "target"], rows)
    print("latencies (ms): " + " ".join(f"{s['latency'] * 1000:.0f}" if s["latency"] else "-"
                                        for s in samples))
    result_json("latency", [
        metric("latency p50", round(p50 * 1000), "ms", "< 1000", ok50),
        metric("latency p95", round(p95 * 1000), "ms", "< 2000", ok95),
        metric("latency max", round(worst * 1000), "ms", "", None),
    ])
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
