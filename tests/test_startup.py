"""bot.startup: a process imports with the collector off, then freezes what the imports made and
turns the collector back on. The command line and the mail-reading workers must never be left
without it (a daemon would grow with every reference cycle it makes)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

from bot.intake.prefetch import Sandbox, WorkerLimits
from bot.rules.loader import load_rules
from bot.startup import YOUNG_THRESHOLD, uncollected
from tests.support.worker_modules import analyse_reporting_collector

REPO = Path(__file__).resolve().parents[1]


def _env() -> dict:
    """This environment, with the checkout first on the path (the tests start fresh interpreters)."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))


def test_the_collector_is_off_inside_and_on_again_after_with_the_imports_frozen():
    assert gc.isenabled()
    frozen, thresholds = gc.get_freeze_count(), gc.get_threshold()
    try:
        with uncollected():
            assert not gc.isenabled()
            made = [[i] for i in range(1000)]  # objects made meanwhile, as an import makes them
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen + len(made)
        # the youngest generation is collected less often; the older ones as before
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *thresholds[1:])
        assert YOUNG_THRESHOLD > thresholds[0]
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    thresholds = gc.get_threshold()
    try:
        with uncollected():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_the_command_line_runs_its_command_with_the_collector_on():
    code = ("import gc, sys\nsys.argv = ['reception-bot', '--version']\nfrom bot.__main__ import command_line\n"
            "try:\n    command_line()\nexcept SystemExit:\n    pass\n"
            "print(gc.isenabled(), gc.get_freeze_count() > 10000, gc.get_threshold()[0])")
    env = _env()
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.splitlines()[-1] == f"True True {YOUNG_THRESHOLD}"


def test_a_reading_worker_reads_with_the_collector_on_and_its_imports_frozen():
    box = Sandbox(1, WorkerLimits(30, 512), analyse_reporting_collector)
    try:
        report = box.submit(b"any mail", load_rules(REPO / "rules"), ("bot.rb.test",)).result()
    finally:
        box.close()
    enabled, frozen, young = report.parse_error.split()
    assert enabled == "True"
    assert int(frozen) > 10000  # the reader's modules: openpyxl, the form readers, the rules
    assert int(young) == YOUNG_THRESHOLD


def test_version_and_help_import_no_command_body_nor_the_database_layer():
    code = ("import sys\nsys.argv = ['reception-bot', '{arg}']\nfrom bot.__main__ import command_line\n"
            "try:\n    command_line()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith(('bot.commands.', 'sqlalchemy', 'bot.store'))))")
    env = _env()
    for arg in ("--version", "--help"):
        done = subprocess.run([sys.executable, "-c", code.format(arg=arg)], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=60, check=True)
        assert "reception-bot" in done.stdout
        assert done.stdout.splitlines()[-1] == "[]", arg


def _python(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                          timeout=60)


def test_leave_ends_the_process_as_python_would(tmp_path):
    """What the interpreter's exit does and a command's end relies on is done: the exit handlers,
    the unreachable finalised (a SQLite connection in a reference cycle closes: its -wal goes),
    the streams flushed; and the status is sys.exit's."""
    code = """
import atexit, sqlite3, sys
from bot.startup import leave
atexit.register(lambda: print("handler ran", file=sys.stderr))
class Holder:
    def __init__(self):
        self.me = self
        self.db = sqlite3.connect("x.db")
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE t (a)")
        self.db.commit()
Holder()
print("no newline", end="")
leave({code})
"""
    for given, status in (("None", 0), ("3", 3), ("'错误：配置有误'", 1)):
        done = _python(code.format(code=given), tmp_path)
        assert done.returncode == status, done.stderr
        assert done.stdout == "no newline"
        assert "handler ran" in done.stderr
        assert (tmp_path / "x.db").exists() and not (tmp_path / "x.db-wal").exists()
        (tmp_path / "x.db").unlink()
    assert "错误：配置有误" in done.stderr


def test_leave_waits_for_a_thread_that_is_not_a_daemon(tmp_path):
    code = """
import threading, time
from bot.startup import leave
def late():
    time.sleep(0.3)
    print("thread done", flush=True)
threading.Thread(target=late).start()
leave(4)
"""
    done = _python(code, tmp_path)
    assert done.returncode == 4
    assert done.stdout == "thread done\n"


def test_a_profiled_command_line_gets_python_s_exit_and_its_profile(tmp_path):
    env = _env()
    done = subprocess.run([sys.executable, "-m", "cProfile", "-o", "run.prof", "-m", "bot", "--version"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "run.prof").stat().st_size > 0


def test_the_command_line_ends_with_its_status_through_leave(tmp_path):
    """`python -m bot`: the status of the command (0, and 2 for a usage error), its output whole."""
    env = _env()
    ok = subprocess.run([sys.executable, "-m", "bot", "--version"], cwd=tmp_path, env=env,
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "reception-bot" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "bot", "--log-level", "LOUD", "status"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert "--log-level" in bad.stderr
