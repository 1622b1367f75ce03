#!/usr/bin/env python3
"""Ingest throughput: reception-bot end to end as a ratio of the bare fetch+parse limit (quality.md).

A backlog of N registration mails (the usual mix: 56 % xlsx, 37 % docx, 7 % typed into the body; 30
senders who are rig users) is MULTIAPPENDed to intake@rb.test on a private Dovecot (tests/rig), then

  (a) the LIMIT: the same messages fetched with imapclient (FETCH BODY.PEEK[] in batches of 100) and
      parsed (mail-parser; openpyxl read-only / python-docx, or the body's label lines) in one bare
      loop: no database, no rules, no reply. Measured before and after (b) on the same messages
      (PEEK leaves them unchanged; after (b) they are read from the Processed folder) and averaged,
      so a change in the machine's load during the run does not land on one side only;
  (b) reception-bot: `python -m bot run --once` (subprocess, SQLite, --today 2026-12-01) from the start
      of the process until every reply it sent is in the senders' mailboxes (counted over IMAP).

Run: .venv/bin/python bench/bench_ingest.py [--n 1000] [--rounds 1] [--profile]
Exit status 0 whenever the measurement itself worked (the verdict is in the table).
The helpers (machine line, table, the mail mix, the rig and the bot set-up) are in benchlib.py.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyspy_profile as pyspy  # noqa: E402
from benchlib import (INTAKE, OUT, TODAY, MailMix, bot_env, bot_pass, clear, limit_pass, metric,  # noqa: E402
                      multiappend, prepare, print_table, result_json, sender_addresses, start_rig,
                      startup_seconds, verdict)


def profile(rig, mix: MailMix, senders: list[str], n: int, work: Path, unprofiled: float) -> None:
    """The bot three more times under py-spy, each on a fresh database and backlog (pyspy_profile)."""
    def run(mode: str, wrap: list[str]) -> dict:
        clear(rig, [INTAKE, *senders, *rig.users])
        multiappend(rig, INTAKE, [raw for _s, raw in mix.mails(n, f"profile-{mode}")])
        return bot_pass(rig, bot_env(rig, work / f"profile-{mode}"), senders, n, wrap=wrap)

    pyspy.profile_run(run, n, "ingest", OUT, unprofiled, print_table)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="messages in the backlog (default 1000)")
    ap.add_argument("--senders", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=1, help="repeat (limit, bot, limit) and take medians")
    ap.add_argument("--profile", action="store_true",
                    help="then record the bot under py-spy (bench/out/pyspy-ingest-*.txt) and say where its "
                         "time goes")
    args = ap.parse_args(argv)

    why = pyspy.ensure_pyspy() if args.profile else None
    if why:
        print(f"--profile: {why}; profiling skipped")
        args.profile = False
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
            b = bot_pass(rig, env, senders, args.n)
            lb, n_b, forms_b = limit_pass(rig, INTAKE, folder="Processed")
            b["startup"] = startup_seconds(env)  # the inbox is empty now; same database
            if n_a != args.n or n_b != args.n or forms_a != args.n:
                print(f"WARNING: limit read {n_a}/{n_b} messages, {forms_a} forms; expected {args.n}")
            limits.append(args.n / ((la + lb) / 2))
            bots.append(b["rate"])
            details.append((r, append_s, size, la, lb, b))
            clear(rig, [INTAKE, *senders, *rig.users])
        if args.profile:
            OUT.mkdir(parents=True, exist_ok=True)
            profile(rig, mix, senders, args.n, work,
                    statistics.median(b["process_seconds"] for *_x, b in details))

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
    print_table(f"bench_ingest: {args.n} registration mails ({mix.describe(args.n)}; {len(senders)} senders), "
                f"SQLite, --today {TODAY}", ["step", "time", "rate", "target"], rows)
    result_json("ingest", [
        metric(f"ingest limit (fetch+parse), {args.n} msgs", round(limit, 1), "msg/s", "", None),
        metric(f"ingest reception-bot end to end, {args.n} msgs", round(rate, 1), "msg/s", "", None),
        metric("ingest ratio bot/limit", round(ratio, 2), "", "≥ 0.6", ratio >= 0.6),
    ])
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
