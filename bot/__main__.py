"""`python -m bot` and the `reception-bot` command. Nothing is imported before the command's first
mail-reading worker is started (bot.intake.early): its imports then run beside the command line's."""

import sys

from bot.intake.early import start_early_reader
from bot.startup import uncollected


def main() -> None:
    early = start_early_reader(sys.argv[1:])
    with uncollected():
        from bot.cli import main as command_line  # start-up: its ~0.6 s of imports after the spawn

    command_line(early)


if __name__ == "__main__":  # not when a spawned worker imports it (the console script does)
    main()
