"""Ledger import guards the facts: no 现场结果 for a case that was not received at a session (unless
the clerk puts it into the session in the same row, and then the enterprise is told); the sheet
shows sessions by date, lists each suggested unit once, prints, and takes 回访."""

from __future__ import annotations

import shutil

import openpyxl
import pytest
from sqlmodel import Session

from bot.followup import views
from bot.followup.ledger_io import export_file, import_file
from bot.samples import FormValues, form_xlsx, registration_mail
from tests.support.embedded import INTAKE, REPO, Embedded

ACCEPTED, DEFERRED = "WHJD-2026-0001", "WHJD-2026-0002"


@pytest.fixture
def bot(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    bot = Embedded(tmp_path, rules)
    bot.deliver(registration_mail(sender="ent1@corp.test", to=INTAKE, message_id="g1@corp.test",
                                  attachments=[("表.xlsx", form_xlsx(FormValues()))]))
    tourism = FormValues(enterprise_name="乌海市甘德尔山酒店管理有限公司", credit_code="91150302MA05DFNF2Y",
                         contact_name="赵敏", field="文化旅游", title="景区道路改造",
                         facts="景区进出道路狭窄，旅游旺季拥堵严重。", requests="恳请将景区道路纳入改造计划。",
                         suggested_departments="市文化旅游局")
    bot.deliver(registration_mail(sender="ent2@corp.test", to=INTAKE, message_id="g2@corp.test",
                                  attachments=[("表.xlsx", form_xlsx(tourism))]))
    bot.run("2026-12-01")
    return bot


def export(bot, tmp_path, day="2026-12-22"):
    rt = bot.runtime(day, transport=False)
    path = tmp_path / "台账.xlsx"
    with Session(rt.engine) as db:
        export_file(db, rt, path)
    return path


def edit_row(path, case: str, **cells) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb["企业诉求台账"]
    header = {c.value: c.column for c in ws[1]}
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == case)
    for name, value in cells.items():
        ws.cell(row, header[name]).value = value
    wb.save(path)


def cells_of(path, case: str) -> dict:
    ws = openpyxl.load_workbook(path)["企业诉求台账"]
    header = [c.value for c in ws[1]]
    row = next(r for r in ws.iter_rows(min_row=2, values_only=True) if r[0] == case)
    return dict(zip(header, row))


def test_an_outcome_on_a_deferred_case_is_refused_in_chinese(bot, tmp_path):
    path = export(bot, tmp_path)
    edit_row(path, DEFERRED, 现场结果="当场解决", 办理要求="现场答复")
    rt = bot.runtime("2026-12-23")
    ok, summary = import_file(rt, path)
    assert not ok
    assert "择期安排（暂无接待该领域的场次）" in summary and DEFERRED in summary
    assert "接待场次" in summary and "deferred" not in summary and "rejected" not in summary
    with Session(rt.engine) as db:
        assert views.show(db, rt, DEFERRED)["status"] == "deferred"


def test_moving_the_case_to_the_session_in_the_same_row_is_allowed_and_told(bot, tmp_path):
    path = export(bot, tmp_path)
    assert cells_of(path, ACCEPTED)["接待场次"] == "2026年12月22日上午"
    edit_row(path, DEFERRED, 接待场次="2026年12月22日上午", 现场结果="解释说明",
             办理要求="景区道路已列入明年计划，现场作了说明。")
    rt = bot.runtime("2026-12-23")
    ok, summary = import_file(rt, path)
    assert ok, summary
    assert "列入2026年12月22日上午接待场次，已告知企业" in summary
    bot.run("2026-12-23")
    to_ent2 = [m for m in bot.sent() if str(m["To"]) == "ent2@corp.test"]
    subjects = [str(m["Subject"]) for m in to_ent2]
    assert any("已列入2026年12月22日接待场次" in s for s in subjects)
    assert any("已作解释说明" in s for s in subjects)
    with Session(rt.engine) as db:
        shown = views.show(db, rt, DEFERRED)
    assert (shown["status"], shown["session"]) == ("explained", "2026-12")


def test_an_outcome_before_the_session_took_place_is_refused(bot, tmp_path):
    path = export(bot, tmp_path, day="2026-12-10")
    edit_row(path, ACCEPTED, 现场结果="当场解决")
    ok, summary = import_file(bot.runtime("2026-12-10"), path)
    assert not ok and "尚未举行" in summary


def test_the_summary_names_units_and_revisit_is_imported(bot, tmp_path):
    path = export(bot, tmp_path)
    edit_row(path, ACCEPTED, 现场结果="交办", 承办单位="乌海市发展和改革委员会", 协办单位="乌海市自然资源局",
             回访="2027年1月电话回访，企业表示项目已通电。")
    rt = bot.runtime("2026-12-23")
    ok, summary = import_file(rt, path)
    assert ok, summary
    assert "交乌海市发展和改革委员会承办，协办单位乌海市自然资源局" in summary
    assert "fgw" not in summary and "已记录回访情况" in summary
    again = export(bot, tmp_path / "again", day="2026-12-23")
    assert cells_of(again, ACCEPTED)["回访"] == "2027年1月电话回访，企业表示项目已通电。"


def test_suggested_units_once_and_the_sheet_prints(bot, tmp_path):
    path = export(bot, tmp_path)
    suggested = cells_of(path, ACCEPTED)["建议解决部门"].split("、")
    assert len(suggested) == len(set(suggested))
    assert suggested == ["乌海市工业和信息化局", "乌海市发展和改革委员会"]
    wb = openpyxl.load_workbook(path)
    ws = wb["企业诉求台账"]
    assert ws.page_setup.orientation == "landscape" and ws.print_title_rows == "$1:$1"
    assert wb.properties.creator == "乌海市人民政府办公室（市营商办）"
