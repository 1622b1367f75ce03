"""A worker task that answers with the modules its worker process has imported, instead of reading
the mail (a task function is what a worker runs; it must be importable there, hence this module).
The list travels back in `parse_error`, the one free-text field of an Analysis."""

from __future__ import annotations

import sys

from bot.intake.prefetch import Analysis


def analyse_listing_modules(raw: bytes, rules, own_domains, mode: str) -> Analysis:
    return Analysis(None, parse_error="\n".join(sorted(sys.modules)))


def analyse_reporting_collector(raw: bytes, rules, own_domains, mode: str) -> Analysis:
    """The worker's collector: whether it is on, how many objects its start-up froze, and how many
    new objects it lets pass between two collections of the youngest generation."""
    import gc

    return Analysis(None, parse_error=f"{gc.isenabled()} {gc.get_freeze_count()} {gc.get_threshold()[0]}")
