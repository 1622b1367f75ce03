"""The daemon's clock-driven jobs on the real servers: a daemon started after the reminder hour
sends the day's reminders and the week's digest without `run --once`, and a restart the same day
sends neither again."""

from __future__ import annotations

import re
import shutil
import time

import pytest

from bot.samples import FormValues, form_xlsx, registration_mail
from tests.support.botenv import INTAKE, REPO, make_env, parse
from tests.support.reliability import wait_until

pytestmark = pytest.mark.rig

CASE = "WHJD-2026-0001"
FGW, DCS, ENT, ADMIN = "fgw@units.test", "dcs@units.test", "ent1@corp.test", "admin@rb.test"
# The lead unit's result is due that day (a Friday): the "due" reminder; its status report, due
# 2027-01-04, never came: the escalation to the supervision office.
DUE_DAY = "2027-01-22"


def rules_due_at_any_hour(tmp_path):
    """The shipped rules with the reminder hour at 00:00 (so it has passed whenever the test runs)
    and the digest on the due day's weekday."""
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    deadlines = rules / "deadlines.toml"
    text = deadlines.read_text(encoding="utf-8")
    text = re.sub(r'(?m)^reminder_time = ".*"$', 'reminder_time = "00:00"', text)
    text = re.sub(r'(?m)^digest_weekday = ".*"$', 'digest_weekday = "friday"', text)
    deadlines.write_text(text, encoding="utf-8")
    return rules


def stop(daemon) -> None:
    daemon.terminate()
    try:
        daemon.wait(timeout=20)
    except Exception:  # noqa: BLE001
        daemon.kill()
        daemon.wait(timeout=20)


def test_a_daemon_started_after_the_hour_sends_the_days_reminders_once(tmp_path, clean_mail):
    rig = clean_mail
    bot = make_env(tmp_path / "bot", rig, f"sqlite:///{tmp_path}/bot.db",
                   rules_dir=rules_due_at_any_hour(tmp_path))
    rig.append(INTAKE, registration_mail(sender=ENT, to=INTAKE, message_id="sched-1@corp.test",
                                         attachments=[("登记表.xlsx", form_xlsx(FormValues()))]))
    bot.cli("run", "--once", today="2026-12-01")
    bot.cli("assign", CASE, "--lead", "fgw", today="2026-12-23")
    rig.wait_for_messages(FGW, 1)  # the slip

    log = bot.root / "daemon.log"
    for life in (1, 2):  # started after the hour, then restarted the same day
        daemon = bot.start_daemon(today=DUE_DAY)
        try:
            wait_until(lambda: log.exists() and log.read_text(errors="replace").count(
                "REMINDERS queued=") >= life, 30, "the daemon's daily reminder run")
            assert daemon.poll() is None, log.read_text(errors="replace")[-3000:]
            if life == 1:
                reminder = parse(rig.wait_for_messages(FGW, 2)[-1])
                # The admin gets the digest and the escalation's copy, in either order.
                digest = next(m for m in map(parse, rig.wait_for_messages(ADMIN, 2)) if "周报" in m["Subject"])
            time.sleep(1.5)  # a loop round more: a second reminder or digest would be queued by now
        finally:
            stop(daemon)
    assert CASE in reminder["Subject"] and "周报" in digest["Subject"]
    assert re.findall(r"REMINDERS queued=(\d+)", log.read_text(errors="replace")) == ["2", "0"]
    escalation = parse(rig.wait_for_messages(DCS, 1)[-1])
    assert "督办" in escalation["Subject"]
    time.sleep(0.5)
    counts = [len(rig.messages(a)) for a in (FGW, DCS, ADMIN)]
    # slip + reminder, escalation, digest and the escalation's copy: once each, across the restart
    assert counts == [2, 1, 2]
