"""The service: `run` (the daemon, or one pass) and `reprocess` (quarantined mail back in)."""

from __future__ import annotations

import gc

from bot.commands.output import note, say
from bot.commands.progress import working
from bot.intake.quarantine import reprocess
from bot.service.daemon import run_forever, run_once
from bot.service.jobs import Jobs
from bot.service.lifecycle import Lifecycle
from bot.service.runtime import Options, open_runtime, open_source


def run_cmd(opts: Options, once: bool) -> None:
    life = Lifecycle()
    if not once:  # the parse-ahead workers are spawned, not forked: they keep the default handlers
        life.install_signal_handlers()
    rt = open_runtime(opts, daemon=True)  # its workers already starting
    # What is loaded by now (modules, rules, templates) lives as long as the process: the
    # collector's full passes need not walk it again and again during a backlog.
    gc.freeze()
    try:
        source = open_source(rt)
        jobs = Jobs(rt)
        if once:
            result = run_once(rt, source, jobs)
            note(f"本次处理 {result.processed} 封：" + ", ".join(
                f"{k}={v}" for k, v in sorted((result.outcomes or {}).items())))
        else:
            run_forever(rt, source, jobs, life)
    finally:
        rt.close()


def reprocess_cmd(opts: Options) -> None:
    rt = open_runtime(opts, with_transport=False)
    with working("把隔离邮件放回收件箱"):
        restored = reprocess(rt, open_source(rt))
    say(f"已把 {restored} 封隔离邮件放回收件箱")
