"""`check`: would the service start and work? One line per item, in Chinese; exit 1 on any failure.

Items, in order: the config file, the rule files, every template rendered with a fixture context,
the IMAP server reached and logged in (or the Maildir inbox), the SMTP server reached and logged in
(or the Maildir outbox), the database reached and migrated (as `run` would at start). An item that
cannot be checked because an earlier one failed (no config, no rules) says so and fails too.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import typer

from bot.commands.output import say
from bot.config import Config
from bot.defaults import TemplatePath
from bot.errors import ConfigError, DeliveryError, MailboxError, RuleFileError
from bot.mailbox.maildir import ensure_maildir
from bot.outbox.compose import Templates
from bot.outbox.fixtures import render_all
from bot.outbox.transport import SmtpTransport
from bot.rules.checks import check_rules
from bot.rules.loader import load_rules
from bot.rules.model import Ruleset
from bot.service.runtime import Options, imap_settings, load, smtp_settings, source_for
from bot.store.db import (
    current_revision,
    head_revision,
    make_engine,
    masked,
    open_database,
)

OK, FAILED = "✓", "✗"
TIMEOUT = 10.0  # seconds for one connection attempt to a mail server


@dataclass
class Outcome:
    label: str
    ok: bool
    text: str
    details: list[str] = dataclasses.field(default_factory=list)


@dataclass
class Context:
    opts: Options
    config: Config | None = None
    rules: Ruleset | None = None


def check_cmd(opts: Options) -> None:
    ctx = Context(opts)
    outcomes = [step(ctx) for step in STEPS]
    for outcome in outcomes:
        say(f"{OK if outcome.ok else FAILED} {outcome.label}：{outcome.text}")
        for detail in outcome.details:
            say(f"    {detail}")
    if not all(o.ok for o in outcomes):
        raise typer.Exit(1)


def config_step(ctx: Context) -> Outcome:
    try:
        ctx.config = load(ctx.opts)
    except ConfigError as exc:
        return Outcome("配置", False, f"{len(exc.problems)} 处问题", exc.problems)
    cfg = ctx.config
    where = str(cfg.source_path) if cfg.source_path else "无配置文件，使用内置默认配置（Maildir + SQLite）"
    return Outcome("配置", True, where)


def rules_step(ctx: Context) -> Outcome:
    if ctx.config is None and ctx.opts.rules is None:
        return Outcome("规则", False, "配置有误，无法确定规则目录")
    folder = Path(ctx.opts.rules) if ctx.opts.rules else ctx.config.rules_dir
    if not folder.is_dir():
        return Outcome("规则", False, f"找不到规则目录 {folder}")
    errors, warnings = check_rules(folder)
    if errors:
        return Outcome("规则", False, f"{folder}：{len(errors)} 处错误", errors)
    try:
        ctx.rules = load_rules(folder)
    except RuleFileError as exc:  # the files changed between the two reads
        return Outcome("规则", False, f"{folder}：{len(exc.problems)} 处错误", exc.problems)
    extra = f"，{len(warnings)} 条提醒（reception-bot rules check 查看）" if warnings else ""
    return Outcome("规则", True, f"{folder}{extra}")


def templates_step(ctx: Context) -> Outcome:
    if ctx.config is None or ctx.rules is None:
        return Outcome("模板", False, "配置或规则有误，无法生成模板")
    results = render_all(Templates(TemplatePath(ctx.config.templates_dir)), ctx.rules)
    broken = [r for r in results if r.problem]
    own = sum(1 for r in results if r.origin == "admin")
    if broken:
        return Outcome("模板", False, f"{len(broken)} 个模板无法生成",
                       [f"{'templates_dir' if r.origin == 'admin' else '内置'}/{r.name}：{r.problem}"
                        for r in broken])
    where = f"，其中 {own} 个来自 {ctx.config.templates_dir}" if own else "（均为内置模板）"
    return Outcome("模板", True, f"{len(results)} 个模板均可生成{where}")


def imap_step(ctx: Context) -> Outcome:
    cfg = ctx.config
    if cfg is None:
        return Outcome("收信", False, "配置有误，无法检查")
    if cfg.imap is None:
        return _probe_inbox("收信", source_for(cfg), f"本地 Maildir {cfg.maildir}", "可读取")
    settings = dataclasses.replace(imap_settings(cfg), retries=0, timeout=TIMEOUT)
    where = f"IMAP {cfg.imap.host}:{cfg.imap.port}（{cfg.imap.security}，{cfg.imap.username}）"
    return _probe_inbox("收信", source_for(cfg, settings), where, "已连接并登录")


def _probe_inbox(label: str, source, where: str, reached: str) -> Outcome:
    try:
        source.open()
        count = source.waiting()
    except (MailboxError, OSError) as exc:
        return Outcome(label, False, f"{where}：连接或登录失败：{exc}")
    finally:
        source.close()
    return Outcome(label, True, f"{where}：{reached}，收件箱 {count} 封")


def smtp_step(ctx: Context) -> Outcome:
    cfg = ctx.config
    if cfg is None:
        return Outcome("发信", False, "配置有误，无法检查")
    if cfg.smtp is None:
        try:
            ensure_maildir(cfg.outbox_maildir)
        except OSError as exc:
            return Outcome("发信", False, f"本地 Maildir {cfg.outbox_maildir}：无法写入：{exc}")
        return Outcome("发信", True, f"本地 Maildir {cfg.outbox_maildir}（不经服务器发出）")
    s = cfg.smtp
    where = f"SMTP {s.host}:{s.port}（{s.security}，{s.username or '不登录'}）"
    transport = SmtpTransport(dataclasses.replace(smtp_settings(cfg), timeout=TIMEOUT))
    try:
        transport.probe()
    except (DeliveryError, OSError) as exc:
        return Outcome("发信", False, f"{where}：连接或登录失败：{exc}")
    return Outcome("发信", True, f"{where}：已连接并登录")


def database_step(ctx: Context) -> Outcome:
    cfg = ctx.config
    if cfg is None:
        return Outcome("数据库", False, "配置有误，无法检查")
    shown = masked(cfg.database_url)
    try:
        before = _revision_or_none(cfg.database_url)
        engine = open_database(cfg.database_url)  # migrates, as `run` does at start
        now = current_revision(engine)
    except Exception as exc:  # noqa: BLE001 - any failure to reach or migrate is this line's
        return Outcome("数据库", False, f"{shown}：无法连接或迁移：{type(exc).__name__}: {exc}")
    if now != head_revision():
        return Outcome("数据库", False, f"{shown}：结构版本 {now}，应为 {head_revision()}")
    done = "" if before == now else "（新建）" if before is None else f"（已从 {before} 迁移）"
    return Outcome("数据库", True, f"{shown}：已连接，结构为最新版本 {now}{done}")


def _revision_or_none(url: str) -> str | None:
    try:
        return current_revision(make_engine(url))
    except Exception:  # noqa: BLE001 - an absent database has no revision yet
        return None


STEPS: list[Callable[[Context], Outcome]] = [config_step, rules_step, templates_step, imap_step,
                                             smtp_step, database_step]
