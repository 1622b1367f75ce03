"""The demand ledger round trip: `ledger export` and `ledger import`."""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy import func
from sqlmodel import Session, select

from bot.commands.output import say
from bot.commands.progress import track, working
from bot.commands.sending import send_now
from bot.errors import InputError
from bot.followup.ledger_io import export_file, import_file
from bot.service.runtime import Options, open_runtime
from bot.store.models import Case


def export_cmd(opts: Options, out: Path) -> None:
    rt = open_runtime(opts, with_transport=False)
    with Session(rt.engine) as db:
        total = db.exec(select(func.count()).select_from(Case)).one()
        count = export_file(db, rt, out, progress=lambda rows: track(rows, "导出台账", total))
    say(f"已导出{count}件诉求到 {out}。请在黄色列填写现场结果、承办单位等，保存后再导入。")


def import_cmd(opts: Options, path: Path) -> None:
    if not path.exists():
        raise InputError(f"找不到文件：{path}")
    rt = open_runtime(opts)
    with working("导入台账"):
        ok, summary = import_file(rt, path)
    with working("发送交办单"):
        send_now(rt)
    say(summary)
    if not ok:
        raise typer.Exit(1)
