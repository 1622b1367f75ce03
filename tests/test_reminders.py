"""Deadlines and reminder stages (spec/interfaces.md "Deadlines and reminders", forms.md "Deadlines")."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta

import chinese_calendar
import pytest

from bot.calendar import WorkCalendar
from bot.followup.reminders.due import (
    AssignmentIn,
    DueItem,
    Reminder,
    ReportIn,
    compute_deadlines,
    due_items,
    next_progress_due,
    reminders_due,
    sent_key,
)
from bot.rules.model import Deadlines, Holiday, Workday

# Test data for 2027 (not the official arrangement): 元旦 1..3 Jan, 春节 6..14 Feb, make-up 31 Jan, 20 Feb.
HOLIDAYS_2027 = (
    Holiday("2027-yuandan", "元旦", date(2027, 1, 1), date(2027, 1, 3)),
    Holiday("2027-chunjie", "春节", date(2027, 2, 6), date(2027, 2, 14)),
)
WORKDAYS_2027 = (
    Workday("2027-chunjie-1", "春节调休", date(2027, 1, 31)),
    Workday("2027-chunjie-2", "春节调休", date(2027, 2, 20)),
)
RULES = Deadlines()  # 7 working days, 30 days, 10 days, lead [2, 0], repeat 3, escalate after 5
ESCALATE_TO = ("dcs@example.gov.cn",)
FGW = ("fgw@example.gov.cn",)


def reference_is_working(d: date) -> bool:
    """Independent of WorkCalendar: the library up to 2026, the test data above for 2027."""
    if d.year <= 2026:
        return chinese_calendar.is_workday(d)
    if any(w.date == d for w in WORKDAYS_2027):
        return True
    if any(h.start <= d <= h.end for h in HOLIDAYS_2027):
        return False
    return d.weekday() < 5


def reference_working_between(a: date, b: date) -> int:
    return sum(reference_is_working(a + timedelta(n)) for n in range(1, (b - a).days + 1))


@pytest.fixture
def cal() -> WorkCalendar:
    return WorkCalendar.from_rules(HOLIDAYS_2027, WORKDAYS_2027)


def spec_case(**changes) -> AssignmentIn:
    """The spec's example: WHJD-2026-0001 assigned to fgw on Wed 23 Dec 2026."""
    base = AssignmentIn(
        case="WHJD-2026-0001",
        unit="fgw",
        role="lead",
        assigned=date(2026, 12, 23),
        long_term=False,
        result_due=date(2027, 1, 22),
        status_due=date(2027, 1, 4),
        reports=(),
        closed=False,
        unit_emails=FGW,
    )
    return replace(base, **changes)


def run(cal, today, *assignments, rules=RULES, escalate_to=ESCALATE_TO) -> list[Reminder]:
    return reminders_due(assignments, rules, cal, today, escalate_to)


def stages(cal, today, *assignments, rules=RULES) -> set[tuple[str, str, int]]:
    return {(r.kind, r.stage, r.days_overdue) for r in run(cal, today, *assignments, rules=rules)}


# -- deadlines --------------------------------------------------------------------------------------


def test_status_due_crosses_national_day(cal):
    # Mon 28 Sep 2026: Tue 29 (1), Wed 30 (2), 1..7 Oct off, Thu 8 (3), Fri 9 (4), Sat 10 make-up (5),
    # Sun 11 off, Mon 12 (6), Tue 13 (7). Result: 28 Sep + 30 days = Wed 28 Oct, a working day.
    assert compute_deadlines(date(2026, 9, 28), RULES, cal) == (date(2026, 10, 13), date(2026, 10, 28))


def test_result_due_in_golden_week_moves_to_first_working_day(cal):
    # Thu 3 Sep + 30 days = Sat 3 Oct, inside 国庆: moves to Thu 8 Oct.
    assert compute_deadlines(date(2026, 9, 3), RULES, cal)[1] == date(2026, 10, 8)


