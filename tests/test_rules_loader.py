"""Loading the rule files into a Ruleset."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from bot.errors import RuleFileError
from bot.rules.loader import TomlLines, load_report, load_rules

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "rules"
MINIMAL = ROOT / "tests" / "data" / "rules-min"


def test_shipped_rules_load_clean():
    result = load_report(SHIPPED)
    assert result.errors == []
    assert result.warnings == []
    rules = result.ruleset
    assert rules.programme.mailbox == "intake@rb.test"
    assert rules.programme.districts == ("海勃湾区", "乌达区", "海南区")
    assert rules.programme.case_number_format.format(year=2026, seq=1) == "WHJD-2026-0001"
    assert rules.warnings == ()


def test_shipped_rules_content():
    rules = load_rules(SHIPPED)
    assert [s.id for s in rules.sessions] == ["2026-12", "2027-03", "2027-06", "2027-09"]
    first = rules.session_by_id("2026-12")
    assert (first.date, first.period, first.start, first.end) == (date(2026, 12, 22), "上午", "09:00", "12:00")
    assert (first.registration_opens, first.registration_closes) == (date(2026, 11, 24), date(2026, 12, 15))
    assert (first.capacity, first.notice_date, first.leader) == (8, date(2026, 11, 23), "vm-industry")
    assert rules.unit_by_id("dcs").kind == "supervision"
    assert rules.unit_by_id("ysb").kind == "office"
    assert {u.district for u in rules.units_of_kind("district")} == {"海勃湾区", "乌达区", "海南区"}
    assert rules.unit_by_id("fgw").emails == ("fgw@units.test",)
    assert rules.deadlines.escalate_to == "dcs"
    assert [e.id for e in rules.exclusions] == [
        "EX-JUDICIAL", "EX-DISCIPLINE", "EX-PETITION", "EX-PROPOSAL", "EX-VAGUE", "EX-ANONYMOUS"]
    assert "详见附件" in rules.exclusion("EX-VAGUE").placeholders
    assert rules.exclusion("EX-JUDICIAL").basis == "已进入司法程序、行政复议和仲裁程序的"
    assert rules.roster_entry("91150302MA0N1RX23K").name == "乌海市金沙湾新材料科技有限公司"


def test_session_fields_default_to_the_leaders():
    rules = load_rules(SHIPPED)
    assert rules.session_by_id("2026-12").fields == rules.leader_by_id("vm-industry").fields
    assert rules.session_by_id("2027-06").fields == ("business-env", "finance", "commerce")


def test_every_field_department_is_a_unit():
    rules = load_rules(SHIPPED)
    for f in rules.fields:
        assert f.departments and all(rules.unit_by_id(u) for u in f.departments)


def test_roster_none_when_absent(tmp_path):
    rules_dir = tmp_path / "rules"
    shutil.copytree(SHIPPED, rules_dir)
    (rules_dir / "roster.csv").unlink()
    assert load_rules(rules_dir).roster is None


def test_holidays_file_is_optional(tmp_path):
    rules_dir = tmp_path / "rules"
    shutil.copytree(SHIPPED, rules_dir)
    (rules_dir / "holidays.toml").unlink()
    rules = load_rules(rules_dir)
    assert rules.holidays == () and rules.workdays == ()


def test_minimal_rules_load_clean():
    result = load_report(MINIMAL)
    assert (result.errors, result.warnings) == ([], [])
    rules = result.ruleset
    assert len(rules.programme.districts) == 2 and len(rules.fields) == 3
    assert len(rules.leaders) == 2 and len(rules.sessions) == 2 and len(rules.roster) == 3
    assert rules.session_by_id("2026-12").fields == ("industry", "energy")
    assert rules.session_by_id("2027-03").fields == ("finance", "industry")
    assert len(rules.exclusions) == 6


def test_sessions_come_in_date_order(tmp_path):
    rules_dir = tmp_path / "rules"
    shutil.copytree(MINIMAL, rules_dir)
    text = (rules_dir / "sessions.toml").read_text(encoding="utf-8")
    head, first, second = text.split("[[session]]")
    (rules_dir / "sessions.toml").write_text(head + "[[session]]" + second + "\n[[session]]" + first, encoding="utf-8")
    assert [s.id for s in load_rules(rules_dir).sessions] == ["2026-12", "2027-03"]


def test_load_rules_raises_with_every_problem(tmp_path):
    rules_dir = tmp_path / "rules"
    shutil.copytree(MINIMAL, rules_dir)
    text = (rules_dir / "deadlines.toml").read_text(encoding="utf-8")
    (rules_dir / "deadlines.toml").write_text(text.replace('"dcs"', '"nobody"'), encoding="utf-8")
    with pytest.raises(RuleFileError) as caught:
        load_rules(rules_dir)
    assert caught.value.problems == ["deadlines.toml:8: 未知的单位“nobody”"]


def test_warnings_are_kept_on_the_ruleset(tmp_path):
    rules_dir = tmp_path / "rules"
    shutil.copytree(MINIMAL, rules_dir)
    text = (rules_dir / "fields.toml").read_text(encoding="utf-8")
    (rules_dir / "fields.toml").write_text(text.replace('"贷款",', '"贷款", "技改",'), encoding="utf-8")
    assert load_rules(rules_dir).warnings == (
        "fields.toml:19: 关键词“技改”同时属于领域“industry”和领域“finance”",)


def test_toml_lines_skip_strings_and_arrays():
    text = (
        'top = 1\n'
        '[[t]]\n'
        'id = "a"\n'
        'list = [\n'
        '  "x = 1",\n'
        '  "[[t]]",\n'
        ']\n'
        'text = """\n'
        'fake = 2\n'
        '[[t]]\n'
        '"""\n'
        'after = 3  # [[t]]\n'
        '[[t]]\n'
        '"quoted key" = 4\n'
    )
    lines = TomlLines(text)
    assert lines.line(None, 0, "top") == 1
    assert lines.line("t", 0) == 2
    assert lines.line("t", 0, "after") == 12
    assert lines.line("t", 0, "fake") == 2  # inside a string: not a key, falls back to the header
    assert lines.line("t", 1) == 13
    assert lines.line("t", 1, "quoted key") == 14


def test_every_rule_file_key_is_declared_with_help():
    from bot.rules.model import ARRAY_FILES, FLAT_FILES

    classes = [*FLAT_FILES.values(), *(c for tables in ARRAY_FILES.values() for c in tables.values())]
    undocumented = [f"{c.__name__}.{name}" for c in classes for name, info in c.__pydantic_fields__.items()
                    if not info.description]
    assert undocumented == []
