"""`status`: how the service is doing, one line per item, in Chinese (or `--json`, English keys).

Each line is one function from a `Probe` (what status reads: config, database, rules, clock) to a
`Line`; LINES lists them in the order printed. A new line (say, the count of held actions once the
table of unauthenticated actions awaiting confirmation exists) is one more function and one more
entry in LINES. Status only reads: the database is not migrated, the mailbox is not changed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable

from sqlalchemy import func, inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.calendar import WorkCalendar
from bot.commands.output import emit_json, say
from bot.config import Config
from bot.context import Clock, RulesHolder, Runtime
from bot.documents.cn import cn_date
from bot.followup.reminders.queue import due_today
from bot.outbox.compose import Templates
from bot.outbox.queue import count_delayed
from bot.service import lease
from bot.service.runtime import (
    Options,
    clock_for,
    imap_settings,
    load,
    load_ruleset,
    source_for,
)
from bot.store.db import make_engine
from bot.store.holders import holder_is_dead
from bot.store.models import HeldAction, InboundMail, Outbox
from bot.store.states import MailStatus, OutboxStatus

SHOWN_REMINDERS = 10


@dataclass
class Probe:
    config: Config
    engine: Engine
    runtime: Runtime  # rules and clock as the daemon has them; no transport, no workers
    migrated: bool
    source_name: str


@dataclass
class Line:
    key: str  # the --json key
    label: str  # the Chinese label
    value: Any  # JSON value
    text: str  # the Chinese line


def status_cmd(opts: Options, as_json: bool) -> None:
    probe = _probe(opts)
    lines = [line(probe) for line in LINES]
    if as_json:
        emit_json({item.key: item.value for item in lines})
        return
    width = max(len(item.label) for item in lines)
    for item in lines:
        say(f"{item.label.ljust(width, '　')}　{item.text}")


def _probe(opts: Options) -> Probe:
    cfg = load(opts)
    rules = load_ruleset(opts)
    engine = make_engine(cfg.database_url)
    clock = clock_for(opts, rules)
    holder = RulesHolder(cfg.rules_dir, rules)
    rt = Runtime(config=cfg, rules=holder, engine=engine, templates=Templates(cfg.templates_dir), clock=clock)
    migrated = inspect(engine).has_table("mailbox_status") and inspect(engine).has_table("inbound_mail")
    return Probe(cfg, engine, rt, migrated, source_for(cfg).name)


# ---------------------------------------------------------------- the lines


def daemon_line(p: Probe) -> Line:
    held, _last = lease.current(p.engine, p.source_name) if p.migrated else (None, None)
    now = p.runtime.now()  # the daemon's clock: with --today the lease carries that date too
    if held is None:
        return Line("daemon", "守护进程", {"alive": False, "holder": None, "lease_until": None}, "未运行")
    until = p.runtime.clock.aware(held.expires_at)
    alive = until > now and not holder_is_dead(held.holder)
    value = {"alive": alive, "holder": held.holder, "lease_until": until.isoformat()}
    if alive:
        return Line("daemon", "守护进程", value, f"运行中（{held.holder}，租约至 {until:%H:%M:%S}）")
    return Line("daemon", "守护进程", value, f"未运行（{held.holder} 已停止，租约未释放）")


def last_fetch_line(p: Probe) -> Line:
    _held, last = lease.current(p.engine, p.source_name) if p.migrated else (None, None)
    if last is None:
        return Line("last_fetch", "上次收信", None, "尚无记录")
    at = p.runtime.clock.aware(last.last_fetch_at)
    return Line("last_fetch", "上次收信", {"at": at.isoformat(), "fetched": last.fetched, "by": last.holder},
                f"{_when(at, p.runtime.clock)}，取回 {last.fetched} 封（{last.holder}）")


def inbox_line(p: Probe) -> Line:
    source = source_for(p.config, _quick_imap(p.config))
    try:
        source.open()
        count = source.waiting()
    except Exception as exc:  # noqa: BLE001 - status reports what it cannot read
        return Line("inbox", "收件箱", None, f"无法读取：{exc}")
    finally:
        source.close()
    return Line("inbox", "收件箱", count, f"{count} 封待处理")


def outbox_line(p: Probe) -> Line:
    counts = _count_by(p, Outbox, Outbox.status) if p.migrated else {}
    waiting = sum(counts.get(s, 0) for s in ("pending", "sending", "finalizing"))
    failed = counts.get("failed", 0)
    held = counts.get(OutboxStatus.SUPPRESSED, 0)
    late = _count_delayed(p) if counts.get("pending") else 0
    value = {"pending": counts.get("pending", 0), "sending": counts.get("sending", 0) + counts.get("finalizing", 0),
             "failed": failed, "held_back": held, "delayed": late}
    text = f"{waiting} 封待发送" + (f"（其中 {late} 封超过一天仍被邮件服务器暂拒，正在重试）" if late else "") + (
        f"，{failed} 封发送失败" if failed else "") + (f"，{held} 封因退信或限额暂缓发出" if held else "")
    return Line("outbox", "发件队列", value, text)


def _count_delayed(p: Probe) -> int:
    with Session(p.engine) as db:
        return count_delayed(db, p.runtime.now())


def quarantine_line(p: Probe) -> Line:
    count = _count_by(p, InboundMail, InboundMail.status).get(MailStatus.QUARANTINED, 0) if p.migrated else 0
    text = f"{count} 封（reception-bot reprocess 可放回收件箱）" if count else "无"
    return Line("quarantined", "隔离邮件", count, text)


def held_actions_line(p: Probe) -> Line:
    """Admin and unit actions by mail that await their confirmation code (bot.followup.held)."""
    count = _count_by(p, HeldAction, HeldAction.status).get("held", 0) if p.migrated else 0
    return Line("held_actions", "待确认操作", count, f"{count} 件，待登记邮箱回复确认码" if count else "无")


def reminders_line(p: Probe) -> Line:
    rt, today = p.runtime, p.runtime.today()
    if not p.migrated:
        return Line("reminders", "近期催办", None, "数据库尚未初始化")
    calendar = WorkCalendar.from_ruleset(rt.ruleset)
    following = calendar.roll_forward(today + timedelta(days=1))
    with Session(p.engine) as db:
        pending = due_today(db, rt, today)
        upcoming = due_today(db, _on(rt, following), following)
    value = {"today": today.isoformat(), "today_pending": len(pending), "next_day": following.isoformat(),
             "next": [r.to_json() for r in upcoming]}
    text = f"今日待发 {len(pending)} 条；{cn_date(following)}（下一工作日）{len(upcoming)} 条"
    if upcoming:
        shown = "、".join(f"{r.case} {r.unit}" for r in upcoming[:SHOWN_REMINDERS])
        text += f"：{shown}" + ("等" if len(upcoming) > SHOWN_REMINDERS else "")
    return Line("reminders", "近期催办", value, text)


LINES: list[Callable[[Probe], Line]] = [daemon_line, last_fetch_line, inbox_line, outbox_line,
                                        quarantine_line, held_actions_line, reminders_line]


# ---------------------------------------------------------------- helpers


def _count_by(p: Probe, model, column) -> dict[str, int]:
    with Session(p.engine) as db:
        return dict(db.exec(select(column, func.count()).select_from(model).group_by(column)).all())


def _on(rt: Runtime, day: date) -> Runtime:
    return dataclasses.replace(rt, clock=Clock(rt.clock.tz, day))


def _when(at: datetime, clock: Clock) -> str:
    ago = clock.now() - at
    minutes = int(ago.total_seconds() // 60)
    since = "刚刚" if minutes < 1 else f"{minutes} 分钟前" if minutes < 120 else f"{minutes // 60} 小时前"
    return f"{at:%Y-%m-%d %H:%M:%S}（{since}）"


def _quick_imap(cfg: Config):
    """One connection attempt, short timeout: status must answer quickly."""
    if cfg.imap is None:
        return None
    return dataclasses.replace(imap_settings(cfg), retries=0, timeout=10.0)
