"""bot.context.Clock: `--today` sets the day a run starts on; time then runs on, across midnight."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.context import Clock

TZ = ZoneInfo("Asia/Shanghai")


class Wall:
    """A wall clock that reads the times given, one per call (the last one from then on)."""

    def __init__(self, *times: datetime):
        self.times = list(times)

    def __call__(self, tz) -> datetime:
        return self.times.pop(0) if len(self.times) > 1 else self.times[0]


def test_the_given_day_at_the_real_time_of_day():
    clock = Clock(TZ, date(2026, 12, 1), wall=Wall(datetime(2027, 3, 9, 8, 0, tzinfo=TZ),
                                                   datetime(2027, 3, 9, 9, 30, tzinfo=TZ)))
    assert clock.now() == datetime(2026, 12, 1, 9, 30, tzinfo=TZ)
    assert clock.today() == date(2026, 12, 1)


def test_time_runs_on_across_midnight_instead_of_going_back_a_day():
    clock = Clock(TZ, date(2026, 12, 1), wall=Wall(datetime(2027, 3, 9, 23, 59, 59, tzinfo=TZ),
                                                   datetime(2027, 3, 9, 23, 59, 59, 900000, tzinfo=TZ),
                                                   datetime(2027, 3, 10, 0, 0, 1, tzinfo=TZ)))
    before, after = clock.now(), clock.now()
    assert after > before  # mail queued just before midnight is due just after it
    assert after == datetime(2026, 12, 2, 0, 0, 1, tzinfo=TZ)


def test_without_a_given_day_the_clock_is_the_wall_clock():
    moment = datetime(2027, 3, 9, 10, 0, tzinfo=TZ)
    assert Clock(TZ, wall=Wall(moment)).now() == moment
