"""`python -m bot`, except that its main process dies at once (as under kill -9, the OOM killer or
a watchdog) whenever it handles a mail from the address in RB_TEST_DIE_ON: after the mail was
claimed, before anything is recorded. Run as a script, with the repository on PYTHONPATH."""

import os
import sys

import bot.intake.pipeline as pipeline
from bot.cli import main

MARK = os.environ["RB_TEST_DIE_ON"]
_decide = pipeline.decide


def dying_decide(intake, *args, **kwargs):
    if intake.sender == MARK:
        sys.stderr.flush()
        os._exit(137)
    return _decide(intake, *args, **kwargs)


if __name__ == "__main__":  # not in the reading workers, which import this script again
    pipeline.decide = dying_decide
    main()
