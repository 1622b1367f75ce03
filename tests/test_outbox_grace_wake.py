"""A restarted daemon decides a crashed sender's `finalizing` mail when its grace ends, not a poll
later: after a kill -9, the mails of a batch that the first dot marked and that never left go out
again then (bot.service.daemon._until_grace_ends). Real Dovecot, the rig's SMTP server, SQLite."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from bot.outbox.compose import Draft
from bot.outbox.queue import Sender, queue
from bot.store.db import open_database
from bot.store.models import Outbox
from bot.store.states import OutboxStatus
from tests.support.botenv import INTAKE, make_env

pytestmark = pytest.mark.rig

GRACE_LEFT = 4.0  # seconds of the crashed mail's grace left when the daemon starts
POLL = 60  # the daemon's poll: far longer than the wait this test allows


def dead_holder() -> str:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return f"{socket.gethostname()}:{done.stdout.strip()}"


def test_a_restarted_daemon_sends_a_crashed_batchs_unsent_mail_when_its_grace_ends(tmp_path, clean_mail):
    rig = clean_mail
    url = f"sqlite:///{tmp_path}/bot.db"
    bot = make_env(tmp_path / "bot", rig, url)
    bot.config.write_text(bot.config.read_text().replace("poll_seconds = 2", f"poll_seconds = {POLL}"))
    bot.cli("run", "--once")  # the schema, on an empty inbox
    rig.add_user("ent1@corp.test")
    rig.clear("ent1@corp.test")
    engine = open_database(url)
    try:
        with Session(engine) as db:  # left by a sender killed after its batch's first dot
            row = queue(db, Draft(purpose="reply-accepted", to=["ent1@corp.test"], subject="预约登记回执",
                                  body="您好，登记表已收到。"),
                        Sender(address=INTAKE, name="办公室", domain="bot.rb.test"),
                        datetime.now(ZoneInfo("Asia/Shanghai")))
            row.status, row.claimed_by, row.attempts = OutboxStatus.FINALIZING, dead_holder(), 1
            row.next_attempt_at = datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(seconds=GRACE_LEFT)
            db.commit()
        daemon = bot.start_daemon()
        try:
            started = time.monotonic()
            # within the grace and a pass, far sooner than the next poll
            rig.wait_for_messages("ent1@corp.test", 1, timeout=GRACE_LEFT + 15)
            waited = time.monotonic() - started
            assert daemon.poll() is None, (bot.root / "daemon.log").read_text(errors="replace")[-3000:]
        finally:
            daemon.terminate()
            daemon.wait(timeout=20)
        assert waited >= GRACE_LEFT - 0.5  # not sent again before its copy's grace was over
        assert len(rig.messages("ent1@corp.test")) == 1
        with Session(engine) as db:
            [done] = db.exec(select(Outbox).where(Outbox.recipients == "ent1@corp.test")).all()
        assert (done.status, done.attempts) == (OutboxStatus.SENT, 2), done.last_error
        assert done.last_error.startswith("no sent copy arrived after the final dot")
    finally:
        engine.dispose()
