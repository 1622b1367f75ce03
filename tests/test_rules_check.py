"""`rules check`: for each rule file a broken copy of the shipped rules/, and the exact `file:line: message`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.rules.checks import check_rules, format_report

SHIPPED = Path(__file__).resolve().parent.parent / "rules"


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(SHIPPED, target)
    return target


def edit(path: Path, old: str, new: str) -> int:
    """Replace the first `old` in the file; return the line number where it was."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return line_of(text, old)


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def errors_of(rules: Path) -> list[str]:
    return check_rules(rules)[0]


def test_shipped_rules_are_clean():
    assert check_rules(SHIPPED) == ([], [])


def test_rules_min_is_clean():
    assert check_rules(SHIPPED.parent / "tests" / "data" / "rules-min") == ([], [])


# ---------------------------------------------------------------- programme.toml

def test_programme_unknown_key(rules):
    line = edit(rules / "programme.toml", "max_attendees = 3", "max_attendees = 3\ncolour = \"red\"") + 1
    [problem] = errors_of(rules)
    assert problem.startswith(f"programme.toml:{line}: 未知的键“colour”（可用的键：name、office、")


def test_programme_wrong_type(rules):
    line = edit(rules / "programme.toml", "max_attendees = 3", 'max_attendees = "3"')
    assert errors_of(rules) == [f"programme.toml:{line}: “max_attendees”应为正整数，而不是字符串"]


def test_programme_bad_timezone(rules):
    line = edit(rules / "programme.toml", 'timezone = "Asia/Shanghai"', 'timezone = "Asia/Wuhai"')
    assert errors_of(rules) == [f"programme.toml:{line}: 未知的时区“Asia/Wuhai”（如 Asia/Shanghai）"]


def test_programme_toml_syntax_error(rules):
    line = edit(rules / "programme.toml", "max_attendees = 3", "max_attendees 3")
    assert errors_of(rules) == [
        f"programme.toml:{line}: TOML 语法错误（第 15 列）：Expected '=' after a key in a key/value pair"]


# ---------------------------------------------------------------- fields.toml

def test_field_dangling_department(rules):
    line = edit(rules / "fields.toml", 'departments = ["jrb"]', 'departments = ["jrb", "bank"]')
    assert errors_of(rules) == [f"fields.toml:{line}: 未知的单位“bank”"]


def append(path: Path, text: str) -> int:
    """Append text; return the line number of its first line."""
    old = path.read_text(encoding="utf-8")
    path.write_text(old + text, encoding="utf-8")
    return old.count("\n") + 1


def test_field_duplicate_id(rules):
    line = append(rules / "fields.toml", '[[field]]\nid = "industry"\nname = "工业二"\n') + 1
    first = line_of((SHIPPED / "fields.toml").read_text(encoding="utf-8"), 'id = "industry"')
    assert errors_of(rules) == [f"fields.toml:{line}: [[field]] 的 id“industry”重复（首次出现在第 {first} 行）"]


def test_field_name_naming_two_fields(rules):
    line = edit(rules / "fields.toml", 'aliases = ["文旅",', 'aliases = ["工信", "文旅",')
    assert errors_of(rules) == [f"fields.toml:{line}: “工信”同时指领域“industry”和领域“tourism”"]


def test_field_shared_keyword_is_a_warning(rules):
    line = edit(rules / "fields.toml", 'keywords = ["景区",', 'keywords = ["技改", "景区",')
    assert check_rules(rules) == ([], [f"fields.toml:{line}: 关键词“技改”同时属于领域“industry”和领域“tourism”"])


def test_fields_unknown_top_level_key(rules):
    text = (rules / "fields.toml").read_text(encoding="utf-8")
    (rules / "fields.toml").write_text('version = 2\n' + text, encoding="utf-8")
    assert errors_of(rules) == ["fields.toml:1: 未知的键“version”（本文件只包含 [[field]] 表）"]


# ---------------------------------------------------------------- leaders.toml

def test_leader_dangling_field(rules):
    line = edit(rules / "leaders.toml", 'fields = ["business-env", "finance"]', 'fields = ["business-env", "fiance"]')
    assert errors_of(rules) == [f"leaders.toml:{line}: 未知的领域“fiance”"]


