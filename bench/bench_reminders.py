"""Reminders due among 100,000 open assignments (quality bar: under 2 s).

Times the pure function only (bot.followup.reminders.due.reminders_due); loading the rows from the database is the
store's benchmark. Run: .venv/bin/python bench/bench_reminders.py [COUNT] [SEED]
"""

from __future__ import annotations

import os
import platform
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.calendar import WorkCalendar  # noqa: E402
from bot.followup.reminders.due import AssignmentIn, ReportIn, compute_deadlines, reminders_due  # noqa: E402
from bot.rules.model import Deadlines, Holiday  # noqa: E402

RULES = Deadlines(escalate_to="dcs")
# Bench data for 2027 so due dates past 2026 do not hit the weekends-only fallback.
HOLIDAYS = (Holiday("2027-yuandan", "元旦", date(2027, 1, 1), date(2027, 1, 3)),)
TODAYS = (date(2026, 10, 9), date(2026, 12, 30), date(2027, 1, 5))


def build(count: int, seed: int, cal: WorkCalendar) -> list[AssignmentIn]:
    rng = random.Random(seed)
    start = date(2026, 6, 1)
    rows = []
    for i in range(count):
        assigned = start + timedelta(rng.randrange(214))  # June .. December 2026
        status_due, result_due = compute_deadlines(assigned, RULES, cal)
        rows.append(AssignmentIn(
            case=f"WHJD-2026-{i:06d}",
            unit=f"unit{rng.randrange(60):02d}",
            role="lead",
            assigned=assigned,
            long_term=rng.random() < 0.2,
            result_due=result_due,
            status_due=status_due,
            reports=random_reports(rng, assigned),
            closed=False,
            unit_emails=(f"unit{i % 60:02d}@example.gov.cn",),
        ))
    return rows


def random_reports(rng: random.Random, assigned: date) -> tuple[ReportIn, ...]:
    reports = []
    if rng.random() < 0.5:
        reports.append(ReportIn("status", assigned + timedelta(rng.randrange(1, 12))))
    if rng.random() < 0.3:
        reports.append(ReportIn("progress", assigned + timedelta(rng.randrange(5, 40))))
    if rng.random() < 0.1:
        reports.append(ReportIn("result", assigned + timedelta(rng.randrange(10, 45))))
    return tuple(reports)


def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 20261223
    rows, build_s = timed(lambda: build(count, seed, WorkCalendar.from_rules(HOLIDAYS, [])))
    print(f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()} "
          f"python {platform.python_version()}; build + compute_deadlines: {build_s:.2f} s")
    print(f"{'today':<12}{'calendar':<10}{'count':>9}{'reminders':>11}{'seconds':>10}{'µs/item':>10}")
    worst = 0.0
    for today in TODAYS:
        cal = WorkCalendar.from_rules(HOLIDAYS, [])  # cold: nothing memoised yet
        for label in ("cold", "warm"):
            found, secs = timed(lambda: reminders_due(rows, RULES, cal, today, ("dcs@example.gov.cn",)))
            worst = max(worst, secs)
            print(f"{today.isoformat():<12}{label:<10}{count:>9}{len(found):>11}{secs:>10.3f}"
                  f"{secs / count * 1e6:>10.2f}")
    print(f"bar: < 2 s for {count:,} assignments: {'PASS' if worst < 2 else 'FAIL'} (slowest {worst:.3f} s)")

if __name__ == "__main__":
    main()
