"""Two-way matching across session windows and capacity (spec/interfaces.md "Matching (two-way)").

tests/data/rules-min/sessions.toml:
  2026-12  date 2026-12-22, window 2026-11-24 .. 2026-12-15, capacity 8, leader vm-industry
           (no `fields`: takes the leader's, industry and energy)
  2027-03  date 2027-03-23, window 2027-02-22 .. 2027-03-16, capacity 2, leader mayor (finance only),
           but `fields = ["finance", "industry"]` overrides the leader's
So energy is only taken by 2026-12, finance only by 2027-03, industry by both.

Each case is written from the spec's wording:
- the open session is the earliest session whose window holds D;
- MATCH-CURRENT when the open session takes the field and has room;
- otherwise `session` is the earliest session after D, not full, not closed, taking the field, or null;
- SESSION-FULL: the open session takes the field but is full;
- WINDOW-CLOSED: the next session taking the field is ahead but its window has closed;
- MATCH-LATER: a later session takes it (also when no window is open on D);
- NO-SESSION: no session dated after D takes it.
"""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from bot.forms.model import Declarations, Form
from bot.rules.decide import Intake, decide
from bot.rules.loader import load_rules
from bot.rules.matching import match_session, open_session

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = ROOT / "tests" / "data" / "rules-min"
RULES = load_rules(MINIMAL)

D = date.fromisoformat
FIELD_NAME = {"industry": "工业和信息化", "energy": "能源", "finance": "金融服务"}


def seats(**taken):
    """`used` for match_session/decide: seats already taken per session id (keys with _ for -)."""
    counts = {k.replace("_", "-"): v for k, v in taken.items()}
    return lambda sid: counts.get(sid, 0)


NOBODY = seats()
DEC_FULL = seats(**{"2026_12": 8})
MAR_FULL = seats(**{"2027_03": 2})
BOTH_FULL = seats(**{"2026_12": 8, "2027_03": 2})


def match(field_id, today, used=NOBODY, rules=RULES):
    m = match_session(field_id, rules, D(today), used)
    return m.rule, (m.session.id if m.session else None)


def test_rules_min_is_what_these_tests_assume():
    dec, mar = RULES.session_by_id("2026-12"), RULES.session_by_id("2027-03")
    assert (dec.date, dec.registration_opens, dec.registration_closes, dec.capacity) == \
        (D("2026-12-22"), D("2026-11-24"), D("2026-12-15"), 8)
    assert (mar.date, mar.registration_opens, mar.registration_closes, mar.capacity) == \
        (D("2027-03-23"), D("2027-02-22"), D("2027-03-16"), 2)
    assert set(RULES.leader_by_id("mayor").fields) == {"finance"}


# --------------------------------------------------------------------------- the open session

@pytest.mark.parametrize("today,expected", [
    ("2026-11-23", None), ("2026-11-24", "2026-12"), ("2026-12-15", "2026-12"), ("2026-12-16", None),
    ("2027-02-21", None), ("2027-02-22", "2027-03"), ("2027-03-16", "2027-03"), ("2027-03-17", None),
])
def test_open_session_window_bounds_are_inclusive(today, expected):
    s = open_session(RULES, D(today))
    assert (s.id if s else None) == expected


# --------------------------------------------------------------------------- before any window opens

@pytest.mark.parametrize("field_id,session", [("industry", "2026-12"), ("energy", "2026-12"),
                                              ("finance", "2027-03")])
def test_before_any_window_is_match_later(field_id, session):
    assert match(field_id, "2026-11-01") == ("MATCH-LATER", session)


def test_day_before_the_window_opens_is_match_later():
    assert match("industry", "2026-11-23") == ("MATCH-LATER", "2026-12")


# --------------------------------------------------------------------------- inside a window

@pytest.mark.parametrize("today", ["2026-11-24", "2026-12-01", "2026-12-15"])
@pytest.mark.parametrize("field_id", ["industry", "energy"])
def test_inside_the_window_matching_is_current(field_id, today):
    assert match(field_id, today) == ("MATCH-CURRENT", "2026-12")


def test_inside_a_window_not_matching_goes_to_the_next_session_taking_it():
    assert match("finance", "2026-12-01") == ("MATCH-LATER", "2027-03")


def test_inside_a_window_not_matching_with_no_later_session_is_no_session():
    assert match("energy", "2027-03-01") == ("NO-SESSION", None)


@pytest.mark.parametrize("field_id", ["finance", "industry"])
def test_second_window_matching_is_current(field_id):
    assert match(field_id, "2027-03-01") == ("MATCH-CURRENT", "2027-03")


# --------------------------------------------------------------------------- between windows

@pytest.mark.parametrize("today", ["2026-12-16", "2026-12-21"])
def test_window_closed_points_to_the_next_open_window_session(today):
    # 2026-12 (next for industry) is ahead but closed; 2027-03 also takes industry and is not closed
    assert match("industry", today) == ("WINDOW-CLOSED", "2027-03")


def test_window_closed_with_no_other_session_is_null():
    assert match("energy", "2026-12-18") == ("WINDOW-CLOSED", None)