def test_spec_example_2026_12_23(cal):
    # Status: Thu 24 (1), Fri 25 (2), Mon 28..Thu 31 (3..6), 1..3 Jan off (元旦 + weekend), Mon 4 Jan (7).
    # Result: 23 Dec + 30 days = Fri 22 Jan 2027, a working day, so it stays.
    assert compute_deadlines(date(2026, 12, 23), RULES, cal) == (date(2027, 1, 4), date(2027, 1, 22))


def test_spec_example_needs_new_year_2027_as_a_rest_day(caplog):
    # The example holds as soon as Fri 1 Jan 2027 is a holiday (2-3 Jan are a weekend anyway) ...
    only_new_year = WorkCalendar.from_rules([Holiday("y", "元旦", date(2027, 1, 1), date(2027, 1, 1))], [])
    expected = (date(2027, 1, 4), date(2027, 1, 22))
    assert compute_deadlines(date(2026, 12, 23), RULES, only_new_year) == expected
    # ... and without 2027 data Fri 1 Jan counts as the 7th working day, with a warning.
    bare = WorkCalendar.from_rules([], [])
    assert compute_deadlines(date(2026, 12, 23), RULES, bare)[0] == date(2027, 1, 1)
    assert bare.fallback_years == {2027}
    assert any("2027" in r.getMessage() for r in caplog.records)


def test_result_due_in_2027_rolled_over_a_weekend(cal):
    # Thu 24 Dec 2026 + 30 days = Sat 23 Jan 2027 -> Mon 25 Jan.
    # Status: Fri 25 (1), Mon 28..Thu 31 (2..5), 1..3 Jan off, Mon 4 (6), Tue 5 Jan (7).
    assert compute_deadlines(date(2026, 12, 24), RULES, cal) == (date(2027, 1, 5), date(2027, 1, 25))


def test_result_due_rolled_over_spring_festival_2027(cal):
    # Fri 8 Jan 2027 + 30 days = Sun 7 Feb, inside 春节 (6..14 Feb): moves to Mon 15 Feb.
    assert compute_deadlines(date(2027, 1, 8), RULES, cal)[1] == date(2027, 2, 15)


def test_deadlines_match_the_work_plan_for_every_day(cal):
    for offset in range(0, 160):
        assigned = date(2026, 9, 1) + timedelta(offset)
        status_due, result_due = compute_deadlines(assigned, RULES, cal)
        # 落实情况: the 7th working day after the assignment day.
        assert reference_is_working(status_due)
        assert reference_working_between(assigned, status_due) == 7
        # 办理结果: 30 calendar days, then the first working day from there.
        plain = assigned + timedelta(30)
        assert result_due >= plain and reference_is_working(result_due)
        assert all(not reference_is_working(plain + timedelta(n)) for n in range((result_due - plain).days))


# -- due items --------------------------------------------------------------------------------------


def test_due_items_of_a_fresh_lead(cal):
    assert due_items(spec_case(), RULES, cal, date(2026, 12, 24)) == [
        DueItem("WHJD-2026-0001", "fgw", "status", date(2027, 1, 4)),
        DueItem("WHJD-2026-0001", "fgw", "result", date(2027, 1, 22)),
    ]


def test_reports_settle_their_own_kind_only(cal):
    status_in = spec_case(reports=(ReportIn("status", date(2026, 12, 28)),))
    assert [i.kind for i in due_items(status_in, RULES, cal, date(2027, 1, 5))] == ["result"]
    result_in = spec_case(reports=(ReportIn("result", date(2027, 1, 20)),))
    assert [i.kind for i in due_items(result_in, RULES, cal, date(2027, 1, 21))] == ["status"]
    extension = spec_case(reports=(ReportIn("extension", date(2027, 1, 2)),))
    assert [i.kind for i in due_items(extension, RULES, cal, date(2027, 1, 5))] == ["status", "result"]


def test_a_report_received_after_today_does_not_count_yet(cal):
    a = spec_case(reports=(ReportIn("status", date(2027, 1, 6)),))
    assert stages(cal, date(2027, 1, 5), a) == {("status", "overdue", 1)}
    assert stages(cal, date(2027, 1, 6), a) == set()


