"""Chinese working days: chinese-calendar for the years it covers, rules/holidays.toml on top.

Precedence for one date: a holidays.toml `[[workday]]` (调休 make-up day) is a working day; else a
holidays.toml `[[holiday]]` is a rest day; else chinese-calendar decides when it has data for the year;
else the year has no data at all and we count weekends only -- never silently: a warning is logged once
per year and the year lands in `fallback_years` so the admin can be told.

Every answer is memoised per date, because reminders over 100,000 assignments ask about the same few
hundred dates again and again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, timedelta
from typing import TYPE_CHECKING

import chinese_calendar

if TYPE_CHECKING:  # types only: the calendar sits below the rules and reads any such entries
    from bot.rules.model import Holiday, Ruleset, Workday

_LOG = logging.getLogger(__name__)
_ONE_DAY = timedelta(days=1)


class WorkCalendar:
    """Answers "is this a working day" and the date arithmetic built on it."""

    def __init__(
        self,
        rest_days: Iterable[date] = (),
        work_days: Iterable[date] = (),
        log: logging.Logger = _LOG,
    ) -> None:
        self._rest = frozenset(rest_days)
        self._work = frozenset(work_days)
        # A year with any holidays.toml entry counts as "has data": the admin maintains it.
        self._rule_years = frozenset(d.year for d in self._rest | self._work)
        self._log = log
        self._working: dict[date, bool] = {}
        self._library_years: dict[int, bool] = {}
        self._before: dict[tuple[date, int], date] = {}
        self.fallback_years: set[int] = set()

    @classmethod
    def from_rules(
        cls,
        holidays: Iterable[Holiday],
        workdays: Iterable[Workday],
        log: logging.Logger = _LOG,
    ) -> WorkCalendar:
        """Build from the holidays.toml entries (a holiday spans start..end inclusive)."""
        rest = [d for h in holidays for d in _date_range(h.start, h.end)]
        return cls(rest, (w.date for w in workdays), log)

    @classmethod
    def from_ruleset(cls, ruleset: Ruleset, log: logging.Logger = _LOG) -> WorkCalendar:
        """Convenience: the calendar of a loaded Ruleset."""
        return cls.from_rules(ruleset.holidays, ruleset.workdays, log)

    # -- facts ------------------------------------------------------------------------------------

    def has_data(self, year: int) -> bool:
        """True when the library or holidays.toml knows the year's holidays."""
        return year in self._rule_years or self._library_has(year)

    def is_working_day(self, d: date) -> bool:
        known = self._working.get(d)
        if known is None:
            known = self._working[d] = self._decide(d)
        return known

    # -- arithmetic -------------------------------------------------------------------------------

    def add_working_days(self, d: date, n: int) -> date:
        """The n-th working day after d (d itself not counted); n == 0 gives d."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        while n > 0:
            d += _ONE_DAY
            if self.is_working_day(d):
                n -= 1
        return d

    def roll_forward(self, d: date) -> date:
        """d when it is a working day, else the next working day."""
        while not self.is_working_day(d):
            d += _ONE_DAY
        return d

    def previous_working_day(self, d: date) -> date:
        """The last working day strictly before d."""
        d -= _ONE_DAY
        while not self.is_working_day(d):
            d -= _ONE_DAY
        return d

    def add_days_rolled(self, d: date, n: int) -> date:
        """d + n calendar days, moved to the next working day when that is a rest day."""
        return self.roll_forward(d + timedelta(days=n))

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in (a, b]; negative when b < a (then it counts (b, a])."""
        if b < a:
            return -self.working_days_between(b, a)
        count, d = 0, a
        while d < b:
            d += _ONE_DAY
            count += self.is_working_day(d)
        return count

    def working_days_before(self, due: date, n: int) -> date:
        """The working day D before due with working_days_between(D, due) == n.

        For a working-day due this is the n-th working day before it. For a due on a rest day the
        count runs as if due were the last working day before it (the unit's last office day).
        """
        key = (due, n)
        found = self._before.get(key)
        if found is None:
            found = self._before[key] = self._walk_back(due, n)
        return found

    # -- internals --------------------------------------------------------------------------------

    def _walk_back(self, due: date, n: int) -> date:
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        # D is the (n+1)-th working day counting back from due (due included when working):
        # the n working days after D are then exactly those in (D, due].
        d, seen = due, 0
        while True:
            if self.is_working_day(d):
                seen += 1
                if seen == n + 1:
                    return d
            d -= _ONE_DAY

    def _decide(self, d: date) -> bool:
        if d in self._work:
            return True
        if d in self._rest:
            return False
        if self._library_has(d.year):
            return chinese_calendar.is_workday(d)
        if d.year not in self._rule_years:
            self._note_fallback(d.year)
        return d.weekday() < 5

    def _library_has(self, year: int) -> bool:
        # Probe once per year: the library raises NotImplementedError outside its data range.
        known = self._library_years.get(year)
        if known is None:
            try:
                chinese_calendar.is_workday(date(year, 1, 1))
                known = True
            except NotImplementedError:
                known = False
            self._library_years[year] = known
        return known

    def _note_fallback(self, year: int) -> None:
        if year in self.fallback_years:
            return
        self.fallback_years.add(year)
        self._log.warning(
            "no holiday data for %d (chinese-calendar %s has none, rules/holidays.toml has no entry "
            "for that year): counting weekends only; add the year's holidays to rules/holidays.toml",
            year,
            chinese_calendar.__version__,
        )


def _date_range(start: date, end: date) -> Iterable[date]:
    d = start
    while d <= end:
        yield d
        d += _ONE_DAY
