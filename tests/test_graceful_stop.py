"""A stop request (SIGTERM) in the middle of a chunk of new mail, on the embedded default: the
mails handled before it are recorded and filed, the others keep no claim in the ledger and stay in
the inbox, and the next start answers each of them once. (The daemon's side, signal to exit code,
is tests/test_service_rig.py.)"""

from __future__ import annotations

import shutil
import time

from sqlmodel import Session, select

from bot.samples import FormValues, form_xlsx, registration_mail
from bot.service.daemon import fetch_pass
from bot.service.runtime import open_source
from bot.store.models import InboundMail
from tests.support.embedded import INTAKE, REPO, Embedded
from tests.support.mail import authenticated

MAILS = 6
TODAY = "2026-12-01"


class StopAfter:
    """A lifecycle whose stop request comes at its `calls + 1`-th question. Before the second
    question (the pipeline's first, once the batch is handed to the workers) it lets the workers
    read every mail, so that they form one chunk and the stop falls inside it."""

    def __init__(self, calls: int, settle: float = 3.0):
        self.calls, self.settle, self.asked = calls, settle, 0

    def stop_requested(self) -> bool:
        self.asked += 1
        if self.asked == 2:
            time.sleep(self.settle)
        return self.asked > self.calls

    def beat(self) -> None:
        pass


def test_a_stop_inside_a_chunk_leaves_no_unfinished_row_and_loses_nothing(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    bot = Embedded(tmp_path, rules)
    senders = [f"ent{i}@corp.test" for i in range(MAILS)]
    for i, sender in enumerate(senders):
        bot.deliver(authenticated(registration_mail(
            sender=sender, to=INTAKE, message_id=f"stop-{i}@corp.test",
            attachments=[("登记表.xlsx", form_xlsx(FormValues(enterprise_name=f"乌海市第{i}号科技有限公司")))])))

    rt = bot.runtime(TODAY)
    try:
        fetch_pass(rt, open_source(rt), life=StopAfter(calls=4))
        with Session(rt.engine) as db:
            rows = list(db.exec(select(InboundMail)))
    finally:
        rt.close()
    done = [r for r in rows if r.status == "done"]
    assert 0 < len(done) < MAILS, "the stop did not fall inside the batch"
    assert {r.status for r in rows} == {"done"}  # no claim left behind by the mails not reached
    assert all(r.attempts == 1 for r in done)
    inbox = list((tmp_path / "storage" / "mail" / "new").iterdir())
    assert len(inbox) == MAILS - len(done)  # the others wait in the inbox

    bot.run(TODAY)  # the next start
    replies = [m for m in bot.sent() if m["To"] in senders]
    assert sorted(m["To"] for m in replies) == sorted(senders)  # each answered, once
