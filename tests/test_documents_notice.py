"""附件1 通告: rendered from the committed docxtpl template, read back with python-docx."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from pathlib import Path

import docx
import pytest

from bot.documents.cn import cn_date, cn_month_day, cn_span, cn_time, cn_weekday
from bot.documents.notice import TEMPLATES_DIR, render_notice, write_notice_template
from bot.documents.slip import write_slip_template
from bot.errors import ConfigError
from bot.rules.model import Deadlines, FieldRule, Leader, Programme, Ruleset, Session


def make_rules(**programme_overrides) -> Ruleset:
    values = dict(
        name="乌海市市长服务民营企业接待日", office="乌海市人民政府办公室", mailbox="jiedai@example.gov.cn",
        phone="0473—8991510", fax="0473—8991510", onsite_place="乌海市行政中心A座909办公室",
        onsite_hours="工作日8:30—12:00，15:00—18:00", city="乌海市")
    programme = Programme(**{**values, **programme_overrides})
    fields = (FieldRule("industry", "工业和信息化"), FieldRule("energy", "能源"), FieldRule("finance", "金融"))
    leader = Leader("vm-industry", "分管工业的副市长", ("industry", "energy"))
    session = Session(
        id="2026-12", date=date(2026, 12, 22), period="上午", start="09:00", end="12:00",
        leader="vm-industry", fields=("industry", "energy"), location="市行政中心A座会议室",
        meeting_format="座谈会", registration_opens=date(2026, 11, 24),
        registration_closes=date(2026, 12, 15), capacity=8, notice_date=date(2026, 11, 23))
    return Ruleset(programme=programme, fields=fields, leaders=(leader,), sessions=(session,), units=(),
                   roster=None, exclusions=(), deadlines=Deadlines())


def text_of(path: Path) -> str:
    return "\n".join(p.text for p in docx.Document(path).paragraphs)


def test_cn_helpers_follow_the_calendar():
    day = date(2026, 12, 22)
    assert day.isoweekday() == 2  # datetime says Tuesday
    assert cn_weekday(day) == "星期二"
    assert cn_weekday(date(2026, 12, 27)) == "星期日"
    assert cn_date(day) == "2026年12月22日"
    assert cn_time("09:00") == "9:00" and cn_time("15:30") == "15:30"
    assert cn_span(date(2026, 12, 28), date(2027, 1, 8)) == "2026年12月28日至2027年1月8日"


def test_notice_carries_the_session_facts(tmp_path):
    rules = make_rules()
    session = rules.sessions[0]
    out = tmp_path / "notice.docx"
    render_notice(rules, session.id, out)
    text = text_of(out)
    weekday = "星期" + "一二三四五六日"[session.date.weekday()]
    assert f"{cn_date(session.date)}（{weekday}）{session.period}" in text
    assert "2026年12月22日（星期二）" in text
    assert rules.leader_by_id(session.leader).title in text
    assert session.location in text
    assert f"{cn_time(session.start)}—{cn_time(session.end)}" in text
    assert "、".join(rules.field_by_id(f).name for f in session.fields) in text
    assert "金融" not in text  # not a field of this session
    assert (f"为{cn_date(session.registration_opens)}至{cn_month_day(session.registration_closes)}"
            in text)
    assert f"以{session.meeting_format}形式接待企业来访" in text and "时间半天" not in text
    assert f"电子邮箱：{rules.programme.mailbox}" in text
    assert f"电话及传真：{rules.programme.phone}" in text
    assert rules.programme.onsite_hours in text and rules.programme.onsite_place in text
    assert "涉法涉诉、违纪违法问题" in text and "《信访工作条例》" in text
    assert text.startswith("附件1\n乌海市市长服务民营企业接待日通告\n（2026年第1期）")
    assert "附件：来访企业预约登记表" in text
    assert docx.Document(out).core_properties.author == rules.programme.office
    assert rules.programme.office in text and cn_date(session.notice_date) in text
    assert "{{" not in text and "}}" not in text


def test_notice_separate_fax_and_issue_date(tmp_path):
    rules = make_rules(fax="0473-8991511")
    out = tmp_path / "notice.docx"
    render_notice(rules, "2026-12", out, issued=date(2026, 11, 20))
    text = text_of(out)
    assert f"电话：{rules.programme.phone}；传真：0473-8991511" in text
    assert "2026年11月20日" in text


def test_notice_escapes_and_builds_a_missing_template(tmp_path):
    rules = make_rules(onsite_place="A座<909>&\x0b办公室")
    out = tmp_path / "notice.docx"
    render_notice(rules, "2026-12", out, template=tmp_path / "absent.docx")
    assert "现场预约地点：A座<909>&办公室" in text_of(out)


def all_text(source) -> list[str]:
    document = docx.Document(source)
    cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
    return [p.text for p in document.paragraphs] + cells


@pytest.mark.parametrize("name, build", [("notice.docx", write_notice_template),
                                         ("slip.docx", write_slip_template)])
def test_committed_templates_match_the_script(name, build):
    committed = TEMPLATES_DIR / name
    assert committed.exists(), "run scripts/make_doc_templates.py"
    fresh = io.BytesIO()
    build(fresh)
    fresh.seek(0)
    assert all_text(committed) == all_text(fresh), f"{name} is stale: run scripts/make_doc_templates.py"


def test_unknown_session_is_a_usage_error(tmp_path):
    with pytest.raises(ConfigError, match="2099-01"):
        render_notice(make_rules(), "2099-01", tmp_path / "x.docx")


def test_leader_name_and_issue_number(tmp_path):
    rules = make_rules()
    named = Leader("vm-industry", "副市长", ("industry", "energy"), name="张三")
    session = replace(rules.sessions[0], issue=4, start="07:30", end="09:30", meeting_format="早餐会")
    rules = replace(rules, leaders=(named,), sessions=(session,))
    out = tmp_path / "notice.docx"
    render_notice(rules, "2026-12", out)
    text = text_of(out)
    assert "（2026年第4期）" in text
    assert "上午7:30—9:30，副市长张三将在市行政中心A座会议室以早餐会形式接待企业来访" in text
