"""Bodies of the follow-up commands (the CLI turns their errors into exit codes)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlmodel import Session

from bot.service.runtime import open_runtime
from bot.errors import InputError
from bot.followup import views
from bot.followup.assign import AssignRequest, assign, extend, resolve


def ledger_export_cmd(opts, out: Path) -> str:
    from bot.documents.ledger import export_ledger
    from bot.followup.ledger_io import ledger_rows

    rt = open_runtime(opts, with_transport=False)
    with Session(rt.engine) as db:
        count = export_ledger(ledger_rows(db, rt), out,
                              unit_names=[u.name for u in rt.ruleset.units])
    return f"wrote {count} case(s) to {out}"


def ledger_import_cmd(opts, path: Path) -> tuple[bool, str]:
    from bot.followup.ledger_io import import_file

    if not path.exists():
        raise InputError(f"file not found: {path}")
    rt = open_runtime(opts)
    ok, summary = import_file(rt, path)
    _send_now(rt)
    return ok, summary


def _send_now(rt) -> None:
    """Commands that queue mail also try to send it, so slips leave without waiting for the daemon."""
    from bot.outbox.queue import drain

    drain(rt.engine, rt.transport, rt.now, respect_backoff=False)


def assign_cmd(opts, case: str, lead: str, co: list[str], long_term: bool, note: str) -> str:
    rt = open_runtime(opts)
    with Session(rt.engine) as db:
        changed = assign(db, rt, AssignRequest(case, lead, tuple(co), long_term, note))
        db.commit()
    _send_now(rt)
    return f"{case}: assigned to {lead}" if changed else f"{case}: already assigned so, nothing sent"


def resolve_cmd(opts, case: str, how: str, note: str) -> str:
    rt = open_runtime(opts, with_transport=False)
    with Session(rt.engine) as db:
        changed = resolve(db, rt, case, how, note)
        db.commit()
    return f"{case}: {how}" if changed else f"{case}: unchanged"


def extend_cmd(opts, case: str, to: date) -> str:
    rt = open_runtime(opts, with_transport=False)
    with Session(rt.engine) as db:
        lead = extend(db, rt, case, to)
        db.commit()
        return f"{case}: result due moved to {lead.result_due}"


def remind_cmd(opts, dry_run: bool) -> dict:
    from bot.followup.reminders.queue import queue_reminders, remind_json

    rt = open_runtime(opts, with_transport=not dry_run)
    with Session(rt.engine) as db:
        out = remind_json(db, rt)
    if not dry_run:
        queue_reminders(rt)
        _send_now(rt)
    return out


def cases_list_cmd(opts, status, overdue, unit) -> list[dict]:
    rt = open_runtime(opts, with_transport=False)
    with Session(rt.engine) as db:
        return views.list_cases(db, rt, status, overdue, unit)


def case_show_cmd(opts, case: str) -> dict:
    rt = open_runtime(opts, with_transport=False)
    with Session(rt.engine) as db:
        return views.show(db, rt, case)


def publish_cmd(opts, outdir: Path) -> list[Path]:
    from bot.documents.publish import publish
    from bot.followup.exports import public_rows

    rt = open_runtime(opts, with_transport=False)
    with Session(rt.engine) as db:
        rows = public_rows(db, rt)
    return publish(rows, outdir, title=f"{rt.ruleset.programme.name}办理情况公开",
                   generated=rt.today())


def report_cmd(opts, start: date, end: date, out: Path) -> None:
    from bot.documents.report import render_report
    from bot.followup.exports import report_data

    if end < start:
        raise InputError("--to is before --from")
    rt = open_runtime(opts, with_transport=False)
    with Session(rt.engine) as db:
        data = report_data(db, rt, start, end)
    out.parent.mkdir(parents=True, exist_ok=True)
    render_report(data, out)
