"""The global command-line options, in a module of their own: the command line builds them before
it knows its command, and imports no command's dependencies to do so (bot.cli._body)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from bot.intake.early import EarlyReader


@dataclass(frozen=True)
class Options:
    """The global command-line options, given before the command."""

    config: Path | None = None
    rules: Path | None = None
    today: date | None = None
    early_reader: EarlyReader | None = field(default=None, compare=False, repr=False)  # for `run`
