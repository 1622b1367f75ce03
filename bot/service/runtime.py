"""Wiring: the command-line options and the config become the objects every command is given
(config, rules, clock, database, templates, mailer, mailbox). Nothing else builds them."""

from __future__ import annotations

import logging
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.config import Config, load_config
from bot.context import Clock, RulesHolder, Runtime
from bot.defaults import TemplatePath
from bot.errors import ConfigError
from bot.intake.early import EarlyReader
from bot.intake.prefetch import Sandbox, WorkerLimits
from bot.mailbox.base import Source
from bot.mailbox.imap import ImapSettings, ImapSource, imap_settings
from bot.mailbox.maildir import MaildirSource
from bot.outbox.compose import Templates
from bot.outbox.transport import (
    MaildirTransport,
    SmtpSettings,
    SmtpTransport,
    Transport,
)
from bot.rules.loader import load_rules
from bot.rules.model import Ruleset
from bot.service.options import Options
from bot.store.db import open_database, private_umask
from bot.store.turns import turns_for

log = logging.getLogger(__name__)


def load(opts: Options) -> Config:
    return load_config(opts.config)


def rules_dir(opts: Options) -> Path:
    return Path(opts.rules) if opts.rules else load(opts).rules_dir


def load_ruleset(opts: Options) -> Ruleset:
    path = rules_dir(opts)
    if not path.is_dir():
        raise ConfigError(f"找不到规则目录 {path}（配置项 rules_dir 或 --rules）")
    return load_rules(path)


def clock_for(opts: Options, rules: Ruleset) -> Clock:
    return Clock(ZoneInfo(rules.programme.timezone or "Asia/Shanghai"), opts.today)


def open_runtime(opts: Options, with_transport: bool = True, daemon: bool = False) -> Runtime:
    """Everything a command that changes state needs; migrations run here. `daemon` adds the
    extra reading workers and SMTP connections that only a long run uses, and starts the
    workers first."""
    private_umask()
    cfg = load(opts)
    analyser = open_sandbox(cfg, cfg.parse_workers if daemon else 1, opts.early_reader)
    if daemon:  # the workers' start (~0.2-0.4 s of imports) runs beside the rest of the start
        analyser.warm()
    try:
        holder = RulesHolder.load(rules_dir(opts))
        engine = open_database(cfg.database_url)
        transport = open_transport(cfg) if with_transport else None
        extra: list[Transport] = []
        if daemon and cfg.smtp is not None:  # a Maildir outbox gains nothing from a second writer
            extra = [open_transport(cfg) for _ in range(cfg.smtp.connections - 1)]
        return Runtime(config=cfg, rules=holder, engine=engine,
                       templates=Templates(TemplatePath(cfg.templates_dir)),
                       clock=clock_for(opts, holder.current), transport=transport,
                       extra_transports=extra, turns=turns_for(engine.dialect.name), analyser=analyser)
    except BaseException:
        analyser.close()
        raise


def open_sandbox(cfg: Config, workers: int, early: EarlyReader | None = None) -> Sandbox:
    """The worker processes that read mail under the per-mail limits (started on first use; the
    first is `early` when the command line started one)."""
    return Sandbox(workers, WorkerLimits.of(cfg), early=early)


def open_transport(cfg: Config) -> Transport:
    if cfg.smtp is None:
        return MaildirTransport(cfg.outbox_maildir)
    return SmtpTransport(smtp_settings(cfg))


def smtp_settings(cfg: Config) -> SmtpSettings:
    s = cfg.smtp
    return SmtpSettings(host=s.host, port=s.port, security=s.security, username=s.username,
                        password=s.password, cafile=s.cafile, sent_copy=s.sent_copy,
                        confirm_grace=float(s.sent_copy_grace_seconds))


def open_source(rt: Runtime) -> Source:
    return source_for(rt.config)


def source_for(cfg: Config, imap: ImapSettings | None = None) -> Source:
    """The inbox of the config: IMAP (with `imap` instead of the config's settings, e.g. fewer
    retries for `check`) or the embedded Maildir."""
    if cfg.imap is None:
        return MaildirSource(cfg.maildir)
    return ImapSource(imap or imap_settings(cfg))
