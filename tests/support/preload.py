"""`python -m bot` for the tests, without paying its imports on every call.

A test run starts the command line some three hundred times, and each start spends ~1 s of CPU
importing the same modules (the database layer, pydantic, the documents) before it does anything;
on two cores that was a fifth of the suite. A *preloaded parent* imports them once, then forks one
child per command. The child is still its own process, in the test's working directory and with the
test's environment and arguments, and it runs the module exactly as `python -m bot` does (runpy,
`__main__` set, the early reader spawned, atexit handlers run, the exit code returned); only the
interpreter's start and the imports are shared. The daemon, the kill -9 and the start-up tests keep
starting the real `python -m bot`. `RB_TEST_PRELOAD=0` turns this off (every call then starts
`python -m bot`).

One parent serves one call at a time; calls made at once (threads) get parents of their own.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from bot.startup import exit_now, exit_status

REPO = Path(__file__).resolve().parents[2]
ENABLED = os.environ.get("RB_TEST_PRELOAD", "1") != "0"


def run_bot(args: list[str], *, cwd: Path | str, env: dict | None = None, timeout: float = 120,
            text: bool = True) -> subprocess.CompletedProcess:
    """What `subprocess.run([python, "-m", "bot", *args], capture_output=True, …)` returns."""
    cmd = [sys.executable, "-m", "bot", *args]
    environ = dict(os.environ if env is None else env)
    if not ENABLED:
        return subprocess.run(cmd, cwd=cwd, env=environ, capture_output=True, text=text, timeout=timeout)
    parent = _POOL.take()
    try:
        code, out, err = parent.run(list(args), str(cwd), environ, timeout)
    except BaseException as failed:
        parent.discard()  # its answers may be out of step with its requests now: never reused
        if isinstance(failed, subprocess.TimeoutExpired):
            failed.cmd = cmd
        raise
    _POOL.give_back(parent)
    if text:
        out, err = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    return subprocess.CompletedProcess(cmd, code, out, err)


class _Parent:
    """The client end of one preloaded parent process."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from tests.support.preload import serve; serve()"],
            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=dict(os.environ))
        self.outdir = tempfile.mkdtemp(prefix="rb-preload-")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def run(self, args: list[str], cwd: str, env: dict, timeout: float) -> tuple[int, bytes, bytes]:
        out, err = Path(self.outdir, "out"), Path(self.outdir, "err")
        request = {"args": args, "cwd": cwd, "env": env, "out": str(out), "err": str(err)}
        self.proc.stdin.write(json.dumps(request).encode() + b"\n")
        self.proc.stdin.flush()
        pid = self._answer(30)["pid"]
        try:
            code = self._answer(timeout)["code"]
        except subprocess.TimeoutExpired:
            os.kill(pid, signal.SIGKILL)
            self._answer(30)
            raise
        return code, out.read_bytes(), err.read_bytes()

    def _answer(self, timeout: float) -> dict:
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            raise subprocess.TimeoutExpired("python -m bot", timeout)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the preloaded parent ended (exit {self.proc.wait()})")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()  # the parent reads the end of its requests and exits
        self.proc.wait(timeout=10)
        shutil.rmtree(self.outdir, ignore_errors=True)

    def discard(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)
        shutil.rmtree(self.outdir, ignore_errors=True)


class _Pool:
    def __init__(self) -> None:
        self.idle: list[_Parent] = []
        self.lock = threading.Lock()

    def take(self) -> _Parent:
        with self.lock:
            while self.idle:
                parent = self.idle.pop()
                if parent.alive():
                    return parent
        return _Parent()

    def give_back(self, parent: _Parent) -> None:
        if parent.alive():
            with self.lock:
                self.idle.append(parent)

    def close(self) -> None:
        with self.lock:
            parents, self.idle = self.idle, []
        for parent in parents:
            parent.close()


_POOL = _Pool()
atexit.register(_POOL.close)


# ------------------------------------------------------------------ the preloaded parent process

def serve() -> None:
    """Import what `python -m bot` imports, then fork one child per request read from stdin."""
    import importlib
    import pkgutil

    import bot.cli  # noqa: F401  (what `python -m bot` imports: the children no longer pay for it)
    import bot.commands
    import bot.intake.early  # noqa: F401

    for command in pkgutil.iter_modules(bot.commands.__path__):  # each command's body (bot.cli._body)
        importlib.import_module(f"bot.commands.{command.name}")

    gc.freeze()  # what the imports made stays out of the children's collections (and their pages shared)

    requests = os.fdopen(os.dup(0), "rb")
    answers = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    for line in requests:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            requests.close()
            answers.close()
            exit_now(_child(request))
        answers.write(json.dumps({"pid": pid}).encode() + b"\n")
        answers.flush()
        _, status = os.waitpid(pid, 0)
        answers.write(json.dumps({"code": _returncode(status)}).encode() + b"\n")
        answers.flush()


def _returncode(status: int) -> int:
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _child(request: dict) -> int:
    """Become `python -m bot <args>` in the request's directory and environment; its exit code."""
    import runpy
    import time
    import traceback

    try:
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        time.tzset()
        sys.path[0] = os.getcwd()  # as `python -m` sets it
        for fd, path in ((1, request["out"]), (2, request["err"])):
            target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(target, fd)
            os.close(target)
        sys.argv = ["-m", *request["args"]]
        runpy.run_module("bot", run_name="__main__", alter_sys=True)
        return 0
    except SystemExit as done:
        return exit_status(done.code)
    except BaseException:  # noqa: BLE001  (as the interpreter does: the traceback, then exit 1)
        traceback.print_exc()
        return 1
