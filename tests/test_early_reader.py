"""bot.intake.early: `run` starts its first mail-reading worker before the command line's imports,
and the sandbox of the configuration takes it over. Real spawned processes; nothing is mocked."""

from __future__ import annotations

import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
import typer

from bot.cli import app
from bot.intake.early import VALUED_OPTIONS, command_of, start_early_reader
from bot.intake.prefetch import Sandbox, WorkerLimits
from bot.rules.loader import load_rules
from bot.samples import FormValues, form_xlsx, registration_mail
from tests.support.poison import analyse_failing_on

REPO = Path(__file__).resolve().parents[1]
DOMAINS = ("bot.rb.test",)


def form_mail(subject: str = "报名") -> bytes:
    return registration_mail(sender="ent1@corp.test", to="intake@rb.test", subject=subject,
                             message_id=f"{subject}@corp.test",
                             attachments=[("登记表.xlsx", form_xlsx(FormValues()))])


def address_space_limit(pid: int) -> int:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max address space"):
            return int(line.split()[3])
    raise AssertionError("no address-space line")


@pytest.mark.parametrize(("argv", "command"), [
    (["run", "--once"], "run"),
    (["--config", "/etc/rb/config.toml", "--today", "2026-12-01", "--log-level", "DEBUG", "run"], "run"),
    (["--config=/etc/rb/config.toml", "run"], "run"),
    (["--today", "run", "status"], "status"),  # `run` is the option's value here
    (["--config", "run"], None),
    (["run", "--help"], None),
    (["--help"], None),
    ([], None),
    (["cases", "list", "--overdue"], "cases"),
])
def test_the_command_is_told_from_the_arguments_as_the_command_line_parses_them(argv, command):
    assert command_of(argv) == command


def test_the_options_taking_a_value_are_the_command_lines():
    root = typer.main.get_command(app)
    valued = {name for param in root.params if not param.is_flag and not param.count
              for name in param.opts}
    assert VALUED_OPTIONS == valued


def test_only_run_starts_a_reader():
    assert start_early_reader(["--today", "2026-12-01", "status"]) is None
    assert start_early_reader(["run", "--help"]) is None


def test_starting_the_command_imports_nothing_heavy_before_the_reader():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    code = "import sys, bot.__main__; print('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=60, check=True)
    ours = {m for m in done.stdout.splitlines() if m.split(".")[0] in ("bot", "sqlalchemy", "sqlmodel", "typer")}
    assert ours == {"bot", "bot.__main__", "bot.intake", "bot.intake.early", "bot.startup"}


def test_the_sandbox_takes_the_early_reader_over_and_gives_it_its_memory_limit():
    rules = load_rules(REPO / "rules")
    early = start_early_reader(["--today", "2026-12-01", "run", "--once"])
    assert early is not None
    limits = WorkerLimits(seconds=30, memory_mb=700)
    box = Sandbox(1, limits, early=early)
    try:
        got = box.submit(form_mail(), rules, DOMAINS).result()
        assert [w.process.pid for w in box._pool] == [early.process.pid]
        assert address_space_limit(early.process.pid) == limits.address_space
    finally:
        box.close()
    assert got.msg.subject == "报名" and got.intake[0].form is not None
    assert not early.process.is_alive()


def test_a_sandbox_with_a_task_of_its_own_stops_the_early_reader_and_spawns_its_own():
    rules = load_rules(REPO / "rules")
    early = start_early_reader(["run"])
    box = Sandbox(1, task=partial(analyse_failing_on, b"BOOM"), early=early)
    try:
        got = box.submit(form_mail("BOOM"), rules, DOMAINS).result()
        assert box._pool[0].process.pid != early.process.pid
    finally:
        box.close()
    assert "parser exploded" in got.parse_error  # read by the sandbox's own task
    assert not early.process.is_alive()


def test_a_reader_never_used_is_stopped_with_the_sandbox():
    early = start_early_reader(["run", "--once"])
    box = Sandbox(1, early=early)
    box.close()
    assert not early.process.is_alive()
    assert box.early is None
