"""What every command passes explicitly: config, rules, clock, database, templates, mailer."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Callable
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from bot.config import Config
from bot.errors import RuleFileError
from bot.outbox.compose import Templates
from bot.outbox.queue import Sender, SuppressionCache
from bot.outbox.transport import Transport
from bot.rules.loader import load_rules
from bot.rules.model import Ruleset
from bot.store.holders import holder_id
from bot.store.turns import NO_TURNS, NoTurns, WriteTurns

if TYPE_CHECKING:  # the workers are built by the service layer and only used through this field
    from bot.intake.prefetch import Sandbox

log = logging.getLogger(__name__)


@dataclass
class Clock:
    """Wall-clock time in the programme's zone (aware). `--today` sets the day the clock starts on,
    at the real time of day; from then on time runs, across midnight too (a date pinned for good
    sent a long run back 24 hours at midnight, and mail queued just before it was not due again)."""

    tz: ZoneInfo
    fixed_day: date | None = None
    wall: Callable[[ZoneInfo], datetime] = field(default=datetime.now, repr=False, compare=False)
    _shift: timedelta = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        start = self.wall(self.tz).date()
        self._shift = timedelta(0) if self.fixed_day is None else self.fixed_day - start

    def now(self) -> datetime:
        return self.wall(self.tz) + self._shift

    def today(self) -> date:
        return self.now().date()

    def aware(self, stored: datetime) -> datetime:
        """A stored time (UTC) shown in the programme's zone."""
        return stored.astimezone(self.tz)


@dataclass
class RulesHolder:
    """The rules in force. A broken edit keeps the last good rules and reports the problems once."""

    rules_dir: Path
    current: Ruleset
    stamp: tuple = ()
    last_error: str = ""

    @classmethod
    def load(cls, rules_dir: Path) -> "RulesHolder":
        return cls(rules_dir, load_rules(rules_dir), _stamp(rules_dir))

    def reload_if_changed(self) -> str | None:
        """Returns the problem text when a changed rule set was refused (new problem only)."""
        stamp = _stamp(self.rules_dir)
        if stamp == self.stamp:
            return None
        self.stamp = stamp
        try:
            self.current = load_rules(self.rules_dir)
        except RuleFileError as exc:
            text = "\n".join(exc.problems)
            log.error("RULES-REFUSED keeping the last good rules:\n%s", text)
            fresh, self.last_error = text != self.last_error, text
            return text if fresh else None
        self.last_error = ""
        log.info("RULES-RELOADED from %s", self.rules_dir)
        return None


def _stamp(rules_dir: Path) -> tuple:
    try:
        return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size)
                            for p in rules_dir.iterdir() if p.is_file()))
    except OSError:
        return ()


@dataclass
class Runtime:
    config: Config
    rules: RulesHolder
    engine: Engine
    templates: Templates
    clock: Clock
    transport: Transport | None = None  # None for commands that send nothing
    extra_transports: list[Transport] = field(default_factory=list)  # more SMTP connections
    holder_id: str = field(default_factory=holder_id)
    analyser: Sandbox | None = None  # the workers that read mail under the per-mail limits
    turns: WriteTurns | NoTurns = NO_TURNS  # SQLite's write lock, shared fairly by this process's threads
    suppressions: SuppressionCache = field(default_factory=SuppressionCache)  # for the intake's sessions

    @property
    def ruleset(self) -> Ruleset:
        return self.rules.current

    @property
    def sender(self) -> Sender:
        p = self.ruleset.programme
        return Sender(address=p.mailbox, name=self.config.from_name,
                      domain=self.config.message_id_domain,
                      cap=self.config.rate_limit_per_recipient,
                      window=timedelta(hours=self.config.rate_window_hours))

    @property
    def admin_emails(self) -> list[str]:
        return list(self.ruleset.programme.admin_emails)

    def today(self) -> date:
        return self.clock.today()

    def now(self) -> datetime:
        return self.clock.now()

    def close(self) -> None:
        """Stop the workers and close the extra SMTP connections (the daemon's, at exit)."""
        if self.analyser is not None:
            self.analyser.close()
        for transport in self.extra_transports:
            transport.close()

