"""The leaders' report tells the truth: figures computed from a season with late and escalated
items. Every item due in the period counts (落实情况, 办理结果, 十日一报); a late report is late;
escalations are listed; the totals add up."""

from __future__ import annotations

import io
import shutil
from datetime import date, timedelta

import docx
from sqlmodel import Session

from bot.documents.report import render_report
from bot.followup.assign import AssignRequest, assign
from bot.followup.exports import report_data
from bot.samples import FormValues, form_xlsx, registration_mail
from tests.support.embedded import INTAKE, REPO, Embedded
from tests.support.mail import authenticated


def test_report_figures_from_a_season_with_late_and_escalated_items(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    bot = Embedded(tmp_path, rules)
    for n, values in enumerate((FormValues(), FormValues(enterprise_name="乌海市海湖畅达物流有限公司",
                                                          credit_code="91150302MAJG7LCM8G", contact_name="赵敏"),
                                FormValues(contact_name="钱进", petition="☑是 □否")), 1):
        bot.deliver(registration_mail(sender=f"ent{n}@corp.test", to=INTAKE, message_id=f"rf{n}@corp.test",
                                      attachments=[("表.xlsx", form_xlsx(values))]))
    rt = bot.run("2026-12-01")
    number = {c.sender: c.number for c in bot.cases(rt)}
    A, B = number["ent1@corp.test"], number["ent2@corp.test"]
    rt = bot.runtime("2026-12-23")
    with Session(rt.engine) as db:
        assign(db, rt, AssignRequest(A, "fgw"))
        assign(db, rt, AssignRequest(B, "gxj", long_term=True))
        db.commit()
    reports = {date(2026, 12, 28): [("gxj", B, "落实情况")], date(2027, 1, 6): [("fgw", A, "落实情况")],
               date(2027, 1, 13): [("gxj", B, "进展情况")]}
    day = date(2026, 12, 23)
    while day <= date(2027, 1, 29):
        for unit, case, kind in reports.get(day, []):
            bot.deliver(authenticated(registration_mail(sender=f"{unit}@units.test", to=INTAKE, subject=f"[{case}] {kind}",
                                          body=f"{kind}：工作正在推进。")))
        bot.run(day.isoformat())
        day += timedelta(days=1)

    rt = bot.runtime("2027-01-29", transport=False)
    with Session(rt.engine) as db:
        data = report_data(db, rt, date(2026, 12, 1), date(2027, 1, 31))
    assert data.registered == 3 and sum(data.by_status.values()) == 3
    assert sum(data.by_field.values()) == 2 and sum(data.by_unit.values()) == 2
    per_unit = {u.unit: (u.due, u.on_time, u.late) for u in data.on_time}
    # fgw: 落实情况 2 days late (reported 6 Jan), 办理结果 missing. gxj: 落实情况 and the first
    # 十日一报 (due 14 Jan) in time, 办理结果 missing, the second 十日一报 (23 Jan -> Mon 25 Jan) missing.
    assert per_unit == {"乌海市发展和改革委员会": (2, 0, 2), "乌海市工业和信息化局": (4, 2, 2)}
    late = {(i.case_number, i.kind): (i.due, i.reported, i.days_late, i.escalated) for i in data.late}
    assert late == {
        (A, "status"): (date(2027, 1, 4), date(2027, 1, 6), 2, None),
        (A, "result"): (date(2027, 1, 22), None, 7, date(2027, 1, 27)),
        (B, "result"): (date(2027, 1, 22), None, 7, date(2027, 1, 27)),
        (B, "progress"): (date(2027, 1, 25), None, 4, None),
    }

    out = tmp_path / "报告.docx"
    render_report(data, out)
    document = docx.Document(io.BytesIO(out.read_bytes()))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "共收到企业预约登记3件，受理2件" in text
    assert "应报送的落实情况、办理结果和十日一报共6项，按时报送2项，按时报送率33.3%；未按时报送4项，其中2项已提请督查室督办" in text
    assert "无逾期" not in text
    cells = [[c.text for c in row.cells] for t in document.tables for row in t.rows]
    assert ["合计", "6", "2", "4", "33.3%"] in cells
    assert [A, "乌海市发展和改革委员会", "落实情况", "2027年1月4日", "2027年1月6日", "2", "—"] in cells
    assert [B, "乌海市工业和信息化局", "办理结果", "2027年1月22日", "未报送", "7", "2027年1月27日提请督办"] in cells