def test_leader_duplicate_id(rules):
    line = edit(rules / "leaders.toml", 'id = "vm-commerce"', 'id = "vm-urban"')
    first = line_of((SHIPPED / "leaders.toml").read_text(encoding="utf-8"), 'id = "vm-urban"')
    assert errors_of(rules) == [f"leaders.toml:{line}: [[leader]] 的 id“vm-urban”重复（首次出现在第 {first} 行）"]


def test_leader_missing_title(rules):
    text = (rules / "leaders.toml").read_text(encoding="utf-8")
    header = line_of(text, '[[leader]]\nid = "vm-urban"')
    edit(rules / "leaders.toml", 'title = "分管自然资源和城乡建设的副市长"\n', "")
    assert errors_of(rules) == [f"leaders.toml:{header}: [[leader]]“vm-urban”缺少必填的键“title”"]


# ---------------------------------------------------------------- sessions.toml

def test_session_dangling_leader(rules):
    line = edit(rules / "sessions.toml", 'leader = "vm-urban"', 'leader = "vm-city"')
    assert errors_of(rules) == [f"sessions.toml:{line}: 未知的领导“vm-city”"]


def test_session_dangling_field(rules):
    line = edit(rules / "sessions.toml", 'fields = ["business-env", "finance", "commerce"]',
                'fields = ["business-env", "finance", "trade"]')
    assert errors_of(rules) == [f"sessions.toml:{line}: 未知的领域“trade”"]


def test_session_unknown_key(rules):
    line = edit(rules / "sessions.toml", "capacity = 8\nnotice_date = 2026-11-23",
                "capacity = 8\nnotice_date = 2026-11-23\nroom = \"909\"") + 2
    [problem] = errors_of(rules)
    assert problem == (f"sessions.toml:{line}: 未知的键“room”（可用的键：id、date、period、start、end、leader、"
                       "fields、location、meeting_format、registration_opens、registration_closes、capacity、"
                       "notice_date、issue）")


def test_a_misspelt_key_gets_a_suggestion(rules):
    line = edit(rules / "sessions.toml", "capacity = 8\nnotice_date = 2026-11-23", "capcity = 8\nnotice_date = 2026-11-23")
    header = line_of((rules / "sessions.toml").read_text(encoding="utf-8"), '[[session]]\nid = "2026-12"')
    assert errors_of(rules) == [
        f"sessions.toml:{header}: [[session]]“2026-12”缺少必填的键“capacity”",
        f"sessions.toml:{line}: 未知的键“capcity”，是否应为“capacity”？（可用的键：id、date、period、start、end、"
        "leader、fields、location、meeting_format、registration_opens、registration_closes、capacity、notice_date、issue）"]


def test_session_duplicate_id(rules):
    line = edit(rules / "sessions.toml", 'id = "2027-09"', 'id = "2027-06"')
    first = line_of((SHIPPED / "sessions.toml").read_text(encoding="utf-8"), 'id = "2027-06"')
    assert errors_of(rules) == [f"sessions.toml:{line}: [[session]] 的 id“2027-06”重复（首次出现在第 {first} 行）"]


def test_session_missing_required_key(rules):
    header = line_of((rules / "sessions.toml").read_text(encoding="utf-8"), '[[session]]\nid = "2026-12"')
    edit(rules / "sessions.toml", "capacity = 8\nnotice_date = 2026-11-23", "notice_date = 2026-11-23")
    assert errors_of(rules) == [f"sessions.toml:{header}: [[session]]“2026-12”缺少必填的键“capacity”"]


def test_session_wrong_type(rules):
    line = edit(rules / "sessions.toml", "capacity = 8\nnotice_date = 2026-11-23", 'capacity = "8"\nnotice_date = 2026-11-23')
    assert errors_of(rules) == [f"sessions.toml:{line}: “capacity”应为正整数，而不是字符串"]


def test_session_invalid_date(rules):
    line = edit(rules / "sessions.toml", "date = 2027-03-23", 'date = "2027-02-30"')
    assert errors_of(rules) == [f"sessions.toml:{line}: “date”的值“2027-02-30”不是有效的日期（应如 2026-12-22）"]


