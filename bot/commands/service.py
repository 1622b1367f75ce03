"""The service: `run` (the daemon, or one pass) and `reprocess` (quarantined mail back in)."""

from __future__ import annotations

from bot.commands.output import note, say
from bot.intake.quarantine import reprocess
from bot.service.daemon import run_forever, run_once
from bot.service.jobs import Jobs
from bot.service.runtime import Options, open_runtime, open_source


def run_cmd(opts: Options, once: bool) -> None:
    rt = open_runtime(opts, daemon=True)
    try:
        source = open_source(rt)
        jobs = Jobs(rt)
        if once:
            result = run_once(rt, source, jobs)
            note(f"processed {result.processed}: " + ", ".join(
                f"{k}={v}" for k, v in sorted((result.outcomes or {}).items())))
        else:
            run_forever(rt, source, jobs)
    finally:
        rt.close()


def reprocess_cmd(opts: Options) -> None:
    rt = open_runtime(opts, with_transport=False)
    say(f"restored {reprocess(rt, open_source(rt))} message(s)")
