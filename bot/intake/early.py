"""The first mail-reading worker of `run`, started before the command line's own imports.

The command line imports the database layer, the outbox and the documents (~0.6 s here), and a
spawned worker imports the mail and form readers (~0.2-0.4 s). Started one after the other, the first
mail waits for both; started at once, the worker's imports run on the second core while the main
process makes its own, and it is ready when the first mail is fetched (a 500-mail backlog answered
~0.3 s sooner, a daemon's first mail too). The sandbox of the configuration takes the reader over
(bot.intake.prefetch.Sandbox.early) and tells it its memory limit then.

This module is imported before everything else, so it imports nothing of the bot at its top."""

from __future__ import annotations

import multiprocessing
import os
import threading
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

from bot.startup import uncollected

if TYPE_CHECKING:
    from bot.intake.ahead import HeadStart

# The global options that take a value (bot.cli.main_options): the word after them is not the
# command. tests/test_early_reader.py keeps this list equal to the command line's.
VALUED_OPTIONS = frozenset({"--config", "--rules", "--today", "--log-level", "--log-format"})
HELP = frozenset({"--help", "-h", "--version"})


@dataclass
class EarlyReader:
    process: multiprocessing.Process
    conn: Connection
    _sending: threading.Thread | None = field(default=None, repr=False)

    def head_start(self, config: Path | None, rules: Path | None) -> None:
        """Send the reader what it needs to read the first mails of the inbox on its own while the
        command line goes on importing (bot.intake.ahead). Anything wrong with the configuration
        is left to the command line, which reports it: then there is simply no head start.

        Sent from a thread: rules larger than the pipe's buffer (a long roster) would otherwise
        hold the command line until the reader's own imports are done and it reads them."""
        with uncollected():
            start = head_start_of(config, rules)
        if start is not None:
            self._sending = threading.Thread(target=self._send, args=(start,), name="head-start",
                                             daemon=True)
            self._sending.start()

    def sent(self) -> None:
        """Wait until the head start is in the pipe: nothing else may be written to it before."""
        if self._sending is not None:
            self._sending.join()

    def _send(self, start: HeadStart) -> None:
        try:
            self.conn.send(start)
        except OSError:  # it died: the sandbox sees that when it takes it over
            pass

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


def command_of(argv: list[str]) -> str | None:
    """The command the arguments name (`run`, `status`, …), or None (none, or help is asked)."""
    if HELP & set(argv):
        return None
    words = iter(argv)
    for word in words:
        if word in VALUED_OPTIONS:
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def start_early_reader(argv: list[str]) -> EarlyReader | None:
    """A reader for `run` (the only command that reads a backlog), else None."""
    if command_of(argv) != "run":
        return None
    ctx = multiprocessing.get_context("spawn")  # as bot.intake.prefetch starts its workers
    parent_end, child_end = ctx.Pipe()
    process = ctx.Process(target=serve_reader, args=(child_end, os.getpid()), name="mail-reader", daemon=True)
    process.start()
    child_end.close()
    return EarlyReader(process, parent_end)


def serve_reader(conn: Connection, parent: int, task=None) -> None:
    """A reader process's first step (the early one's and the sandbox's): its imports, made here
    without the collector (bot.startup), and then the reader's loop; `task` None reads mail as
    the intake does (bot.intake.reading.analyse)."""
    with uncollected():
        from bot.intake.prefetch import serve  # start-up: in the worker, not the parent
        from bot.intake.reading import analyse  # start-up: the readers load in the worker only

    serve(conn, parent, task or analyse)


def head_start_of(config: Path | None, rules: Path | None) -> HeadStart | None:
    """The head start for the configuration at `config` (rules from `rules` when given), or None:
    no [imap] section (the embedded Maildir is read in the command's own process), or a
    configuration the command line will refuse."""
    # The command line's own imports, made a little sooner: nothing here is loaded twice.
    import pickle

    from bot.config import load_config  # start-up: the command's, before its body
    from bot.errors import BotError  # start-up: the command's, before its body
    from bot.intake.ahead import HeadStart  # start-up: the command's, before its body
    from bot.intake.prefetch import WorkerLimits  # start-up: the command's, before its body
    from bot.mailbox.imap import imap_settings  # start-up: the command's, before its body
    from bot.rules.loader import load_rules  # start-up: the command's, before its body

    try:
        cfg = load_config(config)
        rules_dir = Path(rules) if rules else cfg.rules_dir
        if cfg.imap is None or not rules_dir.is_dir():
            return None
        return HeadStart(imap_settings(cfg), pickle.dumps(load_rules(rules_dir)), cfg.own_domains,
                         WorkerLimits.of(cfg))
    except (BotError, OSError, ValueError):
        return None