def test_co_units_and_closed_assignments_get_nothing(cal):
    co = spec_case(role="co", unit="zjj", unit_emails=("zjj@example.gov.cn",))
    closed = spec_case(closed=True)
    for offset in range(0, 60):
        today = date(2026, 12, 23) + timedelta(offset)
        assert due_items(co, RULES, cal, today) == [] and due_items(closed, RULES, cal, today) == []
        assert run(cal, today, co, closed) == []


# -- stages -----------------------------------------------------------------------------------------


def test_before_two_working_days_ahead(cal):
    # Status due Mon 4 Jan 2027: (Wed 30 Dec, Mon 4 Jan] holds Thu 31 Dec and Mon 4 Jan = 2 working days.
    assert run(cal, date(2026, 12, 30), spec_case()) == [
        Reminder("WHJD-2026-0001", "fgw", "status", date(2027, 1, 4), "before", 0, FGW)
    ]
    assert run(cal, date(2026, 12, 31), spec_case()) == []  # 1 working day: not a lead day
    # Result due Fri 22 Jan: 2 working days before is Wed 20 Jan.
    today = date(2027, 1, 20)
    assert stages(cal, today, spec_case()) == {("result", "before", 0)} | _overdue_status(today)


def _overdue_status(today: date) -> set[tuple[str, str, int]]:
    """What the unsettled status item (due 4 Jan 2027) adds on `today` under RULES."""
    late = (today - date(2027, 1, 4)).days
    found = set()
    if late >= 1 and (late - 1) % RULES.overdue_repeat_days == 0:
        found.add(("status", "overdue", late))
    if late >= RULES.escalate_after_overdue_days:
        found.add(("status", "escalation", late))
    return found


def test_other_lead_days(cal):
    rules = replace(RULES, reminder_lead_days=(3, 1, 0))
    # (Tue 29 Dec, Mon 4 Jan] holds 30 Dec, 31 Dec, 4 Jan = 3; (Thu 31 Dec, Mon 4 Jan] holds 4 Jan = 1.
    assert stages(cal, date(2026, 12, 29), spec_case(), rules=rules) == {("status", "before", 0)}
    assert stages(cal, date(2026, 12, 30), spec_case(), rules=rules) == set()
    assert stages(cal, date(2026, 12, 31), spec_case(), rules=rules) == {("status", "before", 0)}
    assert stages(cal, date(2027, 1, 4), spec_case(), rules=rules) == {("status", "due", 0)}


def test_due_day_only_when_zero_is_a_lead_day(cal):
    assert stages(cal, date(2027, 1, 4), spec_case()) == {("status", "due", 0)}
    no_zero = replace(RULES, reminder_lead_days=(2,))
    assert stages(cal, date(2027, 1, 4), spec_case(), rules=no_zero) == set()


def test_before_never_on_a_rest_day(cal):
    # Long-term; 落实情况 in on Wed 13 Jan: the next progress is 10 days later, Sat 23 Jan, rolled
    # to Mon 25 Jan.
    a = spec_case(long_term=True, reports=(ReportIn("status", date(2027, 1, 13)),))
    assert next_progress_due(a, RULES, cal) == date(2027, 1, 25)
    rules = replace(RULES, reminder_lead_days=(1, 0))
    # (Fri 22 Jan, Mon 25 Jan] holds only Mon 25 Jan: Friday is "1 working day before".
    assert stages(cal, date(2027, 1, 22), a, rules=rules) == {("result", "due", 0), ("progress", "before", 0)}
    assert stages(cal, date(2027, 1, 23), a, rules=rules) == set()  # Saturday
    assert stages(cal, date(2027, 1, 25), a, rules=rules) == {("progress", "due", 0), ("result", "overdue", 3)}
    for offset in range(0, 90):
        today = date(2026, 12, 23) + timedelta(offset)
        for r in run(cal, today, a, spec_case(), rules=replace(RULES, reminder_lead_days=(1, 2, 3))):
            assert reference_is_working(today)


