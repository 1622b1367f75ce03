"""Working days: chinese-calendar's 2026 facts, holidays.toml for 2027, the weekends-only fallback."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import chinese_calendar
import pytest

from bot.calendar import WorkCalendar
from bot.rules.model import Holiday, Workday

# Test data standing in for rules/holidays.toml 2027 (NOT the official arrangement, which the State
# Council had not published when chinese-calendar 1.11.0 came out): 元旦 Fri 1 Jan .. Sun 3 Jan,
# 春节 (Spring Festival falls on Sat 6 Feb 2027) Sat 6 .. Sun 14 Feb, make-up days Sun 31 Jan, Sat 20 Feb.
HOLIDAYS_2027 = (
    Holiday("2027-yuandan", "元旦", date(2027, 1, 1), date(2027, 1, 3)),
    Holiday("2027-chunjie", "春节", date(2027, 2, 6), date(2027, 2, 14)),
)
WORKDAYS_2027 = (
    Workday("2027-chunjie-1", "春节调休", date(2027, 1, 31)),
    Workday("2027-chunjie-2", "春节调休", date(2027, 2, 20)),
)


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(n) for n in range((end - start).days + 1)]


@pytest.fixture
def cal() -> WorkCalendar:
    return WorkCalendar.from_rules(HOLIDAYS_2027, WORKDAYS_2027)


# -- 2026 from the library ------------------------------------------------------------------------


def test_agrees_with_library_on_every_day_of_2025_and_2026(cal):
    for d in days(date(2025, 1, 1), date(2026, 12, 31)):
        assert cal.is_working_day(d) == chinese_calendar.is_workday(d), d


def test_national_day_2026_golden_week(cal):
    # 国庆 2026 per chinese-calendar 1.11.0 (State Council notice): rest Thu 1 .. Wed 7 Oct,
    # make-up working days Sun 20 Sep and Sat 10 Oct; Thu 8 Oct is an ordinary working day.
    for d in days(date(2026, 10, 1), date(2026, 10, 7)):
        assert not cal.is_working_day(d), d
        assert chinese_calendar.is_holiday(d), d
    # Fundamentals: Monday to Wednesday inside the golden week are rest days although weekdays.
    for d in (date(2026, 10, 5), date(2026, 10, 6), date(2026, 10, 7)):
        assert d.weekday() < 5 and not cal.is_working_day(d)
    assert cal.is_working_day(date(2026, 10, 8))
    assert date(2026, 9, 20).weekday() == 6 and cal.is_working_day(date(2026, 9, 20))
    assert date(2026, 10, 10).weekday() == 5 and cal.is_working_day(date(2026, 10, 10))
    assert not cal.is_working_day(date(2026, 10, 11))  # the Sunday after stays a rest day
    # 中秋 Fri 25 Sep .. Sun 27 Sep, just before.
    assert not cal.is_working_day(date(2026, 9, 25))
    # Arithmetic across it: Wed 30 Sep -> the next working day is Thu 8 Oct.
    assert cal.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert cal.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)  # 8, 9, Sat 10
    assert cal.add_working_days(date(2026, 9, 30), 4) == date(2026, 10, 12)
    assert cal.working_days_between(date(2026, 9, 30), date(2026, 10, 12)) == 4
    assert cal.roll_forward(date(2026, 10, 3)) == date(2026, 10, 8)


def test_spring_festival_2026_with_make_up_saturdays(cal):
    # 春节 2026: rest Sun 15 .. Mon 23 Feb; make-up working days Sat 14 Feb and Sat 28 Feb.
    for d in days(date(2026, 2, 15), date(2026, 2, 23)):
        assert not cal.is_working_day(d), d
    for d in days(date(2026, 2, 16), date(2026, 2, 20)):  # a whole Mon-Fri week off
        assert d.weekday() < 5 and not cal.is_working_day(d)
    for d in (date(2026, 2, 14), date(2026, 2, 28)):
        assert d.weekday() == 5 and cal.is_working_day(d)
    assert cal.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert cal.add_working_days(date(2026, 2, 14), 1) == date(2026, 2, 24)
    # Tue 24 .. Fri 27 and Sat 28 are five working days after Sat 14 Feb.
    assert cal.working_days_between(date(2026, 2, 14), date(2026, 3, 1)) == 5


def test_new_year_2026_make_up_sunday(cal):
    # 元旦 2026: Thu 1 .. Sat 3 Jan off, Sun 4 Jan worked.
    assert not cal.is_working_day(date(2026, 1, 2))
    assert date(2026, 1, 4).weekday() == 6 and cal.is_working_day(date(2026, 1, 4))


# -- 2027 from holidays.toml ----------------------------------------------------------------------


def test_year_boundary_2026_to_2027_with_rules(cal, caplog):
    caplog.set_level(logging.WARNING)
    assert cal.has_data(2026) and cal.has_data(2027)
    assert not cal.is_working_day(date(2027, 1, 1))  # Friday, 元旦
    assert cal.is_working_day(date(2027, 1, 4))
    # Thu 31 Dec 2026 is 1, then Fri 1 Jan .. Sun 3 Jan are off, Mon 4 Jan is 2.
    assert cal.add_working_days(date(2026, 12, 30), 2) == date(2027, 1, 4)
    assert cal.working_days_between(date(2026, 12, 30), date(2027, 1, 4)) == 2
    # Outside the listed days 2027 is weekends-only, but it has data: no warning.
    assert cal.is_working_day(date(2027, 3, 1)) and not cal.is_working_day(date(2027, 3, 6))
    assert cal.fallback_years == set()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_spring_festival_2027_from_rules(cal):
    assert date(2027, 1, 31).weekday() == 6 and cal.is_working_day(date(2027, 1, 31))
    for d in days(date(2027, 2, 6), date(2027, 2, 14)):
        assert not cal.is_working_day(d), d
    assert cal.roll_forward(date(2027, 2, 7)) == date(2027, 2, 15)
    assert cal.add_working_days(date(2027, 2, 5), 1) == date(2027, 2, 15)
    assert date(2027, 2, 20).weekday() == 5 and cal.is_working_day(date(2027, 2, 20))


def test_rules_override_the_library():
    extra_rest = Holiday("x", "test rest day", date(2026, 12, 31), date(2026, 12, 31))
    extra_work = Workday("y", "test make-up day", date(2026, 12, 27))  # a Sunday
    cal = WorkCalendar.from_rules([extra_rest], [extra_work])
    assert chinese_calendar.is_workday(date(2026, 12, 31)) and not cal.is_working_day(date(2026, 12, 31))
    assert cal.is_working_day(date(2026, 12, 27))


def test_a_holiday_spanning_new_year_gives_both_years_data():
    cal = WorkCalendar.from_rules([Holiday("h", "元旦", date(2027, 12, 31), date(2028, 1, 2))], [])
    assert cal.has_data(2027) and cal.has_data(2028) and not cal.has_data(2029)


# -- no data: weekends only, said out loud ----------------------------------------------------------


def test_fallback_to_weekends_warns_once_per_year(caplog):
    caplog.set_level(logging.WARNING, logger="bot.calendar")
    cal = WorkCalendar.from_rules([], [])
    assert cal.has_data(2026) and not cal.has_data(2027)
    assert cal.is_working_day(date(2027, 1, 1))  # a Friday: no 元旦 without data
    assert not cal.is_working_day(date(2027, 1, 2))  # Saturday
    for d in days(date(2027, 1, 1), date(2027, 3, 31)):
        cal.is_working_day(d)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "2027" in warnings[0].getMessage()
    assert cal.fallback_years == {2027}
    cal.is_working_day(date(2028, 5, 1))
    assert cal.fallback_years == {2027, 2028}
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2


def test_fallback_uses_the_given_logger(caplog):
    log = logging.getLogger("test.calendar.custom")
    caplog.set_level(logging.WARNING, logger="test.calendar.custom")
    cal = WorkCalendar.from_rules([], [], log=log)
    cal.add_working_days(date(2026, 12, 30), 5)
    assert [r.name for r in caplog.records] == ["test.calendar.custom"]


def test_no_warning_for_years_the_library_covers(caplog):
    caplog.set_level(logging.WARNING)
    cal = WorkCalendar.from_rules([], [])
    cal.add_working_days(date(2004, 1, 1), 300)
    assert cal.fallback_years == set() and not caplog.records


# -- arithmetic -------------------------------------------------------------------------------------


def test_roll_forward_and_add_days_rolled(cal):
    assert cal.roll_forward(date(2026, 12, 23)) == date(2026, 12, 23)
    assert cal.roll_forward(date(2026, 12, 26)) == date(2026, 12, 28)  # Sat -> Mon
    assert cal.add_days_rolled(date(2026, 12, 24), 30) == date(2027, 1, 25)  # Sat 23 Jan -> Mon
    assert cal.add_days_rolled(date(2026, 12, 23), 30) == date(2027, 1, 22)  # a Friday stays


def test_add_working_days_zero_and_negative(cal):
    assert cal.add_working_days(date(2026, 10, 3), 0) == date(2026, 10, 3)
    with pytest.raises(ValueError):
        cal.add_working_days(date(2026, 10, 3), -1)


def test_working_days_between_edges(cal):
    a = date(2026, 12, 21)
    assert cal.working_days_between(a, a) == 0
    assert cal.working_days_between(a, date(2026, 12, 22)) == 1  # b counted, a not
    assert cal.working_days_between(date(2026, 12, 25), date(2026, 12, 27)) == 0  # Sat, Sun
    assert cal.working_days_between(date(2026, 12, 28), a) == -5


def test_working_days_before_examples(cal):
    # Mon 4 Jan 2027: 2 working days before is Wed 30 Dec (Thu 31 Dec and Mon 4 Jan lie in (D, due]).
    assert cal.working_days_before(date(2027, 1, 4), 2) == date(2026, 12, 30)
    assert cal.working_days_before(date(2027, 1, 4), 1) == date(2026, 12, 31)
    # A due on Sat 9 Jan 2027 counts like Fri 8 Jan: 1 working day before is Thu 7 Jan.
    assert cal.working_days_before(date(2027, 1, 9), 1) == date(2027, 1, 7)
    # Across 国庆: 2 working days before Fri 9 Oct 2026 is Wed 30 Sep (Thu 8, Fri 9).
    assert cal.working_days_before(date(2026, 10, 9), 2) == date(2026, 9, 30)


def test_working_days_before_inverts_the_count(cal):
    for due in days(date(2026, 9, 1), date(2027, 3, 1)):
        for n in (1, 2, 3, 5):
            d = cal.working_days_before(due, n)
            assert d < due and cal.is_working_day(d)
            assert cal.working_days_between(d, due) == n
            if cal.is_working_day(due):
                assert cal.add_working_days(d, n) == due


def reference_is_working(d: date) -> bool:
    """Independent of WorkCalendar: the library up to 2026, the test data above for 2027."""
    if d.year <= 2026:
        return chinese_calendar.is_workday(d)
    if any(w.date == d for w in WORKDAYS_2027):
        return True
    if any(h.start <= d <= h.end for h in HOLIDAYS_2027):
        return False
    return d.weekday() < 5


def test_add_working_days_matches_a_plain_count(cal):
    # Reference: walk the days and count the working ones, straight from the definition.
    for start in days(date(2026, 9, 1), date(2027, 2, 1)):
        d, left = start, 7
        while left:
            d += timedelta(1)
            left -= reference_is_working(d)
        assert cal.add_working_days(start, 7) == d
