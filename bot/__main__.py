"""`python -m bot` and the `reception-bot` command. Nothing is imported before the command's first
mail-reading worker is started (bot.intake.early): its imports then run beside the command line's.
The process ends without the interpreter's teardown (bot.startup.leave)."""

import sys
from typing import NoReturn

from bot.intake.early import start_early_reader
from bot.startup import leave, uncollected


def main() -> NoReturn:
    code = None
    try:
        command_line()
    except SystemExit as done:
        code = done.code
    leave(code)


def command_line() -> None:
    """The command line of sys.argv with its early reader; it ends by raising SystemExit."""
    early = start_early_reader(sys.argv[1:])
    with uncollected():
        from bot.cli import main as cli_main  # start-up: its ~0.6 s of imports after the spawn

    cli_main(early)


if __name__ == "__main__":  # not when a spawned worker imports it (the console script does)
    main()