def test_overdue_every_r_days(cal):
    # The spec's `remind --dry-run --json` example, as of 5 Jan 2027.
    assert [r.to_json() for r in run(cal, date(2027, 1, 5), spec_case())] == [
        {"case": "WHJD-2026-0001", "unit": "fgw", "kind": "status", "due": "2027-01-04",
         "stage": "overdue", "days_overdue": 1, "to": ["fgw@example.gov.cn"]}
    ]
    # Due Mon 4 Jan; 9/10 and 16/17 Jan are a weekend. A stage day on a weekend is sent on Monday
    # with the days overdue as of Monday (13 -> 14; with r = 2, 5 and 7 both become 7).
    cases = ((3, [1, 4, 7, 10, 14]), (2, [1, 3, 7, 9, 11, 14]), (1, [1, 2, 3, 4, 7, 8, 9, 10, 11, 14]))
    for repeat, expected_days in cases:
        rules = replace(RULES, overdue_repeat_days=repeat, escalate_after_overdue_days=99)
        due = date(2027, 1, 4)
        seen = [
            k for k in range(1, 15)
            if ("status", "overdue", k) in stages(cal, due + timedelta(k), spec_case(), rules=rules)
        ]
        assert seen == expected_days, repeat


def test_escalation_from_threshold_names_the_late_unit(cal):
    a = spec_case(reports=(ReportIn("status", date(2026, 12, 28)),))  # only the result is open
    # 4 days late: an overdue day (1 + 3) but below the threshold of 5.
    assert stages(cal, date(2027, 1, 26), a) == {("result", "overdue", 4)}
    [escalation] = run(cal, date(2027, 1, 27), a)  # 5 days after Fri 22 Jan; (5-1) % 3 != 0
    assert escalation == Reminder("WHJD-2026-0001", "fgw", "result", date(2027, 1, 22), "escalation", 5,
                                  ESCALATE_TO)
    # Day 7 is both an overdue day (1 + 2*3) and past the threshold.
    assert stages(cal, date(2027, 1, 29), a) == {("result", "overdue", 7), ("result", "escalation", 7)}


def test_escalation_without_a_configured_unit_still_shows(cal):
    [r] = [r for r in run(cal, date(2027, 1, 11), spec_case(), escalate_to=()) if r.stage == "escalation"]
    assert (r.stage, r.to) == ("escalation", ())


def test_escalation_sent_once_with_the_sent_log(cal):
    sent: dict[tuple, date] = {}

    def send_day(today):
        for r in run(cal, today, spec_case()):
            sent.setdefault(sent_key(r, today), today)

    for offset in range(0, 30):
        send_day(date(2027, 1, 1) + timedelta(offset))
    escalations = [(k, d) for k, d in sent.items() if k[4] == "escalation"]
    # Status (due 4 Jan) would escalate on Sat 9 Jan: sent Mon 11 Jan; result (due 22 Jan) on 27 Jan.
    assert sorted(d for _, d in escalations) == [date(2027, 1, 11), date(2027, 1, 27)]


def test_escalation_catches_up_after_downtime(cal):
    sent: dict[tuple, date] = {}
    run_days = [date(2027, 1, 5), date(2027, 1, 6), date(2027, 1, 7)]  # then down 8..11 Jan
    run_days += [date(2027, 1, 12) + timedelta(n) for n in range(5)]
    for today in run_days:
        for r in run(cal, today, spec_case()):
            sent.setdefault(sent_key(r, today), today)
    status_escalations = [d for k, d in sent.items() if k[2] == "status" and k[4] == "escalation"]
    assert status_escalations == [date(2027, 1, 12)]  # the first run with >= 5 days overdue
    overdue_days = sorted(d for k, d in sent.items() if k[2] == "status" and k[4] == "overdue")
    assert overdue_days == [date(2027, 1, 5), date(2027, 1, 14)]  # 1 and 10 days late; 4 and 7 were down


# -- long-term progress (十日一报) --------------------------------------------------------------------