def test_closed_window_of_a_session_not_taking_the_field_does_not_matter():
    assert match("finance", "2026-12-18") == ("MATCH-LATER", "2027-03")


@pytest.mark.parametrize("field_id", ["finance", "industry"])
def test_window_closed_before_the_last_session(field_id):
    assert match(field_id, "2027-03-20") == ("WINDOW-CLOSED", None)


def test_on_the_session_day_it_is_past():
    # "no session dated after D": 2026-12 is not after 2026-12-22
    assert match("energy", "2026-12-22") == ("NO-SESSION", None)
    assert match("industry", "2026-12-22") == ("MATCH-LATER", "2027-03")


def test_between_sessions_for_a_later_field():
    assert match("industry", "2027-01-10") == ("MATCH-LATER", "2027-03")
    assert match("finance", "2027-01-10") == ("MATCH-LATER", "2027-03")


# --------------------------------------------------------------------------- capacity

def test_room_left_is_still_current():
    assert match("industry", "2026-12-01", seats(**{"2026_12": 7})) == ("MATCH-CURRENT", "2026-12")


def test_full_open_session_points_to_the_next_session_taking_the_field():
    assert match("industry", "2026-12-01", DEC_FULL) == ("SESSION-FULL", "2027-03")


def test_full_open_session_with_no_other_session_is_null():
    assert match("energy", "2026-12-01", DEC_FULL) == ("SESSION-FULL", None)


def test_full_open_session_and_full_next_session_is_null():
    assert match("industry", "2026-12-01", BOTH_FULL) == ("SESSION-FULL", None)


def test_over_capacity_counts_as_full():
    assert match("industry", "2026-12-01", seats(**{"2026_12": 12}))[0] == "SESSION-FULL"


@pytest.mark.parametrize("field_id", ["finance", "industry"])
def test_full_last_session_is_session_full_with_null(field_id):
    assert match(field_id, "2027-03-01", MAR_FULL) == ("SESSION-FULL", None)


def test_capacity_of_another_session_does_not_matter():
    assert match("finance", "2026-12-01", DEC_FULL) == ("MATCH-LATER", "2027-03")
    assert match("industry", "2026-12-01", MAR_FULL) == ("MATCH-CURRENT", "2026-12")


def test_a_full_later_session_is_skipped_by_match_later():
    assert match("industry", "2026-11-01", DEC_FULL) == ("MATCH-LATER", "2027-03")


def test_full_later_session_is_not_a_target():
    assert match("finance", "2026-12-01", MAR_FULL) == ("MATCH-LATER", None)


def test_used_is_asked_per_session_id():
    asked = []

    def used(sid):
        asked.append(sid)
        return 0

    match_session("industry", RULES, D("2026-12-01"), used)
    assert set(asked) <= {"2026-12", "2027-03"} and "2026-12" in asked


# --------------------------------------------------------------------------- after the last session

@pytest.mark.parametrize("today", ["2027-03-23", "2027-04-01", "2030-01-01"])
@pytest.mark.parametrize("field_id", ["industry", "energy", "finance"])
def test_after_the_last_session_is_no_session(field_id, today):
    assert match(field_id, today) == ("NO-SESSION", None)


# --------------------------------------------------------------------------- session fields vs leader fields

def test_session_fields_override_adds_a_field_the_leader_lacks():
    # the mayor takes only finance, but 2027-03 names industry too
    assert match("industry", "2027-03-01") == ("MATCH-CURRENT", "2027-03")


def test_session_without_fields_takes_the_leaders():
    assert set(RULES.session_by_id("2026-12").fields) == {"industry", "energy"}
    assert match("energy", "2026-12-01") == ("MATCH-CURRENT", "2026-12")


@pytest.fixture
def dec_energy_only(tmp_path):
    """rules-min with `fields = ["energy"]` on 2026-12: the override drops the leader's industry."""
    target = tmp_path / "rules"
    shutil.copytree(MINIMAL, target)
    path = target / "sessions.toml"
    text = path.read_text(encoding="utf-8")
    text, n = re.subn(r'(leader = "vm-industry"\n)', r'\1fields = ["energy"]\n', text)
    assert n == 1
    path.write_text(text, encoding="utf-8")
    return load_rules(target)


def test_session_fields_override_removes_a_field_of_the_leader(dec_energy_only):
    assert match("industry", "2026-12-01", rules=dec_energy_only) == ("MATCH-LATER", "2027-03")
    assert match("energy", "2026-12-01", rules=dec_energy_only) == ("MATCH-CURRENT", "2026-12")
    # and the closed window of a session that no longer takes industry does not make it WINDOW-CLOSED
    assert match("industry", "2026-12-18", rules=dec_energy_only) == ("MATCH-LATER", "2027-03")


# --------------------------------------------------------------------------- through decide()

ROSTER_CODE = "91150302MA0N1RX23K"


def form_for(field_id: str) -> Form:
    return Form(enterprise_name="乌海市金沙湾新材料科技有限公司", credit_code=ROSTER_CODE, district="海勃湾区",
                enterprise_types=["规上企业"], contact_name="李晓明", contact_phone="13904731234",
                field=FIELD_NAME[field_id], title="项目手续办理",
                facts="我公司项目手续办理进度慢，已等待三个月。", requests="恳请协调有关部门加快办理。",
                declarations=Declarations(False, False, False, False), signed_date="2026-11-30")


