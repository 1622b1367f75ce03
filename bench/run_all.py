#!/usr/bin/env python3
"""All benchmarks in sequence (`make bench`), then one summary table: metric, value, target, pass/fail.

Sizes are chosen so that the whole run takes ~15-20 minutes on a 2-core machine while each number
still means something (see bench/README.md); --quick shrinks them further for a smoke run, --full uses
the sizes of quality.md everywhere. Each script runs as its own process with its own private mail rig;
its output is shown as it runs, and the summary is also written to bench/out/summary.txt.

Exit status: 0 when every benchmark ran (whatever its verdict), 1 when one crashed or timed out.

bench_ingest and bench_peer run only when named with --only: bench_compare measures both of their
ratios side by side in one run.

Run: .venv/bin/python bench/run_all.py [--quick | --full] [--only compare,latency,...]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from benchlib import OUT, machine_line, print_table  # noqa: E402

# name -> (script, default args, --quick args, --full args)
STEPS = {
    "compare": ("bench_compare.py", ["--n", "500", "--repeat", "3"], ["--n", "100", "--repeat", "1"],
                ["--n", "500", "--repeat", "3"]),
    "ingest": ("bench_ingest.py", ["--n", "1000"], ["--n", "200"], ["--n", "1000"]),
    "peer": ("bench_peer.py", ["--n", "500"], ["--n", "100"], ["--n", "1000"]),
    "latency": ("bench_latency.py", ["--count", "30"], ["--count", "10"], ["--count", "30"]),
    "memory": ("bench_memory.py", ["--n", "5000"], ["--n", "500"], ["--n", "10000"]),
    "scale": ("bench_scale.py", [], ["--assignments", "10000", "--ledger", "2000"], []),
    "reminders": ("bench_reminders.py", [], ["10000"], []),
    "ledger": ("bench_ledger.py", [], ["2000"], []),
}
# bench_compare measures what these two did (the bot against the limit, against django-helpdesk), in
# one run and with the replying limit besides: they run only when named with --only.
ONLY_WHEN_NAMED = {"ingest", "peer"}
TIMEOUT = 30 * 60  # per step


def run_step(name: str, script: str, args: list[str]) -> tuple[int | None, str, float]:
    cmd = [sys.executable, "-u", str(BENCH / script), *args]
    print(f"\n===== {name}: {' '.join(cmd[2:])}", flush=True)
    t0 = time.monotonic()
    lines = []
    proc = subprocess.Popen(cmd, cwd=BENCH.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True, bufsize=1)
    watchdog = threading.Timer(TIMEOUT, proc.kill)  # a silent hang ends too
    watchdog.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if not line.startswith("BENCH-RESULT "):
                print(line, end="", flush=True)
        code = proc.wait()
    except KeyboardInterrupt:
        proc.kill()
        proc.wait()
        raise
    finally:
        watchdog.cancel()
    secs = time.monotonic() - t0
    if secs >= TIMEOUT:
        print(f"!!! {name} killed after {TIMEOUT} s", flush=True)
        code = None
    return code, "".join(lines), secs


def results(name: str, output: str) -> list[dict]:
    """Metrics from a BENCH-RESULT line; for the two older scripts, from their printed verdict lines."""
    found = []
    for line in output.splitlines():
        if line.startswith("BENCH-RESULT "):
            found += json.loads(line[len("BENCH-RESULT "):])["metrics"]
    if found:
        return found
    if name == "reminders":
        m = re.search(r"bar: < 2 s for ([\d,]+) assignments: (PASS|FAIL) \(slowest ([\d.]+) s\)", output)
        if m:
            return [{"metric": f"reminders_due pure function, {m.group(1)} assignments", "value": float(m.group(3)),
                     "unit": "s", "target": "< 2", "pass": m.group(2) == "PASS"}]
    if name == "ledger":
        m = re.search(r"^\s*(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+\d+\s+\d+\s*$", output, re.M)
        if m:
            secs = float(m.group(2))
            return [{"metric": f"ledger export from rows (no DB), {m.group(1)} rows", "value": secs,
                     "unit": "s", "target": "< 5", "pass": secs < 5},
                    {"metric": f"ledger import back, {m.group(1)} rows", "value": float(m.group(3)),
                     "unit": "s", "target": "", "pass": None}]
    return []


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smoke sizes (a few minutes)")
    size.add_argument("--full", action="store_true", help="the sizes of quality.md everywhere")
    ap.add_argument("--only", default="", help="comma-separated subset of: " + ",".join(STEPS))
    args = ap.parse_args(argv)

    chosen = ([s.strip() for s in args.only.split(",") if s.strip()]
              or [s for s in STEPS if s not in ONLY_WHEN_NAMED])
    unknown = [s for s in chosen if s not in STEPS]
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(unknown)}")
    print(machine_line(), flush=True)
    t_all = time.monotonic()
    rows, crashed = [], []
    for name in chosen:
        script, default, quick, full = STEPS[name]
        step_args = quick if args.quick else full if args.full else default
        code, output, secs = run_step(name, script, step_args)
        metrics = results(name, output)
        if code != 0:
            crashed.append(name)
            rows.append([name, "CRASHED" if code is not None else "TIMEOUT", f"exit {code}", "", "ERROR"])
        elif not metrics:
            rows.append([name, "(no result parsed)", "", "", "?"])
        for m in metrics:
            value = m["value"]
            shown = f"{value} {m.get('unit', '')}".strip() if not isinstance(value, str) else value
            verdict = "-" if m["pass"] is None else ("PASS" if m["pass"] else "FAIL")
            if value == "skipped":
                verdict = "SKIPPED"
            rows.append([name, m["metric"], shown, m.get("target", ""), verdict])
        rows.append([name, f"(bench ran {secs:.0f} s)", "", "", ""])
    total = time.monotonic() - t_all
    print()
    print_table(f"bench summary ({'quick' if args.quick else 'full' if args.full else 'default'} sizes; "
                f"total {total / 60:.1f} min)", ["bench", "metric", "value", "target", "verdict"], rows)
    fails = sum(1 for r in rows if r[4] == "FAIL")
    print(f"{fails} target(s) failed; {len(crashed)} benchmark(s) crashed"
          + (f": {', '.join(crashed)}" if crashed else ""))
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "summary.txt", "w") as fh:
        fh.write(machine_line() + "\n")
        for r in rows:
            fh.write("\t".join(str(c) for c in r) + "\n")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