def test_session_quoted_iso_date_is_accepted(rules):
    edit(rules / "sessions.toml", "date = 2027-03-23", 'date = "2027-03-23"')
    assert errors_of(rules) == []


def test_session_invalid_date_literal_is_a_syntax_error(rules):
    line = edit(rules / "sessions.toml", "date = 2027-03-23", "date = 2027-02-30")
    assert errors_of(rules) == [f"sessions.toml:{line}: TOML 语法错误（第 8 列）：Invalid date or datetime"]


def test_session_window_closes_after_session(rules):
    line = edit(rules / "sessions.toml", "registration_closes = 2026-12-15", "registration_closes = 2026-12-23")
    assert errors_of(rules) == [
        f"sessions.toml:{line}: 登记截止日期 2026-12-23 晚于接待日期 2026-12-22"]


def test_session_window_opens_after_it_closes(rules):
    line = edit(rules / "sessions.toml", "registration_opens = 2026-11-24", "registration_opens = 2026-12-16")
    assert errors_of(rules) == [f"sessions.toml:{line}: 登记开始日期 2026-12-16 晚于截止日期 2026-12-15"]


def test_session_bad_period(rules):
    line = edit(rules / "sessions.toml", 'period = "下午"', 'period = "晚上"')
    assert errors_of(rules) == [f"sessions.toml:{line}: “period”应为 上午、下午 之一，而不是“晚上”"]


def test_notice_too_late(rules):
    line = edit(rules / "sessions.toml", "notice_date = 2026-11-23", "notice_date = 2026-12-10")
    assert errors_of(rules) == [f"sessions.toml:{line}: 通告日期 2026-12-10 晚于接待日前 15 个工作日"
                                "（最晚应为 2026-12-01）"]


def test_notice_lead_counts_holidays_toml(rules):
    # 2027-06-22: the 15th working day before it skips the 端午 holiday of holidays.toml (2027-06-09).
    line = edit(rules / "sessions.toml", "notice_date = 2027-05-21", "notice_date = 2027-06-01")
    assert errors_of(rules) == [f"sessions.toml:{line}: 通告日期 2027-06-01 晚于接待日前 15 个工作日"
                                "（最晚应为 2027-05-31）"]


def test_overlapping_sessions_of_one_leader_warn(rules):
    text = (rules / "sessions.toml").read_text(encoding="utf-8")
    first = text[text.index("[[session]]\nid = \"2026-12\""):text.index("[[session]]\nid = \"2027-03\"")]
    copy = first.replace('id = "2026-12"', 'id = "2026-12b"').replace('start = "09:00"', 'start = "11:00"')
    (rules / "sessions.toml").write_text(text + "\n" + copy, encoding="utf-8")
    line = line_of(text + "\n" + copy, 'id = "2026-12b"') + 1
    assert check_rules(rules) == ([], [f"sessions.toml:{line}: 场次“2026-12b”与场次“2026-12”时间重叠"
                                       "（同一领导“vm-industry”，2026-12-22）"])


def test_session_on_a_rest_day_warns(rules):
    line = edit(rules / "sessions.toml", "date = 2027-06-22", "date = 2027-06-19")
    errors, warnings = check_rules(rules)
    assert warnings == [f"sessions.toml:{line}: 接待日期 2027-06-19 不是工作日"]


# ---------------------------------------------------------------- units.toml

def test_unit_without_email(rules):
    line = edit(rules / "units.toml", 'emails = ["wd@units.test"]', "emails = []")
    assert errors_of(rules) == [f"units.toml:{line}: 单位“wd”没有邮箱地址"]


def test_unit_without_emails_key(rules):
    text = (rules / "units.toml").read_text(encoding="utf-8")
    header = line_of(text, '[[unit]]\nid = "wd"')
    edit(rules / "units.toml", 'emails = ["wd@units.test"]\n', "")
    assert errors_of(rules) == [f"units.toml:{header}: 单位“wd”没有邮箱地址"]


