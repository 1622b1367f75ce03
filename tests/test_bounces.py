"""A bounce that comes back by mail: the address is suppressed, our mail marked failed, the admin
told, and the bounce itself is never answered."""

from __future__ import annotations

import shutil

import pytest
from sqlmodel import Session, select

from bot.samples import FormValues, form_xlsx, registration_mail
from bot.store.models import InboundMail, Outbox, Suppression
from tests.support.embedded import INTAKE, REPO, Embedded


def dsn(failed: str, original_id: str) -> bytes:
    return f"""From: Mail Delivery System <MAILER-DAEMON@mx.corp.test>
To: {INTAKE}
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-{original_id}>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain; charset=us-ascii

Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.corp.test

Final-Recipient: rfc822; {failed}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <{failed}>: Recipient address rejected

--B
Content-Type: text/rfc822-headers

From: {INTAKE}
To: {failed}
Message-ID: <{original_id}>

--B--
""".replace("\n", "\r\n").encode()


@pytest.fixture
def bot(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    return Embedded(tmp_path, rules)


def test_a_bounce_suppresses_the_address_and_tells_the_admin(bot):
    bot.deliver(registration_mail(sender="gone@corp.test", to=INTAKE, message_id="b1@corp.test",
                                  attachments=[("表.xlsx", form_xlsx(FormValues()))]))
    rt = bot.run("2026-12-01")
    with Session(rt.engine) as db:
        reply = db.exec(select(Outbox).where(Outbox.recipients == "gone@corp.test")).one()
    bot.deliver(dsn("gone@corp.test", reply.message_id))
    rt = bot.run("2026-12-01")
    with Session(rt.engine) as db:
        assert db.get(Suppression, "gone@corp.test") is not None
        assert db.get(Outbox, reply.id).status == "failed"
        row = db.exec(select(InboundMail).where(InboundMail.sender == "mailer-daemon@mx.corp.test")).one()
        assert (row.decision, row.rules) == ("ignored", "LOOP-AUTO")
        to_admin = db.exec(select(Outbox).where(Outbox.recipients == "admin@rb.test")).all()
    assert len(to_admin) == 1 and "gone@corp.test" in to_admin[0].subject
    assert not any("mx.corp.test" in str(m["To"]) for m in bot.sent())  # the bounce is not answered

    # the next automatic mail to that address is held back while it is suppressed: kept, not sent
    sent_before = len(bot.sent())
    bot.deliver(registration_mail(sender="gone@corp.test", to=INTAKE, message_id="b2@corp.test",
                                  attachments=[("表.xlsx", form_xlsx(FormValues(title="再次报送")))]))
    rt = bot.run("2026-12-02")
    with Session(rt.engine) as db:
        rows = db.exec(select(Outbox).where(Outbox.recipients == "gone@corp.test")
                       .order_by(Outbox.id)).all()
        assert [r.status for r in rows] == ["failed", "suppressed"]
    assert not any("gone@corp.test" in str(m["To"]) for m in bot.sent()[sent_before:])