def test_progress_chain(cal):
    a = spec_case(long_term=True)
    # The 落实情况 (due Mon 4 Jan) is the first report: the first 十日一报 is 10 days after it, never
    # before it (23 Dec + 10 days would be Sat 2 Jan, inside 元旦).
    assert next_progress_due(a, RULES, cal) == date(2027, 1, 14)
    early = replace(a, reports=(ReportIn("status", date(2026, 12, 28)),))
    assert next_progress_due(early, RULES, cal) == date(2027, 1, 14)  # the later of due date and report
    once = replace(a, reports=(ReportIn("progress", date(2027, 1, 5)),))
    assert next_progress_due(once, RULES, cal) == date(2027, 1, 15)
    twice = replace(a, reports=(ReportIn("progress", date(2027, 1, 5)), ReportIn("status", date(2027, 1, 6)),
                                ReportIn("progress", date(2027, 1, 14))))
    assert next_progress_due(twice, RULES, cal) == date(2027, 1, 25)  # Sun 24 Jan rolled to Monday
    done = replace(twice, reports=twice.reports + (ReportIn("result", date(2027, 1, 20)),))
    assert next_progress_due(done, RULES, cal) is None
    assert next_progress_due(spec_case(), RULES, cal) is None
    assert next_progress_due(a, replace(RULES, long_term_report_days=15), cal) == date(2027, 1, 19)
    # Across 春节 (6..14 Feb in this test data): 1 Feb + 10 days = 11 Feb -> Mon 15 Feb.
    feb = replace(a, reports=(ReportIn("progress", date(2027, 2, 1)),))
    assert next_progress_due(feb, RULES, cal) == date(2027, 2, 15)


def test_progress_reminders_follow_the_reports(cal):
    a = spec_case(long_term=True, reports=(ReportIn("status", date(2026, 12, 28)),))
    # First progress due Thu 14 Jan; 2 working days before it is Tue 12 Jan.
    assert stages(cal, date(2027, 1, 12), a) == {("progress", "before", 0)}
    assert stages(cal, date(2027, 1, 14), a) == {("progress", "due", 0)}
    assert stages(cal, date(2027, 1, 15), a) == {("progress", "overdue", 1)}
    reported = replace(a, reports=a.reports + (ReportIn("progress", date(2027, 1, 13)),))
    assert stages(cal, date(2027, 1, 14), reported) == set()  # settled; next due Sat 23 -> Mon 25 Jan
    # 2 working days before Mon 25 Jan is Thu 21 Jan (Fri 22 and Mon 25 lie between).
    assert stages(cal, date(2027, 1, 21), reported) == {("progress", "before", 0)}
    assert stages(cal, date(2027, 1, 25), reported) == {("progress", "due", 0), ("result", "overdue", 3)}
    finished = replace(reported, reports=reported.reports + (ReportIn("result", date(2027, 1, 20)),))
    assert stages(cal, date(2027, 1, 25), finished) == set()


# -- output -----------------------------------------------------------------------------------------


def test_sorted_and_json_shaped(cal):
    today = date(2027, 1, 15)  # status 11 days late (escalation), progress 1 day late
    b = spec_case(case="WHJD-2026-0002", unit="hbw",
                  unit_emails=("hbw@example.gov.cn", "hbw2@example.gov.cn"))
    a = spec_case(long_term=True)  # progress due Thu 14 Jan
    found = run(cal, today, b, a)
    keys = [(r.case, r.unit, r.kind, r.stage) for r in found]
    assert keys == sorted(keys)
    assert keys == [
        ("WHJD-2026-0001", "fgw", "progress", "overdue"),
        ("WHJD-2026-0001", "fgw", "status", "escalation"),
        ("WHJD-2026-0002", "hbw", "status", "escalation"),
    ]
    as_json = found[0].to_json()
    assert set(as_json) == {"case", "unit", "kind", "due", "stage", "days_overdue", "to"}
    assert as_json == {"case": "WHJD-2026-0001", "unit": "fgw", "kind": "progress", "due": "2027-01-14",
                       "stage": "overdue", "days_overdue": 1, "to": ["fgw@example.gov.cn"]}
    assert found[2].to_json()["to"] == list(ESCALATE_TO)
    json.dumps([r.to_json() for r in found], ensure_ascii=False)


