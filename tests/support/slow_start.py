"""A worker task whose module is slow to import, or fails to import, in the spawned worker only
(RB_TEST_WORKER_START = "slow:<parent pid>" or "fail:<parent pid>"): a worker's start-up as a
loaded machine or a broken installation makes it. The parent imports this module normally."""

from __future__ import annotations

import os
import time

from bot.intake.prefetch import Analysis
from bot.intake.reading import analyse

START_SECONDS = 3.0

_MODE, _, _PARENT = os.environ.get("RB_TEST_WORKER_START", "").partition(":")
if _PARENT and int(_PARENT) != os.getpid():  # in a worker, not in the test's own process
    if _MODE == "slow":
        time.sleep(START_SECONDS)
    elif _MODE == "fail":
        raise SystemExit(3)


def worker_start(mode: str) -> str:
    """The value of RB_TEST_WORKER_START for workers of this process."""
    return f"{mode}:{os.getpid()}"


def analyse_after_start(raw: bytes, rules, own_domains, mode: str) -> Analysis:
    return analyse(raw, rules, own_domains, mode)
