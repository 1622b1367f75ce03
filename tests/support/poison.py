"""A mail reader that fails on one marked mail, run in the real worker processes of the sandbox
(a task function is what a worker runs; it must be importable there, hence this module)."""

from __future__ import annotations

import os
import time
import traceback
from functools import partial

from bot.intake.prefetch import FULL, Analysis, Sandbox
from bot.intake.reading import analyse


def analyse_failing_on(marker: bytes, raw: bytes, rules, own_domains, mode: str) -> Analysis:
    """As analyse, but the parser raises on a mail containing `marker` (a parser bug)."""
    if marker in raw and mode == FULL:
        try:
            raise RuntimeError("parser exploded on the poison mail")
        except RuntimeError:
            return Analysis(None, parse_error=traceback.format_exc())
    return analyse(raw, rules, own_domains, mode)


def failing_sandbox(marker: bytes) -> Sandbox:
    return Sandbox(1, task=partial(analyse_failing_on, marker))


def analyse_slowly_on(marker: bytes, raw: bytes, rules, own_domains, mode: str) -> Analysis:
    """As analyse, but a mail containing `marker` takes a minute to read in full."""
    if marker in raw and mode == FULL:

        time.sleep(60)
    return analyse(raw, rules, own_domains, mode)


def analyse_pausing_on(marker: bytes, seconds: float, raw: bytes, rules, own_domains, mode: str) -> Analysis:
    """As analyse, but a mail containing `marker` takes `seconds` longer to read in full."""
    if marker in raw and mode == FULL:
        time.sleep(seconds)
    return analyse(raw, rules, own_domains, mode)


def analyse_greedily_on(marker: bytes, raw: bytes, rules, own_domains, mode: str) -> Analysis:
    """As analyse, but reading a mail containing `marker` in full takes ever more memory."""
    if marker in raw and mode == FULL:
        hoard = []
        while True:
            hoard.append(bytearray(16 * 2**20))
    return analyse(raw, rules, own_domains, mode)


def analyse_dying_on(marker: bytes, raw: bytes, rules, own_domains, mode: str) -> Analysis:
    """As analyse, but the worker process dies (a segfault, the OOM killer) on `marker`."""
    if marker in raw and mode == FULL:

        os._exit(139)
    return analyse(raw, rules, own_domains, mode)