@pytest.mark.parametrize("field_id,today,used,decision,rule,session", [
    ("industry", "2026-11-01", NOBODY, "deferred", "MATCH-LATER", "2026-12"),
    ("industry", "2026-12-01", NOBODY, "accepted", "MATCH-CURRENT", "2026-12"),
    ("finance", "2026-12-01", NOBODY, "deferred", "MATCH-LATER", "2027-03"),
    ("industry", "2026-12-16", NOBODY, "deferred", "WINDOW-CLOSED", "2027-03"),
    ("energy", "2026-12-16", NOBODY, "deferred", "WINDOW-CLOSED", None),
    ("industry", "2026-12-01", DEC_FULL, "deferred", "SESSION-FULL", "2027-03"),
    ("energy", "2026-12-01", DEC_FULL, "deferred", "SESSION-FULL", None),
    ("industry", "2027-03-01", NOBODY, "accepted", "MATCH-CURRENT", "2027-03"),
    ("energy", "2027-03-01", NOBODY, "deferred", "NO-SESSION", None),
    ("finance", "2027-04-01", NOBODY, "deferred", "NO-SESSION", None),
])
def test_decide_carries_the_match(field_id, today, used, decision, rule, session):
    v = decide(Intake(form_for(field_id), [], "ent@corp.test"), RULES, D(today), used)
    assert v.decision == decision
    assert v.rule_ids == [rule]
    assert v.session == session
    assert v.field == field_id
    assert v.reasons[0].text.strip()


def test_decide_text_names_the_session_date_when_one_is_set():
    v = decide(Intake(form_for("finance"), [], "ent@corp.test"), RULES, D("2026-12-01"), NOBODY)
    assert "2027年3月23日" in v.reasons[0].text


# --------------------------------------------------------------------------- hand-made calendars

def session_toml(sid, day, opens, closes, leader="vm-industry", fields=None, capacity=5):
    extra = f"fields = {fields!r}\n".replace("'", '"') if fields is not None else ""
    return (f'[[session]]\nid = "{sid}"\ndate = {day}\nperiod = "上午"\nstart = "09:00"\nend = "12:00"\n'
            f'leader = "{leader}"\n{extra}location = "会议室"\nmeeting_format = "座谈会"\n'
            f"registration_opens = {opens}\nregistration_closes = {closes}\ncapacity = {capacity}\n\n")


@pytest.fixture
def with_sessions(tmp_path):
    def make(*sessions: str):
        target = tmp_path / f"rules{len(list(tmp_path.iterdir()))}"
        shutil.copytree(MINIMAL, target)
        (target / "sessions.toml").write_text("".join(sessions), encoding="utf-8")
        return load_rules(target)
    return make


def test_overlapping_windows_the_earliest_session_is_the_open_one(with_sessions):
    rules = with_sessions(
        session_toml("A", "2027-01-11", "2026-12-01", "2027-01-05", fields=["energy"]),
        session_toml("B", "2027-01-20", "2026-12-01", "2027-01-15", fields=["industry"]),
    )
    assert open_session(rules, D("2026-12-10")).id == "A"
    assert match("energy", "2026-12-10", rules=rules) == ("MATCH-CURRENT", "A")
    # B's window holds D too, but B is not *the* open session: industry waits for B
    assert match("industry", "2026-12-10", rules=rules) == ("MATCH-LATER", "B")


def test_full_open_session_skips_a_later_session_whose_window_closed(with_sessions):
    # B is dated after A but its window closed before A's opened
    rules = with_sessions(
        session_toml("A", "2026-12-22", "2026-12-01", "2026-12-15", fields=["industry"], capacity=1),
        session_toml("B", "2027-01-05", "2026-11-01", "2026-11-30", fields=["industry"]),
        session_toml("C", "2027-02-01", "2027-01-10", "2027-01-25", fields=["industry"]),
    )
    assert match("industry", "2026-12-10", seats(A=1), rules=rules) == ("SESSION-FULL", "C")


def test_window_closed_session_is_the_next_open_window_one(with_sessions):
    rules = with_sessions(
        session_toml("A", "2027-01-05", "2026-11-01", "2026-11-30", fields=["industry"]),
        session_toml("B", "2027-02-01", "2026-11-01", "2026-11-20", fields=["industry"]),
        session_toml("C", "2027-03-01", "2027-02-01", "2027-02-20", fields=["industry"]),
    )
    assert match("industry", "2026-12-10", rules=rules) == ("WINDOW-CLOSED", "C")


def test_match_later_skips_a_full_next_session(with_sessions):
    rules = with_sessions(
        session_toml("A", "2027-01-05", "2026-12-20", "2026-12-30", fields=["finance"], capacity=1),
        session_toml("B", "2027-02-01", "2027-01-10", "2027-01-20", fields=["finance"]),
    )
    assert match("finance", "2026-12-10", seats(A=1), rules=rules) == ("MATCH-LATER", "B")
