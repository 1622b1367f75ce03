"""The operator's command line: help on everything, --version, completion, logging options, `init`,
`check` and `status` on the embedded default, and a daemon that stops cleanly on SIGTERM and speaks
systemd's notify protocol (a real datagram socket)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bot.cli import app
from bot.commands import progress
from bot.commands.init import init_cmd
from bot.errors import InputError
from bot.mailbox.maildir import MaildirSink
from bot.service.systemd import Notifier
from bot.version import VERSION
from tests.support.preload import run_bot

REPO = Path(__file__).resolve().parents[1]


def cli(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RECEPTION_BOT")}
    environ["PYTHONPATH"] = str(REPO)
    return run_bot(list(args), cwd=cwd, env={**environ, **(env or {})})


# ---------------------------------------------------------------- help, version, completion


def commands(group=None, path=()):
    group = group or typer.main.get_command(app)
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from commands(command, path + (name,))
        else:
            yield " ".join(path + (name,)), command


def test_every_command_and_option_has_chinese_help_with_an_example():
    missing = []
    for name, command in commands():
        if "示例：reception-bot" not in (command.help or ""):
            missing.append(f"{name}: no example in its help")
        for param in command.params:
            if param.name not in ("ctx",) and not getattr(param, "help", None):
                missing.append(f"{name} {param.name}: no help")
    root = typer.main.get_command(app)
    for param in root.params:
        if param.name not in ("help",) and not param.help:
            missing.append(f"global {param.name}: no help")
    assert missing == []


def test_bare_command_prints_the_help_and_no_error(tmp_path):
    done = cli(tmp_path)
    assert done.returncode == 0
    assert "Usage" in done.stdout and "check" in done.stdout
    assert "错误" not in done.stderr and "error" not in done.stderr.lower()


def test_version_and_completion(monkeypatch):
    runner = CliRunner()
    assert runner.invoke(app, ["--version"]).stdout.strip() == f"reception-bot {VERSION}"
    # Typer detects the user's shell from the process tree (here: whatever started the tests);
    # its own switch for tests makes it take the shell named on the command line instead.
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    script = runner.invoke(app, ["--show-completion", "bash"])
    assert script.exit_code == 0 and "complete" in script.stdout, (script.output, script.exc_info)


def test_a_wrong_log_level_is_a_usage_error(tmp_path):
    done = cli(tmp_path, "--log-level", "LOUD", "check")
    assert done.returncode == 2 and done.stderr.startswith("错误：--log-level")


# ---------------------------------------------------------------- init, check, status


def test_init_writes_a_config_and_rules_and_overwrites_nothing(tmp_path):
    """(`init` then `check` in the folder run in test_wheel.py, from the installed wheel.)"""
    init_cmd(tmp_path / "site")
    config = (tmp_path / "site" / "config.toml").read_text(encoding="utf-8")
    assert all(line.startswith("#") or not line.strip() for line in config.splitlines())  # all commented
    assert "# [smtp]" in config and "# connections = 4" in config
    assert sorted(p.name for p in (tmp_path / "site" / "rules").iterdir()) == sorted(
        p.name for p in (REPO / "rules").iterdir())
    with pytest.raises(InputError, match="已存在"):
        init_cmd(tmp_path / "site")


def test_check_names_each_failing_item_and_exits_1(tmp_path):
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    sessions = tmp_path / "rules" / "sessions.toml"
    sessions.write_text(sessions.read_text(encoding="utf-8").replace("capacity = 8", "capacity = \"8\"", 1),
                        encoding="utf-8")
    (tmp_path / "templates" / "mail").mkdir(parents=True)
    (tmp_path / "templates" / "mail" / "unit_ack.txt.j2").write_text("Subject: {{ oops\n", encoding="utf-8")
    done = cli(tmp_path, "check")
    assert done.returncode == 1
    out = done.stdout
    assert "✗ 规则" in out and "sessions.toml:" in out and "“capacity”应为正整数，而不是字符串" in out
    assert "✗ 模板：配置或规则有误" in out  # templates need the rules


def test_status_reads_the_state_and_logs_can_be_json(tmp_path):
    (tmp_path / "config.toml").write_text(f'rules_dir = "{REPO / "rules"}"\n', encoding="utf-8")
    inbox = MaildirSink(tmp_path / "storage" / "mail")
    inbox.deliver((REPO / "samples" / "demo" / "01-accepted-foxmail-xlsx.eml").read_bytes())
    ran = cli(tmp_path, "--log-format", "json", "--today", "2026-12-01", "run", "--once")
    assert ran.returncode == 0, ran.stderr
    records = [json.loads(line) for line in ran.stderr.splitlines() if line.startswith("{")]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert any(r["message"].startswith("ACCEPTED <") for r in records)

    inbox.deliver((REPO / "samples" / "demo" / "02-deferred-docx.eml").read_bytes())  # not read yet
    after = json.loads(cli(tmp_path, "--today", "2026-12-01", "status", "--json").stdout)
    assert set(after) == {"daemon", "last_fetch", "inbox", "outbox", "quarantined", "held_actions", "reminders"}
    assert after["daemon"]["alive"] is False and after["inbox"] == 1 and after["last_fetch"]["fetched"] == 1
    assert after["outbox"] == {"pending": 0, "sending": 0, "failed": 0, "held_back": 0, "delayed": 0}
    assert after["quarantined"] == 0 and after["held_actions"] == 0
    assert after["reminders"]["next_day"] == "2026-12-02" and after["reminders"]["next"] == []
    human = cli(tmp_path, "--today", "2026-12-01", "status").stdout
    assert "守护进程" in human and "未运行" in human and "取回 1 封" in human and "1 封待处理" in human


# ---------------------------------------------------------------- the daemon and systemd


@pytest.fixture
def notify_socket():
    """A datagram socket in the abstract namespace, as systemd's NOTIFY_SOCKET may be."""
    name = f"rb-notify-{os.getpid()}-{time.monotonic_ns()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(30)
    yield sock, f"@{name}"
    sock.close()


