"""The decision (spec/interfaces.md "Rule ids" and precedence), on forms built in code.

Every expectation here comes from the spec's wording and from tests/data/rules-min (districts 海勃湾区 and
乌达区, fields industry/energy/finance, max_attendees 3, session 2026-12 open 2026-11-24..2026-12-15 for
industry and energy, session 2027-03 for finance and industry), not from the implementation's output.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from stdnum.cn import uscc

from bot.forms.model import Declarations, Form
from bot.rules.decide import Intake, decide
from bot.rules.loader import load_rules

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = ROOT / "tests" / "data" / "rules-min"
RULES = load_rules(MINIMAL)

OPEN_DAY = date(2026, 12, 1)  # inside the 2026-12 window (2026-11-24 .. 2026-12-15)
AFTER_ALL = date(2027, 4, 1)  # after the last session (2027-03-23)

ROSTER_CODE = "91150302MA0N1RX23K"  # rules-min/roster.csv
ROSTER_NAME = "乌海市金沙湾新材料科技有限公司"
WUDA_ROSTER_CODE = "91150304MAFX9A4U1N"


def valid_code(first17: str) -> str:
    """A credit code with a correct GB 32100 check character (computed by python-stdnum, not the bot)."""
    return first17 + uscc.calc_check_digit(first17)


OFF_ROSTER_CODE = valid_code("91150302MA0A1B2C3")  # valid, not on the roster
ALL_NO = {"judicial": False, "discipline": False, "petition": False, "proposal": False}


def form(**overrides) -> Form:
    """A complete, valid, in-scope form of an enterprise on the roster asking about 工业和信息化.

    `declarations` takes a dict merged over all-否; texts carry no exclusion keyword.
    """
    decl = {**ALL_NO, **overrides.pop("declarations", {})}
    values = dict(
        enterprise_name=ROSTER_NAME,
        credit_code=ROSTER_CODE,
        district="海勃湾区",
        enterprise_types=["规上企业", "高新技术企业"],
        industry="化工新材料",
        legal_representative="王建国",
        contact_name="李晓明",
        contact_title="办公室主任",
        contact_phone="13904731234",
        contact_email=None,
        attendees=["王建国", "李晓明"],
        field="工业和信息化",
        title="多晶硅项目增容手续办理进度慢",
        facts="我公司年产5万吨电子级多晶硅项目已完成备案，新增负荷需办理增容手续，已等待3个月。",
        reasons="项目已列入自治区重点项目清单，按期投产可新增就业200人。",
        requests="恳请协调有关部门加快增容审批，确保项目年底前投产。",
        suggested_departments=["市工业和信息化局"],
        meeting_format="座谈会",
        signed_date="2026-11-30",
    )
    values.update(overrides)
    return Form(declarations=Declarations(**decl), **values)


def off_roster(**overrides) -> Form:
    """Valid and complete, but the credit code is not on the roster (SCOPE-REFER)."""
    return form(**{"enterprise_name": "乌海市某某商贸有限公司", "credit_code": OFF_ROSTER_CODE, **overrides})


def run(f: Form | None, *, today: date = OPEN_DAY, rules=RULES, unreadable=(), sender="ent@corp.test",
        loop_reason=None, used=lambda _sid: 0):
    return decide(Intake(f, list(unreadable), sender, loop_reason), rules, today, used)


def pairs(verdict) -> set[tuple[str, str | None]]:
    return {(r.rule, r.field) for r in verdict.reasons}


def rule_set(verdict) -> set[str]:
    return {r.rule for r in verdict.reasons}


def assert_texts(verdict) -> None:
    for r in [*verdict.reasons, *verdict.flags]:
        assert isinstance(r.text, str) and r.text.strip(), r


# --------------------------------------------------------------------------- baseline

def test_baseline_form_is_accepted_for_the_open_session():
    v = run(form())
    assert v.decision == "accepted"
    assert v.rule_ids == ["MATCH-CURRENT"]
    assert (v.field, v.session) == ("industry", "2026-12")
    assert v.flags == []
    assert_texts(v)


# --------------------------------------------------------------------------- LOOP-AUTO, FORM-MISSING/UNREADABLE

def test_loop_auto_is_ignored():
    v = run(None, loop_reason="auto-reply")
    assert v.decision == "ignored"
    assert v.rule_ids == ["LOOP-AUTO"]
    assert_texts(v)


def test_no_form_is_form_missing():
    v = run(None)
    assert v.decision == "needs_correction"
    assert v.rule_ids == ["FORM-MISSING"]
    assert_texts(v)


def test_unreadable_attachment_without_a_form_is_form_unreadable():
    v = run(None, unreadable=["附件“登记表.doc”是 .doc 格式，无法读取。"])
    assert v.decision == "needs_correction"
    assert v.rule_ids and set(v.rule_ids) == {"FORM-UNREADABLE"}
    assert "FORM-MISSING" not in v.rule_ids
    assert_texts(v)


def test_two_unreadable_attachments_give_only_form_unreadable():
    v = run(None, unreadable=["附件“a.pdf”无法读取。", "附件“b.jpg”无法读取。"])
    assert v.decision == "needs_correction"
    assert set(v.rule_ids) == {"FORM-UNREADABLE"}


def test_readable_form_beside_an_unreadable_photo_is_read():
    v = run(form(), unreadable=["附件“营业执照.jpg”是图片，无法读取。"])
    assert v.decision == "accepted"
    assert v.rule_ids == ["MATCH-CURRENT"]


# --------------------------------------------------------------------------- FORM-INCOMPLETE

@pytest.mark.parametrize("key", ["credit_code", "district", "contact_name", "contact_phone"])
def test_each_empty_mandatory_field_is_named(key):
    v = run(form(**{key: None}))
    assert v.decision == "needs_correction"
    assert pairs(v) == {("FORM-INCOMPLETE", key)}
    assert_texts(v)


def test_empty_name_with_a_code_not_on_the_roster_is_incomplete():
    v = run(off_roster(enterprise_name=None))
    assert v.decision == "needs_correction"
    assert pairs(v) == {("FORM-INCOMPLETE", "enterprise_name")}


@pytest.mark.parametrize("key", ["judicial", "discipline", "petition", "proposal"])
def test_each_unanswered_declaration_is_named_by_key_path(key):
    v = run(form(declarations={key: None}))
    assert v.decision == "needs_correction"
    assert pairs(v) == {("FORM-INCOMPLETE", f"declarations.{key}")}


def test_one_reason_per_missing_field_all_at_once():
    v = run(form(contact_name=None, contact_phone=None, district=None,
                 declarations={"petition": None, "proposal": None}))
    assert v.decision == "needs_correction"
    assert sorted((r.rule, r.field) for r in v.reasons) == sorted([
        ("FORM-INCOMPLETE", "contact_name"),
        ("FORM-INCOMPLETE", "contact_phone"),
        ("FORM-INCOMPLETE", "district"),
        ("FORM-INCOMPLETE", "declarations.petition"),
        ("FORM-INCOMPLETE", "declarations.proposal"),
    ])
    assert len(v.reasons) == 5  # one reason per field, no duplicates


@pytest.mark.parametrize("key", ["facts", "requests"])
def test_empty_facts_or_requests_are_vague_not_incomplete(key):
    v = run(form(**{key: None}))
    assert v.decision == "needs_correction"
    assert pairs(v) == {("EX-VAGUE", key)}


# --------------------------------------------------------------------------- FORM-INVALID

@pytest.mark.parametrize("key,value", [
    ("credit_code", ROSTER_CODE[:-1] + ("L" if ROSTER_CODE[-1] != "L" else "M")),  # wrong check character
    ("credit_code", ROSTER_CODE[:-1]),  # 17 characters
    ("contact_phone", "1390473123"),  # 10 digits
    ("contact_phone", "12345"),
    ("contact_email", "li.xiaoming@@corp"),
    ("contact_email", "不是邮箱"),
    ("signed_date", "2026-13-45"),
    ("signed_date", "下周一"),
    ("district", "海南区"),  # a real district of 乌海, but not in rules-min's programme.districts
    ("district", "东城区"),
])
def test_invalid_value_is_form_invalid_on_its_field(key, value):
    v = run(form(**{key: value}))
    assert v.decision == "needs_correction"
    assert pairs(v) == {("FORM-INVALID", key)}
    assert_texts(v)


@pytest.mark.parametrize("phone", ["13904731234", "0473-8991510"])
def test_valid_mobile_and_landline_pass(phone):
    assert run(form(contact_phone=phone)).decision == "accepted"


def test_optional_email_filled_and_valid_passes():
    assert run(form(contact_email="li@corp.test")).decision == "accepted"


def test_attendees_up_to_the_limit_pass():
    assert RULES.programme.max_attendees == 3
    assert run(form(attendees=["甲", "乙", "丙"])).decision == "accepted"


def test_too_many_attendees_is_form_invalid():
    v = run(form(attendees=["甲", "乙", "丙", "丁"]))
    assert v.decision == "needs_correction"
    assert pairs(v) == {("FORM-INVALID", "attendees")}


def test_every_invalid_item_is_reported_at_once():
    v = run(form(contact_phone="12345", contact_email="bad@", signed_date="2026-02-30",
                 attendees=["甲", "乙", "丙", "丁"]))
    assert v.decision == "needs_correction"
    assert pairs(v) == {("FORM-INVALID", "contact_phone"), ("FORM-INVALID", "contact_email"),
                        ("FORM-INVALID", "signed_date"), ("FORM-INVALID", "attendees")}


# --------------------------------------------------------------------------- EX-VAGUE

PLACEHOLDERS = ["无", "略", "同上", "见附件", "详见附件", "暂无", "待定"]


@pytest.mark.parametrize("key", ["facts", "requests"])
@pytest.mark.parametrize("placeholder", PLACEHOLDERS)
def test_placeholder_is_vague(key, placeholder):
    v = run(form(**{key: placeholder}))
    assert v.decision == "needs_correction"
    assert pairs(v) == {("EX-VAGUE", key)}
    assert_texts(v)


@pytest.mark.parametrize("text", ["无。", "详见附件。"])
def test_placeholder_with_a_full_stop_is_still_vague(text):
    v = run(form(facts=text))
    assert pairs(v) == {("EX-VAGUE", "facts")}


def test_both_vague_give_two_reasons():
    v = run(form(facts="略", requests="同上"))
    assert v.decision == "needs_correction"
    assert pairs(v) == {("EX-VAGUE", "facts"), ("EX-VAGUE", "requests")}
    assert len(v.reasons) == 2


def test_a_real_sentence_starting_with_a_placeholder_character_is_not_vague():
    v = run(form(facts="无法按期办理增容手续，项目投产时间推迟。", requests="暂无替代方案，恳请协调加快增容审批。"))
    assert v.decision == "accepted"


# --------------------------------------------------------------------------- rejections

def test_anonymous_is_rejected():
    v = run(form(enterprise_name=None, credit_code=None))
    assert v.decision == "rejected"
    assert v.rule_ids == ["EX-ANONYMOUS"]
    assert_texts(v)


@pytest.mark.parametrize("key,rule", [("judicial", "EX-JUDICIAL"), ("discipline", "EX-DISCIPLINE"),
                                      ("petition", "EX-PETITION"), ("proposal", "EX-PROPOSAL")])
def test_each_declared_exclusion_is_rejected(key, rule):
    v = run(form(declarations={key: True}))
    assert v.decision == "rejected"
    assert v.rule_ids == [rule]
    assert_texts(v)


def test_all_declared_exclusions_are_listed_at_once():
    v = run(form(declarations={"judicial": True, "discipline": True, "petition": True, "proposal": True}))
    assert v.decision == "rejected"
    assert sorted(v.rule_ids) == sorted(["EX-JUDICIAL", "EX-DISCIPLINE", "EX-PETITION", "EX-PROPOSAL"])


def test_anonymous_and_declared_exclusions_together():
    v = run(form(enterprise_name=None, credit_code=None, declarations={"petition": True, "proposal": True}))
    assert v.decision == "rejected"
    assert sorted(v.rule_ids) == sorted(["EX-ANONYMOUS", "EX-PETITION", "EX-PROPOSAL"])


def test_name_without_code_is_not_anonymous():
    v = run(form(credit_code=None))
    assert v.decision == "needs_correction"
    assert "EX-ANONYMOUS" not in v.rule_ids


def test_code_without_name_is_not_anonymous():
    v = run(off_roster(enterprise_name=None))
    assert "EX-ANONYMOUS" not in v.rule_ids


# --------------------------------------------------------------------------- SCOPE-REFER

@pytest.mark.parametrize("district,unit,name", [("海勃湾区", "hbw", "海勃湾区人民政府"),
                                                ("乌达区", "wd", "乌达区人民政府")])
def test_not_on_the_roster_is_referred_to_its_district_government(district, unit, name):
    v = run(off_roster(district=district))
    assert v.decision == "referred"
    assert v.rule_ids == ["SCOPE-REFER"]
    assert v.refer_to == unit
    assert name in v.reasons[0].text
    assert v.session is None


def test_roster_decides_over_declared_types():
    v = run(off_roster(enterprise_types=["规上企业", "上市后备企业", "高新技术企业"]))
    assert v.decision == "referred"


def test_on_the_roster_with_no_declared_type_is_in_scope():
    v = run(form(enterprise_types=["其他"]))
    assert v.decision == "accepted"


@pytest.fixture
def no_roster(tmp_path):
    target = tmp_path / "rules"
    shutil.copytree(MINIMAL, target)
    (target / "roster.csv").unlink()
    rules = load_rules(target)
    assert rules.roster is None
    return rules


@pytest.mark.parametrize("types", [["规上企业"], ["上市后备企业"], ["高新技术企业"], ["其他", "高新技术企业"]])
def test_without_roster_a_declared_in_scope_type_is_accepted(no_roster, types):
    v = run(off_roster(enterprise_types=types), rules=no_roster)
    assert v.decision == "accepted"
    assert v.rule_ids == ["MATCH-CURRENT"]


@pytest.mark.parametrize("types", [["其他"], []])
def test_without_roster_other_types_are_referred(no_roster, types):
    v = run(form(enterprise_types=types, district="乌达区"), rules=no_roster)
    assert v.decision == "referred"
    assert v.refer_to == "wd"


def test_roster_name_fills_an_empty_name():
    v = run(form(enterprise_name=None))
    assert v.decision == "accepted"
    assert v.form.enterprise_name == ROSTER_NAME


def test_roster_name_fill_for_another_roster_entry():
    v = run(form(enterprise_name="", credit_code=WUDA_ROSTER_CODE, district="乌达区"))
    assert v.decision == "accepted"
    assert v.form.enterprise_name == "乌海市乌达区鑫达焦化有限公司"


def test_written_name_is_kept_even_when_it_differs_from_the_roster():
    v = run(form(enterprise_name="金沙湾新材料"))
    assert v.form.enterprise_name == "金沙湾新材料"


# --------------------------------------------------------------------------- the field

@pytest.mark.parametrize("written,field_id", [
    ("工业和信息化", "industry"),  # name
    ("能源", "energy"),
    ("金融服务", "finance"),
    ("工信", "industry"),  # alias
    ("电力", "energy"),
    ("融资", "finance"),
    ("工业 和 信息化", "industry"),  # spaces
    ("工业和信息化。", "industry"),  # punctuation
    ("（金融服务）", "finance"),
    ("金　融", "finance"),  # full-width space inside an alias
])
def test_field_by_name_or_alias(written, field_id):
    v = run(form(field=written))
    assert v.field == field_id


def test_written_field_beats_keywords():
    v = run(form(field="金融服务", facts="技改项目产能提升，工业园数字化改造。"))
    assert v.field == "finance"


def neutral(**texts) -> Form:
    """No field written; title/facts/requests replaced by `texts` (defaults carry no field keyword)."""
    base = dict(field=None, title="项目手续办理", facts="我公司项目手续办理进度慢，已等待三个月。",
                requests="恳请协调有关部门加快办理。")
    return form(**{**base, **texts})


def test_neutral_texts_carry_no_keyword_of_rules_min():
    f = neutral()
    words = [k for fr in RULES.fields for k in fr.keywords]
    assert not any(w in (f.title + f.facts + f.requests) for w in words)


def test_field_by_keywords():
    v = run(neutral(facts="我公司续贷申请被退回，需要授信支持。"))
    assert v.field == "finance"


def test_field_by_keywords_in_title_and_requests():
    v = run(neutral(title="光伏项目", requests="恳请协调电价执行问题。"))
    assert v.field == "energy"


def test_most_keyword_hits_win():
    # finance: 贷款, 授信, 担保 (3) against industry: 技改 (1)
    v = run(neutral(facts="技改项目需要贷款，银行授信不足，担保公司不愿担保额度。"))
    assert v.field == "finance"


def test_keyword_tie_is_incomplete_field():
    v = run(neutral(facts="技改项目需要贷款。"))  # industry 1, finance 1
    assert v.decision == "needs_correction"
    assert pairs(v) == {("FORM-INCOMPLETE", "field")}


def test_no_keyword_and_no_field_is_incomplete_field():
    v = run(neutral())
    assert v.decision == "needs_correction"
    assert pairs(v) == {("FORM-INCOMPLETE", "field")}
    assert_texts(v)


def test_keywords_only_in_reasons_do_not_count():
    # the spec infers from title, facts and requests; 理由依据 is not among them
    v = run(neutral(reasons="续贷和授信是企业生存的关键。"))
    assert pairs(v) == {("FORM-INCOMPLETE", "field")}


def test_unknown_written_field_falls_back_to_keywords():
    v = run(neutral(field="环保", facts="我公司光伏项目并网后电价执行有争议。"))
    assert v.decision == "accepted"
    assert v.field == "energy"


def test_unknown_written_field_without_keywords_is_incomplete_field():
    v = run(neutral(field="环保"))
    assert v.decision == "needs_correction"
    assert pairs(v) == {("FORM-INCOMPLETE", "field")}
    assert "环保" in v.reasons[0].text  # the reply says what was written that could not be read


# --------------------------------------------------------------------------- matching reaches the verdict

def test_match_later_is_deferred_with_the_session():
    v = run(form(field="金融服务"))
    assert v.decision == "deferred"
    assert v.rule_ids == ["MATCH-LATER"]
    assert v.session == "2027-03"


def test_window_closed_is_deferred():
    v = run(form(field="能源"), today=date(2026, 12, 18))
    assert v.decision == "deferred"
    assert v.rule_ids == ["WINDOW-CLOSED"]
    assert v.session is None


def test_session_full_is_deferred():
    v = run(form(), used=lambda sid: {"2026-12": 8}.get(sid, 0))
    assert v.decision == "deferred"
    assert v.rule_ids == ["SESSION-FULL"]
    assert v.session == "2027-03"


def test_no_session_is_deferred():
    v = run(form(), today=AFTER_ALL)
    assert v.decision == "deferred"
    assert v.rule_ids == ["NO-SESSION"]
    assert v.session is None
    assert_texts(v)


# --------------------------------------------------------------------------- keyword flags

@pytest.mark.parametrize("word,flag", [("起诉", "KW-JUDICIAL"), ("纪委", "KW-DISCIPLINE"),
                                       ("信访", "KW-PETITION"), ("提案", "KW-PROPOSAL")])
def test_keyword_flag_never_changes_an_acceptance(word, flag):
    facts = f"我公司曾考虑{word}，现希望协调有关部门加快增容审批手续。"
    v = run(form(facts=facts))
    assert v.decision == "accepted"
    assert v.rule_ids == ["MATCH-CURRENT"]
    assert [(f.rule, f.field) for f in v.flags] == [(flag, "facts")]
    assert_texts(v)


def test_judicial_keyword_with_judicial_no_stays_accepted():
    v = run(form(facts="对方已向法院起诉我公司，但本诉求与该案无关，涉及增容审批手续。"))
    assert v.decision == "accepted"
    assert "KW-JUDICIAL" in {f.rule for f in v.flags}
    assert not any(r.rule.startswith("KW-") for r in v.reasons)


def test_keyword_flags_also_ride_on_deferred_and_referred():
    deferred = run(form(field="金融服务", requests="请协调，避免再次上访。"))
    assert deferred.decision == "deferred"
    assert ("KW-PETITION", "requests") in {(f.rule, f.field) for f in deferred.flags}
    referred = run(off_roster(title="关于人大代表建议的落实"))
    assert referred.decision == "referred"
    assert ("KW-PROPOSAL", "title") in {(f.rule, f.field) for f in referred.flags}


def test_several_flags_at_once():
    v = run(form(facts="对方曾起诉我公司，我们也去过信访局。"))
    assert v.decision == "accepted"
    assert {f.rule for f in v.flags} == {"KW-JUDICIAL", "KW-PETITION"}


# --------------------------------------------------------------------------- precedence

# One form per decision level; each "both sides" form adds the loser's trigger to the winner's.
JUDICIAL = {"declarations": {"judicial": True}}
INCOMPLETE = {"contact_phone": None}
INVALID = {"contact_email": "bad@"}
VAGUE = {"requests": "略"}


def test_ignored_beats_rejected():
    v = run(form(**JUDICIAL), loop_reason="bounce")
    assert v.decision == "ignored"
    assert v.rule_ids == ["LOOP-AUTO"]


def test_ignored_beats_needs_correction():
    v = run(form(**INCOMPLETE, **VAGUE), loop_reason="list mail")
    assert (v.decision, v.rule_ids) == ("ignored", ["LOOP-AUTO"])
    assert run(None, loop_reason="our own mail").rule_ids == ["LOOP-AUTO"]  # not FORM-MISSING


def test_ignored_beats_referred():
    v = run(off_roster(), loop_reason="auto-reply")
    assert (v.decision, v.rule_ids) == ("ignored", ["LOOP-AUTO"])


def test_ignored_beats_accepted():
    v = run(form(), loop_reason="auto-reply")
    assert (v.decision, v.rule_ids) == ("ignored", ["LOOP-AUTO"])


def test_rejected_beats_needs_correction_with_only_the_exclusions():
    v = run(form(declarations={"judicial": True, "discipline": True, "proposal": None},
                 **INCOMPLETE, **INVALID, **VAGUE))
    assert v.decision == "rejected"
    assert sorted(v.rule_ids) == ["EX-DISCIPLINE", "EX-JUDICIAL"]


def test_anonymous_beats_incomplete():
    # no name and no code are also two empty mandatory fields: the rejection wins and says only that
    v = run(form(enterprise_name=None, credit_code=None, contact_name=None))
    assert v.decision == "rejected"
    assert v.rule_ids == ["EX-ANONYMOUS"]


def test_rejected_beats_referred():
    v = run(off_roster(declarations={"petition": True}))
    assert v.decision == "rejected"
    assert v.rule_ids == ["EX-PETITION"]


def test_rejected_beats_deferred():
    v = run(form(field="金融服务", **JUDICIAL))
    assert (v.decision, v.rule_ids) == ("rejected", ["EX-JUDICIAL"])


def test_needs_correction_beats_referred_with_every_correction():
    v = run(off_roster(contact_phone=None, contact_email="bad@", facts="见附件", declarations={"judicial": None}))
    assert v.decision == "needs_correction"
    assert pairs(v) == {("FORM-INCOMPLETE", "contact_phone"), ("FORM-INCOMPLETE", "declarations.judicial"),
                        ("FORM-INVALID", "contact_email"), ("EX-VAGUE", "facts")}
    assert len(v.reasons) == 4


def test_needs_correction_beats_accepted_with_all_kinds_together():
    bad_code = ROSTER_CODE[:-1] + ("L" if ROSTER_CODE[-1] != "L" else "M")
    v = run(form(credit_code=bad_code, contact_name=None, district="东城区", requests="待定",
                 declarations={"discipline": None}))
    assert v.decision == "needs_correction"
    assert pairs(v) == {("FORM-INVALID", "credit_code"), ("FORM-INCOMPLETE", "contact_name"),
                        ("FORM-INVALID", "district"), ("EX-VAGUE", "requests"),
                        ("FORM-INCOMPLETE", "declarations.discipline")}


def test_needs_correction_beats_deferred():
    v = run(form(**INVALID), today=AFTER_ALL)
    assert v.decision == "needs_correction"
    assert pairs(v) == {("FORM-INVALID", "contact_email")}


def test_unknown_field_beats_referral():
    v = run(off_roster(field=None, title="项目手续办理", facts="项目手续办理进度慢，已等待三个月。",
                       requests="恳请协调有关部门加快办理。"))
    assert v.decision == "needs_correction"
    assert pairs(v) == {("FORM-INCOMPLETE", "field")}


@pytest.mark.parametrize("today", [OPEN_DAY, date(2026, 11, 1), date(2026, 12, 18), AFTER_ALL])
def test_referred_beats_accepted_and_deferred(today):
    v = run(off_roster(), today=today)
    assert v.decision == "referred"
    assert v.rule_ids == ["SCOPE-REFER"]


def test_referred_beats_session_full():
    v = run(off_roster(), used=lambda _sid: 99)
    assert (v.decision, v.rule_ids) == ("referred", ["SCOPE-REFER"])
