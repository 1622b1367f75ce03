"""A leader's `name` in leaders.toml is printed with the title wherever the leader is named: the
enterprise's reply, the slip and its mail, the enterprise's assignment notice, the ledger."""

from __future__ import annotations

import io
import shutil

import docx
from sqlmodel import Session

from bot.followup.assign import AssignRequest, assign
from bot.followup.ledger_io import ledger_rows
from bot.samples import FormValues, form_xlsx, registration_mail
from tests.support.embedded import INTAKE, REPO, Embedded


def test_the_leaders_name_is_printed_with_the_title(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    leaders = rules / "leaders.toml"
    leaders.write_text(leaders.read_text(encoding="utf-8").replace(
        'title = "分管工业的副市长"\n', 'title = "副市长"\nname = "张三"\n'), encoding="utf-8")
    bot = Embedded(tmp_path, rules)
    bot.deliver(registration_mail(sender="ent1@corp.test", to=INTAKE, message_id="ln1@corp.test",
                                  attachments=[("表.xlsx", form_xlsx(FormValues()))]))
    rt = bot.run("2026-12-01")
    case = bot.cases(rt)[0].number
    rt = bot.runtime("2026-12-23")
    with Session(rt.engine) as db:
        assign(db, rt, AssignRequest(case, "gxj"))
        db.commit()
        [row] = list(ledger_rows(db, rt))
    bot.run("2026-12-23")
    sent = {str(m["To"]): m for m in bot.sent()}
    reply = sent["ent1@corp.test"]
    bodies = [m.get_body(("plain",)).get_content() for m in bot.sent()]
    assert any("接待领导：副市长张三" in b for b in bodies)  # the reply to the registration
    assert any("经副市长张三现场研究" in b for b in bodies)  # the assignment notice and the slip mail
    assert reply is not None and row.leader == "副市长张三"
    [slip_mail] = [m for m in bot.sent() if "交办单" in str(m["Subject"])]
    [slip] = [p.get_payload(decode=True) for p in slip_mail.iter_attachments()]
    cells = [c.text for t in docx.Document(io.BytesIO(slip)).tables for r in t.rows for c in r.cells]
    assert "副市长张三" in cells