def receive_until(sock, wanted: str, got: list[str]) -> list[str]:
    while not any(wanted in message for message in got):
        got.append(sock.recv(4096).decode())
    return got


def test_notifier_speaks_to_a_real_socket(tmp_path, notify_socket):
    sock, address = notify_socket
    ticks = iter([0.0, 0.5, 1.2])
    notifier = Notifier({"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "2000000"}, clock=lambda: next(ticks))
    assert notifier.watchdog_interval == 1.0
    notifier.ready("serving")
    notifier.ping()  # at 0.0: sent
    notifier.ping()  # at 0.5: too soon
    notifier.ping()  # at 1.2: sent
    notifier.stopping()
    got = [sock.recv(4096).decode() for _ in range(4)]
    assert got == ["READY=1\nSTATUS=serving", "WATCHDOG=1", "WATCHDOG=1", "STOPPING=1"]
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as plain:
        plain.bind(str(path))
        Notifier({"NOTIFY_SOCKET": str(path)}).ready()
        assert plain.recv(64) == b"READY=1"
    assert Notifier({}).active is False and Notifier({"WATCHDOG_USEC": "1000"}).watchdog_interval is None


def test_sigterm_while_idle_stops_at_once_and_tells_systemd(tmp_path, notify_socket):
    sock, address = notify_socket
    (tmp_path / "config.toml").write_text(f'rules_dir = "{REPO / "rules"}"\npoll_seconds = 30\n', encoding="utf-8")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RECEPTION_BOT")}
    environ.update(PYTHONPATH=str(REPO), NOTIFY_SOCKET=address, WATCHDOG_USEC="2000000")
    proc = subprocess.Popen([sys.executable, "-m", "bot", "--today", "2026-12-01", "run"], cwd=tmp_path,
                            env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        got = receive_until(sock, "READY=1", [])
        receive_until(sock, "WATCHDOG=1", got)  # pings while it waits for mail
        shown = json.loads(cli(tmp_path, "--today", "2026-12-01", "status", "--json").stdout)
        assert shown["daemon"]["alive"] is True and shown["daemon"]["holder"].endswith(f":{proc.pid}")
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert time.monotonic() - started < 10  # the 30 s poll was cut short
        receive_until(sock, "STOPPING=1", got)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "STOPPED" in proc.stderr.read()


@pytest.mark.slow  # the whole demo, its reviewed answer included
def test_the_demo_runs_on_its_own_config_and_never_reads_config_toml(tmp_path):
    """`make demo` in a deployed folder: its config.toml (a real mailbox) is not read."""
    for name in ("scripts", "samples", "rules", "templates"):
        shutil.copytree(REPO / name, tmp_path / name)
    (tmp_path / "config.toml").write_text(
        '[imap]\nhost = "imap.example.gov.cn"\npassword_env = "NOT_SET_ANYWHERE"\n', encoding="utf-8")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RECEPTION_BOT")}
    done = subprocess.run([sys.executable, "scripts/demo.py"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=180, env={**environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "storage" / "demo" / "bot.db").is_file()
    assert not (tmp_path / "storage" / "bot.db").exists() and not (tmp_path / "storage" / "mail").exists()
    assert "accepted" in done.stdout and "storage/demo/outbox" in done.stdout


def test_progress_bars_leave_the_items_and_stdout_alone(monkeypatch, capsys):
    assert list(progress.track(iter(range(5)), "导出台账", 5)) == list(range(5))  # not a terminal: no bar
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(progress, "on_terminal", lambda: True)
    assert list(progress.track(iter(range(5)), "导出台账", 5)) == list(range(5))
    with progress.working("生成报告"):
        pass
    assert capsys.readouterr().out == ""  # bars go to stderr only
