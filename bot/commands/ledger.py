"""The demand ledger round trip: `ledger export` and `ledger import`."""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy import func
from sqlmodel import Session, select

from bot.commands.output import say
from bot.commands.progress import track, working
from bot.commands.sending import send_now
from bot.documents.ledger import export_ledger
from bot.errors import InputError
from bot.followup.ledger_io import import_file, ledger_rows
from bot.service.runtime import Options, open_runtime
from bot.store.models import Case


def export_cmd(opts: Options, out: Path) -> None:
    rt = open_runtime(opts, with_transport=False)
    with Session(rt.engine) as db:
        total = db.exec(select(func.count()).select_from(Case)).one()
        rows = track(ledger_rows(db, rt), "导出台账", total)
        count = export_ledger(rows, out, unit_names=[u.name for u in rt.ruleset.units])
    say(f"wrote {count} case(s) to {out}")


def import_cmd(opts: Options, path: Path) -> None:
    if not path.exists():
        raise InputError(f"file not found: {path}")
    rt = open_runtime(opts)
    with working("导入台账"):
        ok, summary = import_file(rt, path)
    with working("发送交办单"):
        send_now(rt)
    say(summary)
    if not ok:
        raise typer.Exit(1)
