"""Start-up and end of a process: its imports, made without the collector; its exit, without the
interpreter's teardown.

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

At the end, once a command has returned, what it leaves behind is already written: the database
committed and closed, the mailbox logged out, the workers stopped. What Python does after that is
free every object one by one and unload every module: ~50 ms at the end of a `run --once` over a
500-mail backlog (the last thing before the process is gone, nothing else running meanwhile), and
as much after every command a cron job or a script starts. `leave` ends the process as Python
would, less that teardown: the exit handlers the libraries registered (logging's flush,
multiprocessing's children), the unreachable finalised (a SQLite connection closes and removes its
-wal and -shm files), the standard streams flushed, then os._exit.

Imported before everything else (bot.__main__, a reader's first step): only the standard library."""

from __future__ import annotations

import atexit
import gc
import os
import sys
import threading
from contextlib import contextmanager
from collections.abc import Iterator
from typing import NoReturn

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


def leave(code: object = None) -> NoReturn:
    """End the process with `code` as `sys.exit(code)` would, without tearing the interpreter down.

    Python's own exit is taken while a thread that is not a daemon still runs (it waits for it),
    and under a profiler or a tracer (`python -m cProfile`, coverage: they write at that exit)."""
    waiting = any(t.is_alive() and not t.daemon for t in threading.enumerate()
                  if t is not threading.current_thread())
    if waiting or sys.getprofile() is not None or sys.gettrace() is not None:
        raise SystemExit(code)
    exit_now(exit_status(code))


def exit_now(status: int) -> NoReturn:
    """The end of `leave`, unconditional (a forked child must never return to its parent's code):
    the exit handlers, the unreachable finalised, the streams flushed, then os._exit(status)."""
    try:
        atexit._run_exitfuncs()  # the handlers Python's exit runs; public only through that exit
        gc.collect()
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    finally:
        os._exit(status)


def exit_status(code: object) -> int:
    """The status `sys.exit(code)` ends a process with: None 0, an int itself, anything else is
    printed to stderr and gives 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1