def test_every_day_matches_the_spec_text(cal):
    """Brute force over 90 days and several rule sets: the stages straight from the spec's wording."""
    assignments = [
        spec_case(),
        spec_case(case="C2", long_term=True, reports=(ReportIn("progress", date(2027, 1, 8)),)),
        spec_case(case="C3", assigned=date(2027, 1, 8), status_due=date(2027, 1, 19),
                  result_due=date(2027, 2, 15)),
    ]
    rule_sets = [RULES, replace(RULES, reminder_lead_days=(3, 1), overdue_repeat_days=2,
                                escalate_after_overdue_days=3)]
    for rules in rule_sets:
        for offset in range(0, 90):
            today = date(2026, 12, 20) + timedelta(offset)
            expected = {stage for a in assignments for stage in spec_stages(a, rules, today)}
            found = run(cal, today, *assignments, rules=rules)
            got = {(r.case, r.kind, r.due, r.stage, r.days_overdue, r.to) for r in found}
            assert got == expected, today


def reference_roll(d: date) -> date:
    while not reference_is_working(d):
        d += timedelta(1)
    return d


def spec_stages(a: AssignmentIn, rules: Deadlines, today: date):
    """The spec's wording, written out independently: working days only; a stage whose day was a
    rest day since the previous working day is sent today, with today's days overdue."""
    if not reference_is_working(today):
        return
    previous = today - timedelta(1)
    while not reference_is_working(previous):
        previous -= timedelta(1)
    window = [previous + timedelta(n) for n in range(1, (today - previous).days + 1)]
    known = [r for r in a.reports if r.received <= today]
    items = []
    if not any(r.kind == "status" for r in known):
        items.append(("status", a.status_due))
    if not any(r.kind == "result" for r in known):
        items.append(("result", a.result_due))
        if a.long_term:
            last = max([a.status_due] + [r.received for r in known if r.kind in ("status", "progress")])
            items.append(("progress", reference_roll(last + timedelta(rules.long_term_report_days))))
    for kind, due in items:
        late = (today - due).days
        if late < 0:
            if reference_working_between(today, due) in [n for n in rules.reminder_lead_days if n > 0]:
                yield (a.case, kind, due, "before", 0, a.unit_emails)
        if late == 0 and 0 in rules.reminder_lead_days:
            yield (a.case, kind, due, "due", 0, a.unit_emails)
        stage_days = [(day - due).days for day in window]
        if late >= 1 and any(k >= 1 and (k - 1) % rules.overdue_repeat_days == 0 for k in stage_days):
            yield (a.case, kind, due, "overdue", late, a.unit_emails)
        if late >= rules.escalate_after_overdue_days and late >= 1:
            yield (a.case, kind, due, "escalation", late, ESCALATE_TO)


def test_nothing_on_a_rest_day_and_each_stage_once_on_the_next_working_day(cal):
    """Over 元旦 and 春节 (test data): no reminder on a rest day; each (item, stage day) is sent
    once, on the first working day on or after its day."""
    a = spec_case(assigned=date(2027, 1, 22), status_due=date(2027, 2, 2), result_due=date(2027, 2, 22),
                  long_term=True)
    sent = []
    for offset in range(0, 70):
        today = date(2027, 1, 20) + timedelta(offset)
        found = run(cal, today, a)
        assert not found or reference_is_working(today), today
        sent += [(r.kind, r.stage, today) for r in found]
    # 落实情况 due Tue 2 Feb. Two working days before it is Sun 31 Jan, a make-up working day.
    # Its overdue days 1, 4, 7, 10, 13 fall on 3 Feb, 6, 9, 12 Feb (春节) and Mon 15 Feb: the three
    # inside the holiday and the 15th's own are one reminder on 15 Feb; the escalation (5 days,
    # 7 Feb) also waits for 15 Feb.
    status = [(stage, day) for kind, stage, day in sent if kind == "status"]
    assert status[:5] == [("before", date(2027, 1, 31)), ("due", date(2027, 2, 2)),
                          ("overdue", date(2027, 2, 3)), ("escalation", date(2027, 2, 15)),
                          ("overdue", date(2027, 2, 15))]
