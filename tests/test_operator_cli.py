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

from bot.cli import app
from bot.mailbox.maildir import MaildirSink
from bot.service.systemd import Notifier
from bot.version import VERSION

REPO = Path(__file__).resolve().parents[1]


def cli(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RECEPTION_BOT")}
    environ["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={**environ, **(env or {})})


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


def test_version_and_completion(tmp_path):
    assert cli(tmp_path, "--version").stdout.strip() == f"reception-bot {VERSION}"
    script = cli(tmp_path, "--show-completion", "bash")
    assert script.returncode == 0 and "complete" in script.stdout


def test_log_format_json_writes_one_object_per_line(tmp_path):
    (tmp_path / "config.toml").write_text(f'rules_dir = "{REPO / "rules"}"\n', encoding="utf-8")
    done = cli(tmp_path, "--log-format", "json", "--log-level", "DEBUG", "--today", "2026-12-01", "run", "--once")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert records and {"time", "level", "logger", "message"} <= set(records[0])
    assert any(r["level"] == "DEBUG" for r in records) or any(r["level"] == "INFO" for r in records)


def test_a_wrong_log_level_is_a_usage_error(tmp_path):
    done = cli(tmp_path, "--log-level", "LOUD", "check")
    assert done.returncode == 2 and done.stderr.startswith("错误：--log-level")


# ---------------------------------------------------------------- init, check, status


def test_init_then_check_passes_on_the_embedded_default(tmp_path):
    target = tmp_path / "site"
    done = cli(tmp_path, "init", str(target))
    assert done.returncode == 0, done.stderr
    assert (target / "config.toml").is_file() and (target / "rules" / "sessions.toml").is_file()
    checked = cli(target, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    lines = checked.stdout.splitlines()
    assert [line.split("：")[0] for line in lines] == ["✓ 配置", "✓ 规则", "✓ 模板", "✓ 收信", "✓ 发信", "✓ 数据库"]
    again = cli(tmp_path, "init", str(target))
    assert again.returncode == 1 and "已存在" in again.stderr  # nothing is overwritten


def test_check_names_each_failing_item_and_exits_1(tmp_path):
    cli(tmp_path, "init", str(tmp_path))
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


def test_status_reads_the_state_and_says_it_in_chinese_or_json(tmp_path):
    (tmp_path / "config.toml").write_text(f'rules_dir = "{REPO / "rules"}"\n', encoding="utf-8")
    MaildirSink(tmp_path / "storage" / "mail").deliver((REPO / "samples" / "demo" / "01-accepted-foxmail-xlsx.eml")
                                                       .read_bytes())
    before = json.loads(cli(tmp_path, "status", "--json").stdout)
    assert before["inbox"] == 1 and before["last_fetch"] is None and before["daemon"]["alive"] is False
    assert cli(tmp_path, "--today", "2026-12-01", "run", "--once").returncode == 0
    after = json.loads(cli(tmp_path, "--today", "2026-12-01", "status", "--json").stdout)
    assert set(after) == {"daemon", "last_fetch", "inbox", "outbox", "quarantined", "held_actions", "reminders"}
    assert after["inbox"] == 0 and after["last_fetch"]["fetched"] == 1
    assert after["outbox"] == {"pending": 0, "sending": 0, "failed": 0}
    assert after["quarantined"] == 0 and after["held_actions"] == 0
    assert after["reminders"]["next_day"] == "2026-12-02"
    human = cli(tmp_path, "--today", "2026-12-01", "status").stdout
    assert "守护进程" in human and "未运行" in human and "上次收信" in human and "取回 1 封" in human


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
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert time.monotonic() - started < 10  # the 30 s poll was cut short
        receive_until(sock, "STOPPING=1", got)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "STOPPED" in proc.stderr.read()


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
