"""Start-up of a process: its imports, made without the collector.

Imports make tens of thousands of objects that live as long as the process (classes, functions,
tables), and the collections they set off walk all of them again and again: a fifth to a third of
the command line's start-up here (0.7-1.1 s of imports against 0.55-0.74 s without). So the
collector is off while a process imports, and what the imports made is frozen after (gc.freeze):
the collections of the command itself then skip it too.

After the imports the youngest generation is collected every 20,000 new objects instead of 700.
A backlog makes and drops objects by the thousand per mail (messages, table rows, documents), and
at 700 the intake's process collected ~330 times and its middle generation ~30 times per 500 mails:
150-180 ms of the main thread's CPU. At 20,000: ~21 and 1, 40-65 ms. The garbage that waits for a
collection is a few megabytes at most (bench_memory: 181.0 MB peak for 10,000 mails, 178.2 before).

Imported before everything else (bot.__main__, a reader's first step): only the standard library."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from collections.abc import Iterator

YOUNG_THRESHOLD = 20_000  # new objects between two collections of the youngest generation


@contextmanager
def uncollected() -> Iterator[None]:
    """Imports inside run without the collector; after them, what they made is frozen, the young
    generation gets YOUNG_THRESHOLD, and the collector is on again if it was (twice is harmless)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
        if enabled:
            gc.enable()
