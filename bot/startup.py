"""Start-up of a process: its imports, made without the collector.

Imports make tens of thousands of objects that live as long as the process (classes, functions,
tables), and the collections they set off walk all of them again and again: a fifth to a third of
the command line's start-up here (0.7-1.1 s of imports against 0.55-0.74 s without). So the
collector is off while a process imports, and what the imports made is frozen after (gc.freeze):
the collections of the command itself then skip it too.

Imported before everything else (bot.__main__, a reader's first step): only the standard library."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from collections.abc import Iterator


@contextmanager
def uncollected() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