def test_unit_bad_email(rules):
    line = edit(rules / "units.toml", 'emails = ["wd@units.test"]', 'emails = ["wd units.test"]')
    assert errors_of(rules) == [f"units.toml:{line}: 邮箱地址“wd units.test”格式不正确"]


def test_unit_unknown_kind(rules):
    line = edit(rules / "units.toml", 'kind = "supervision"', 'kind = "inspector"')
    assert errors_of(rules) == [
        f"units.toml:{line}: “kind”应为 department、district、supervision、office 之一，而不是“inspector”"]


def test_unit_district_not_in_programme(rules):
    line = edit(rules / "units.toml", 'district = "海南区"', 'district = "海东区"')
    errors, warnings = check_rules(rules)
    assert errors == [f"units.toml:{line}: 所辖的区“海东区”不在 programme.toml 的 districts 中"]
    assert warnings == ["units.toml:1: 海南区没有区政府单位（kind = \"district\"）：诉求无法转至该区"]


def test_unit_duplicate_id(rules):
    line = append(rules / "units.toml", '[[unit]]\nid = "swj"\nname = "商务局"\nemails = ["s@units.test"]\n'
                                        'kind = "department"\n') + 1
    first = line_of((SHIPPED / "units.toml").read_text(encoding="utf-8"), 'id = "swj"')
    assert errors_of(rules) == [f"units.toml:{line}: [[unit]] 的 id“swj”重复（首次出现在第 {first} 行）"]


# ---------------------------------------------------------------- roster.csv

def test_roster_bad_credit_code(rules):
    line = edit(rules / "roster.csv", "91150302MAJG7LCM8G", "91150302MAJG7LCM8H")
    assert errors_of(rules) == [
        f"roster.csv:{line}: 统一社会信用代码“91150302MAJG7LCM8H”校验位不正确，请核对营业执照上的18位代码后重新填写。"]


def test_roster_short_credit_code(rules):
    line = edit(rules / "roster.csv", "91150302MAJG7LCM8G", "91150302MAJG7LCM8")
    assert errors_of(rules) == [
        f"roster.csv:{line}: 统一社会信用代码“91150302MAJG7LCM8”应为18位（现为17位），请核对营业执照上的代码后重新填写。"]


def test_roster_duplicate(rules):
    with (rules / "roster.csv").open("a", encoding="utf-8") as f:
        f.write("91150302MA0N1RX23K,乌海市金沙湾新材料科技有限公司（重复）,规上企业\n")
    lines = (rules / "roster.csv").read_text(encoding="utf-8").splitlines()
    assert errors_of(rules) == [f"roster.csv:{len(lines)}: 统一社会信用代码“91150302MA0N1RX23K”重复（首次出现在第 2 行）"]


def test_roster_bad_header(rules):
    edit(rules / "roster.csv", "credit_code,name,categories", "统一社会信用代码,企业名称,类别")
    assert errors_of(rules) == ["roster.csv:1: 表头应为 credit_code,name,categories，而不是 统一社会信用代码,企业名称,类别"]


def test_roster_wrong_column_count(rules):
    line = edit(rules / "roster.csv", "乌海市海湖畅达物流有限公司,规上企业", "乌海市海湖畅达物流有限公司")
    assert errors_of(rules) == [f"roster.csv:{line}: 应有 3 列（credit_code,name,categories），而不是 2 列"]


# ---------------------------------------------------------------- exclusions.toml

def test_exclusion_unknown_declaration(rules):
    line = edit(rules / "exclusions.toml", 'declaration = "petition"', 'declaration = "letters"')
    assert errors_of(rules) == [
        f"exclusions.toml:{line}: “declaration”应为 judicial、discipline、petition、proposal 之一，而不是“letters”"]


def test_exclusion_unknown_refer_unit(rules):
    line = edit(rules / "exclusions.toml", 'refer_unit = "xfj"', 'refer_unit = "xfb"')
    assert errors_of(rules) == [f"exclusions.toml:{line}: 未知的单位“xfb”"]


