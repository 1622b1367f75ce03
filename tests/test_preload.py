"""The tests' preloaded `python -m bot` (tests.support.preload) behaves as the real one: same output
and exit codes, the command's own working directory, the early reader spawned, SQLite closed at
exit, and a command that overstays its timeout is killed without taking the parent with it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import preload
from tests.support.preload import run_bot

pytestmark = pytest.mark.skipif(not preload.ENABLED, reason="RB_TEST_PRELOAD=0: every call is real")


def real(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_output_and_exit_codes_are_those_of_python_m_bot(tmp_path):
    for args in (["--version"], ["--rules", str(tmp_path / "none"), "status"], ["no-such-command"]):
        want, got = real(args, tmp_path), run_bot(args, cwd=tmp_path)
        assert (got.returncode, got.stdout, got.stderr) == (want.returncode, want.stdout, want.stderr)
    assert run_bot(["no-such-command"], cwd=tmp_path).returncode == 2


def test_a_run_in_its_own_directory_ends_as_a_real_one(tmp_path):
    """`init` then `run --once` on the embedded default: the files land in the command's directory,
    the early reader (a spawned worker) starts and stops, and the same files are left (SQLite's
    -wal and -shm among them, or not, as after the real command)."""
    outcomes = []
    for name, runner in (("real", real), ("preloaded", lambda a, cwd: run_bot(a, cwd=cwd))):
        root = tmp_path / name
        root.mkdir()
        assert runner(["init", "."], root).returncode == 0
        done = runner(["--today", "2026-12-01", "run", "--once"], root)
        assert done.returncode == 0, done.stderr
        files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()
                       and "archive" not in p.parts)
        status = runner(["--today", "2026-12-01", "status", "--json"], root)
        outcomes.append((files, status.returncode, done.stdout))
    assert outcomes[0] == outcomes[1]


def test_a_command_past_its_timeout_is_killed_and_the_next_one_runs(tmp_path):
    assert run_bot(["init", "."], cwd=tmp_path).returncode == 0
    with pytest.raises(subprocess.TimeoutExpired):
        run_bot(["--today", "2026-12-01", "run"], cwd=tmp_path, timeout=3)  # the daemon never ends
    again = run_bot(["--version"], cwd=tmp_path)
    assert again.returncode == 0 and again.stdout.strip()
