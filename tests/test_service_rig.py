"""The operator's commands and the daemon's stop on the real servers (Dovecot, the SMTP submission
server, PostgreSQL): `check` logs in for real and names a wrong password; SIGTERM in the middle of a
backlog finishes the mail in hand, flushes the outbox, releases the lease and exits 0, and a later
run answers the rest: no mail lost, none answered twice."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from bot.store.models import InboundMail, Lease, Outbox
from tests.support.botenv import INTAKE, make_env
from tests.support.reliability import form_mail, rows, wait_until
from tests.test_reliability_kill import (
    explain_duplicates,
    inbox_count,
    replies_by_origin,
)

pytestmark = pytest.mark.rig

TODAY = "2026-12-01"
BACKLOG = 120  # enough that a fast daemon is still in the middle of it when the signal comes


def check(bot, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", "--config", str(bot.config), "check"], cwd=bot.root,
                          env={**bot.env(), **env}, capture_output=True, text=True, timeout=120)


def line(done, label: str) -> str:
    return next(text for text in done.stdout.splitlines() if text[2:].startswith(label))


def test_check_logs_in_to_the_real_servers_and_names_a_wrong_password(tmp_path, clean_mail, pg_url):
    bot = make_env(tmp_path / "bot", clean_mail, pg_url)  # PostgreSQL: SQLite is checked by test_operator_cli
    good = check(bot)
    assert good.returncode == 0, good.stdout + good.stderr
    assert line(good, "收信").startswith("✓ 收信：IMAP 127.0.0.1:") and "已连接并登录" in line(good, "收信")
    assert line(good, "发信").startswith("✓ 发信：SMTP 127.0.0.1:") and "已连接并登录" in line(good, "发信")
    assert line(good, "数据库").startswith("✓ 数据库") and "最新版本" in line(good, "数据库")

    bad = check(bot, RB_TEST_IMAP_PASSWORD="wrong", RB_TEST_SMTP_PASSWORD="wrong")
    assert bad.returncode == 1
    assert line(bad, "收信").startswith("✗ 收信") and "LOGIN failed" in line(bad, "收信")
    assert line(bad, "发信").startswith("✗ 发信") and "authentication failed" in line(bad, "发信")
    assert line(bad, "配置").startswith("✓") and line(bad, "数据库").startswith("✓")  # only those two


def test_sigterm_mid_backlog_finishes_the_mail_in_hand_and_loses_nothing(tmp_path, clean_mail):
    rig = clean_mail
    url = f"sqlite:///{tmp_path}/bot.db"
    bot = make_env(tmp_path / "bot", rig, url)
    senders = [f"t{i}@corp.test" for i in range(BACKLOG)]
    expected = {f"term-{i}@corp.test": s for i, s in enumerate(senders)}
    for s in senders:
        rig.add_user(s)
        rig.clear(s)
    with rig.imap(INTAKE) as c:
        for mid, sender in expected.items():
            c.append("INBOX", form_mail(sender, mid))

    name = f"rb-notify-{os.getpid()}-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind("\0" + name)
        notify.settimeout(60)
        log = bot.root / "daemon.log"
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "--config", str(bot.config), "--today", TODAY, "run"],
                cwd=bot.root, env={**bot.env(), "NOTIFY_SOCKET": f"@{name}", "WATCHDOG_USEC": "4000000"},
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            assert notify.recv(4096).startswith(b"READY=1")
            wait_until(lambda: sum(r.status == "done" for r in rows(url, InboundMail)) >= 5, 60,
                       "the daemon to be in the middle of the backlog", step=0.05)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0, log.read_text(errors="replace")[-3000:]
            heard = []
            while not any(m.startswith(b"STOPPING=1") for m in heard):
                heard.append(notify.recv(4096))
        finally:
            if proc.poll() is None:
                proc.kill()
    done_at_stop = sum(r.status == "done" for r in rows(url, InboundMail))
    assert done_at_stop < BACKLOG, "the backlog was finished before the signal: nothing was interrupted"
    assert rows(url, Lease) == []  # released
    assert {r.status for r in rows(url, InboundMail)} <= {"done"}  # none left half-done
    out = rows(url, Outbox)
    assert len(out) == done_at_stop and {r.status for r in out} == {"sent"}  # the outbox was flushed
    assert inbox_count(rig, INTAKE, "Processed") == done_at_stop  # moved only what was finished

    bot.cli("run", "--once", today=TODAY)  # the next start answers the rest
    assert inbox_count(rig, INTAKE) == 0
    answered = replies_by_origin(rig, senders)
    assert set(answered) == set(expected)  # none lost
    assert not explain_duplicates(answered)  # none answered twice