def test_exclusion_unknown_id(rules):
    line = edit(rules / "exclusions.toml", 'id = "EX-PROPOSAL"', 'id = "EX-MOTION"')
    errors, warnings = check_rules(rules)
    assert errors == [f"exclusions.toml:{line}: 未知的情形 id“EX-MOTION”（可用：EX-JUDICIAL、"
                      "EX-DISCIPLINE、EX-PETITION、EX-PROPOSAL、EX-VAGUE、EX-ANONYMOUS）"]
    assert warnings == ["exclusions.toml:1: 未定义情形 EX-PROPOSAL：该项不予受理规则将不会适用"]


# ---------------------------------------------------------------- deadlines.toml

def test_escalate_to_unknown_unit(rules):
    line = edit(rules / "deadlines.toml", 'escalate_to = "dcs"', 'escalate_to = "dc"')
    assert errors_of(rules) == [f"deadlines.toml:{line}: 未知的单位“dc”"]


def test_deadlines_missing_required_key(rules):
    edit(rules / "deadlines.toml", "result_days = 30\n", "")
    assert errors_of(rules) == ["deadlines.toml:1: 缺少必填的键“result_days”"]


def test_deadlines_bad_reminder_time(rules):
    line = edit(rules / "deadlines.toml", 'reminder_time = "09:00"', 'reminder_time = "9点"')
    assert errors_of(rules) == [f"deadlines.toml:{line}: “reminder_time”应为 \"HH:MM\" 格式的时间（如 \"09:00\"），而不是“9点”"]


def test_deadlines_wrong_list_type(rules):
    line = edit(rules / "deadlines.toml", "reminder_lead_days = [2, 0]", 'reminder_lead_days = ["2", "0"]')
    assert errors_of(rules) == [f"deadlines.toml:{line}: “reminder_lead_days”应为整数列表（每项不小于 0），而第 1 项是字符串“2”"]


# ---------------------------------------------------------------- holidays.toml

def test_year_without_holiday_data_warns(rules):
    (rules / "holidays.toml").unlink()
    line = line_of((rules / "sessions.toml").read_text(encoding="utf-8"), "date = 2027-03-23")
    assert check_rules(rules) == ([], [f"sessions.toml:{line}: 没有 2027 年的节假日数据：请在 holidays.toml "
                                       "中补充该年的节假日和调休上班日"])


def test_holiday_ends_before_it_starts(rules):
    line = edit(rules / "holidays.toml", "end = 2027-02-13", "end = 2027-02-03")
    assert errors_of(rules) == [f"holidays.toml:{line}: 节假日“2027-spring”的结束日期 2027-02-03 早于开始日期 2027-02-05"]


def test_workday_inside_a_holiday(rules):
    line = edit(rules / "holidays.toml", "date = 2027-02-20", "date = 2027-02-07")
    assert errors_of(rules) == [f"holidays.toml:{line}: 调休上班日 2027-02-07 落在节假日“2027-spring”之内"]


def test_holiday_duplicate_id(rules):
    line = edit(rules / "holidays.toml", 'id = "2027-qingming"', 'id = "2027-spring"')
    first = line_of((SHIPPED / "holidays.toml").read_text(encoding="utf-8"), 'id = "2027-spring"')
    assert errors_of(rules) == [f"holidays.toml:{line}: [[holiday]] 的 id“2027-spring”重复（首次出现在第 {first} 行）"]


# ---------------------------------------------------------------- several at once, and the report

def test_every_problem_is_reported_at_once(rules):
    edit(rules / "sessions.toml", 'leader = "vm-urban"', 'leader = "vm-city"')
    edit(rules / "units.toml", 'emails = ["wd@units.test"]', "emails = []")
    edit(rules / "deadlines.toml", 'escalate_to = "dcs"', 'escalate_to = "dc"')
    assert len(errors_of(rules)) == 3


def test_missing_file(rules):
    (rules / "leaders.toml").unlink()
    errors = errors_of(rules)
    assert errors == [f"leaders.toml:1: 缺少此文件（应在 {rules} 中）"]


def test_format_report():
    report = format_report(["a.toml:1: bad"], ["b.toml:2: odd"])
    assert report == "a.toml:1: bad\nb.toml:2: 提醒：odd"
    assert format_report([], []) == ""
