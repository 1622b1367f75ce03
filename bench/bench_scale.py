#!/usr/bin/env python3
"""Scale of the ledger: reminders due among 100,000 open assignments, and the ledger export of 10,000
cases, on SQLite and on PostgreSQL (quality.md: under 2 s and under 5 s).

The rows are bulk-inserted with SQLAlchemy Core into a database migrated by the bot itself
(open_runtime): cases with status "assigned" and a lead Assignment each (30 % also a co-unit), dates
spread over the 200 days before --today with deadlines from compute_deadlines and the real rules, unit
reports on half of them, some reminders already logged. Timed, each in a fresh session:
  * `due_today(db, rt, today)` (bot/followup/remind.py): the two queries and reminders_due, twice;
  * `export_ledger(ledger_rows(db, rt), path, unit_names=...)` when the database holds 10,000 cases
    (before the other 90,000 are added).
PostgreSQL: an existing trust server on 127.0.0.1:5432, else a throwaway cluster (tests/rig/postgres.py);
when neither is possible the PostgreSQL rows say why and are skipped.

Run: .venv/bin/python bench/bench_scale.py [--assignments 100000] [--ledger 10000] [--backends sqlite,postgres]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib as common  # noqa: E402
from benchlib import REPO, metric, print_table, result_json, verdict  # noqa: E402

TODAY = date(2027, 9, 15)
SPAN_DAYS = 90
BATCH = 5000


def write_config(root: Path, url: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    cfg = root / "config.toml"
    cfg.write_text(f'storage_dir = "{root / "storage"}"\nrules_dir = "{REPO / "rules"}"\n'
                   f'templates_dir = "{REPO / "templates"}"\ndatabase_url = "{url}"\n'
                   'message_id_domain = "bot.rb.test"\n', encoding="utf-8")
    return cfg


def runtime(root: Path, url: str):
    from bot.service.runtime import open_runtime
    from bot.cli import Options

    return open_runtime(Options(config=write_config(root, url), rules=None, today=TODAY),
                        with_transport=False)


class Filler:
    """Deterministic rows for cases [start, stop): case, assignments, reports, reminder log."""

    def __init__(self, rt, seed: int = 20270915):
        from bot.calendar import WorkCalendar

        self.rt = rt
        self.rules = rt.ruleset
        self.cal = WorkCalendar.from_ruleset(self.rules)
        self.seed = seed
        self.units = [u.id for u in self.rules.units if u.kind == "department"] or \
            [u.id for u in self.rules.units]
        self.fields = [f.id for f in self.rules.fields]
        self.sessions = [s.id for s in self.rules.sessions]
        self._deadlines: dict[date, tuple[date, date]] = {}
        self.next_assignment = 1
        self.next_report = 1

    def deadlines(self, assigned: date) -> tuple[date, date]:
        from bot.followup.reminders.due import compute_deadlines

        if assigned not in self._deadlines:
            self._deadlines[assigned] = compute_deadlines(assigned, self.rules.deadlines, self.cal)
        return self._deadlines[assigned]

    def rows(self, start: int, stop: int):
        rng = random.Random(self.seed + start)
        now = datetime(2027, 1, 4, 9, 0, tzinfo=timezone.utc)
        cases, assignments, reports, logs = [], [], [], []
        for i in range(start, stop):
            cid = i + 1
            code, name, district = common.enterprise(i % 30)
            assigned = TODAY - timedelta(days=rng.randrange(1, SPAN_DAYS))
            status_due, result_due = self.deadlines(assigned)
            field = self.fields[i % len(self.fields)]
            title = common.TITLES[i % len(common.TITLES)]
            form = {"enterprise_name": name, "credit_code": code, "district": district,
                    "enterprise_types": ["规上企业", "高新技术企业"], "title": title,
                    "facts": f"（案例{cid}）{title}。企业新建生产线需增加用电负荷约5000千伏安，已等待3个月。",
                    "requests": "协调有关部门加快审批，确保项目按期投产。",
                    "suggested_departments": ["市工业和信息化局"], "field": field}
            cases.append(dict(
                id=cid, number=f"WHJD-2027-{cid:06d}", status="assigned", decision="accepted",
                rules="MATCH-CURRENT", session_id=self.sessions[i % len(self.sessions)], field_id=field,
                channel="邮件", enterprise_name=name, credit_code=code, district=district,
                contact_name="李晓明", contact_phone="13904731234", contact_email="",
                sender=f"ent{i % 30 + 1}@corp.test", form_json=json.dumps(form, ensure_ascii=False),
                thread_root=f"bench-{cid}@corp.test", last_outbound_id=f"r{cid}@bot.rb.test",
                accepted_on=assigned - timedelta(days=20), outcome="交办",
                requirements="请于7个工作日内报送落实情况。", closed_on=None, satisfaction="", revisit="",
                refer_unit="", created_at=now, updated_at=now))
            lead = self.units[i % len(self.units)]
            aid = self.next_assignment
            self.next_assignment += 1
            assignments.append(dict(id=aid, case_id=cid, unit_id=lead, role="lead", assigned=assigned,
                                    long_term=rng.random() < 0.2, status_due=status_due,
                                    result_due=result_due, note="", closed=False))
            if rng.random() < 0.3:
                co = self.units[(i + 1 + rng.randrange(len(self.units) - 1)) % len(self.units)]
                if co != lead:
                    assignments.append(dict(id=self.next_assignment, case_id=cid, unit_id=co, role="co",
                                            assigned=assigned, long_term=False, status_due=status_due,
                                            result_due=result_due, note="", closed=False))
                    self.next_assignment += 1
            for kind, p, lo, hi in (("status", 0.5, 1, 12), ("progress", 0.3, 5, 40), ("result", 0.1, 10, 45)):
                if rng.random() < p:
                    received = min(assigned + timedelta(days=rng.randrange(lo, hi)), TODAY)
                    reports.append(dict(id=self.next_report, assignment_id=aid, kind=kind, received=received,
                                        message_id=f"rep{self.next_report}@units.test",
                                        summary="已召开专题会议研究，正在协调办理。"))
                    self.next_report += 1
            if rng.random() < 0.05:
                logs.append(dict(key=f"WHJD-2027-{cid:06d}|{lead}|status|due|{status_due}", sent_on=status_due))
        return cases, assignments, reports, logs


def bulk_insert(rt, filler: Filler, start: int, stop: int) -> float:
    from sqlalchemy import insert

    from bot.store.models import Assignment, Case, ReminderLog, UnitReport

    t0 = time.monotonic()
    for lo in range(start, stop, BATCH):
        cases, assignments, reports, logs = filler.rows(lo, min(stop, lo + BATCH))
        with rt.engine.begin() as conn:
            conn.execute(insert(Case.__table__), cases)
            conn.execute(insert(Assignment.__table__), assignments)
            if reports:
                conn.execute(insert(UnitReport.__table__), reports)
            if logs:
                conn.execute(insert(ReminderLog.__table__), logs)
    return time.monotonic() - t0


def fix_sequences(rt) -> None:
    """Explicit ids do not advance PostgreSQL's sequences; set them as the ORM would have."""
    if rt.engine.dialect.name != "postgresql":
        return
    from sqlalchemy import text

    with rt.engine.begin() as conn:
        for table in ("case_record", "assignment", "unit_report", "reminder_log"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"))
        conn.execute(text("ANALYZE"))


def time_export(rt, out: Path) -> tuple[float, int, int]:
    from sqlmodel import Session

    from bot.documents.ledger import export_ledger
    from bot.followup.ledger_io import ledger_rows

    unit_names = [u.name for u in rt.ruleset.units]
    t0 = time.monotonic()
    with Session(rt.engine) as db:
        written = export_ledger(ledger_rows(db, rt), out, unit_names=unit_names)
    return time.monotonic() - t0, written, out.stat().st_size


def time_due(rt) -> tuple[list[float], int]:
    from sqlmodel import Session

    from bot.followup.reminders.queue import due_today

    times, found = [], 0
    for _ in range(2):
        t0 = time.monotonic()
        with Session(rt.engine) as db:
            found = len(due_today(db, rt, TODAY))
        times.append(time.monotonic() - t0)
    return times, found


def count(rt, table) -> int:
    from sqlalchemy import func, select

    with rt.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def bench_backend(name: str, url: str, work: Path, n_assign: int, n_ledger: int) -> dict:
    from bot.store.models import Assignment, UnitReport

    rt = runtime(work / name, url)
    filler = Filler(rt)
    first = min(n_ledger, n_assign)
    ins1 = bulk_insert(rt, filler, 0, first)
    fix_sequences(rt)
    exp_s, written, size = time_export(rt, work / name / "ledger.xlsx")
    ins2 = bulk_insert(rt, filler, first, n_assign)
    fix_sequences(rt)
    due_s, found = time_due(rt)
    res = {"insert_s": ins1 + ins2, "export_s": exp_s, "written": written, "size": size, "due_s": due_s,
           "reminders": found, "assignments": count(rt, Assignment.__table__),
           "reports": count(rt, UnitReport.__table__)}
    rt.engine.dispose()
    return res


def postgres(work: Path):
    """(server, url) or (None, reason)."""
    server, why = common.postgres()
    if server is None:
        return None, why
    try:
        name = server.create_database("bench_")
    except Exception as exc:  # noqa: BLE001 - say why and skip
        server.stop()
        return None, f"{type(exc).__name__}: {exc}"
    server.bench_db = name
    return server, server.url(name)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--assignments", type=int, default=100_000, help="open cases/lead assignments")
    ap.add_argument("--ledger", type=int, default=10_000, help="cases in the exported ledger")
    ap.add_argument("--backends", default="sqlite,postgres")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="rb-bench-scale-"))
    rows, metrics = [], []
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        server = None
        if backend == "sqlite":
            url, label = f"sqlite:///{work / 'sqlite' / 'bot.db'}", "SQLite"
        elif backend == "postgres":
            server, url = postgres(work)
            label = "PostgreSQL" + ("" if server is None else
                                    (" (existing :5432)" if server.external else " (throwaway cluster)"))
            if server is None:
                rows.append([f"{label}: skipped", url[:150], "", ""])
                metrics.append(metric("scale due_today, PostgreSQL", "skipped", "s", "< 2", None))
                metrics.append(metric("scale ledger export, PostgreSQL", "skipped", "s", "< 5", None))
                continue
        else:
            raise SystemExit(f"unknown backend {backend!r}")
        try:
            r = bench_backend(backend, url, work, args.assignments, args.ledger)
        finally:
            if server is not None:
                try:
                    if server.external:
                        server.drop_database(server.bench_db)
                finally:
                    server.stop()
        worst_due = max(r["due_s"])
        rows += [
            [f"{label}: bulk insert", f"{r['insert_s']:.1f} s",
             f"{r['assignments']} assignments, {r['reports']} reports", ""],
            [f"{label}: ledger export, {r['written']} cases", f"{r['export_s']:.2f} s",
             f"{r['size'] / 1e6:.2f} MB xlsx", f"< 5 s {verdict(r['export_s'] < 5)}"],
            [f"{label}: due_today over {args.assignments} open lead assignments",
             " / ".join(f"{s:.2f}" for s in r["due_s"]) + " s", f"{r['reminders']} reminders due "
             f"on {TODAY} (1st / 2nd call)", f"< 2 s {verdict(worst_due < 2)}"],
        ]
        db_name = label.split(" ")[0]
        metrics.append(metric(f"scale due_today, {args.assignments:,} open, {db_name}", round(worst_due, 2),
                              "s", "< 2", worst_due < 2))
        metrics.append(metric(f"scale ledger export, {r['written']:,} cases, {db_name}",
                              round(r["export_s"], 2), "s", "< 5", r["export_s"] < 5))
    print_table(f"bench_scale: {args.assignments} open assignments, ledger of {args.ledger} cases",
                ["step", "time", "notes", "target"], rows)
    result_json("scale", metrics)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
