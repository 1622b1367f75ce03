"""Jobs of the daemon that follow the clock: the day's reminders and the week's digest."""

from __future__ import annotations

import logging
from datetime import date, time

from sqlmodel import Session

from bot.context import Runtime
from bot.followup.notify import queue_digest, queue_trust_digest
from bot.followup.reminders.queue import queue_reminders
from bot.outbox.queue import release_suppressed

log = logging.getLogger(__name__)


class Jobs:
    """The day's reminders and the week's digest are due once the programme's clock (Beijing time,
    the date pinned by --today) has passed `reminder_time`. They are run at most once a day by one
    process, and every mail they send is recorded in the database in the same transaction. So a
    daemon started after that hour still sends the day's reminders, and a restart sends nothing twice."""

    def __init__(self, rt: Runtime):
        self.rt = rt
        self.reevaluated = False  # deferred cases are re-matched once at start and on each reload
        self._ran: dict[str, date] = {}  # job -> the day it last ran in this process

    def run_due(self, force: bool = False) -> None:
        """`force` (run --once): the day's reminders now, whatever the hour."""
        if force:
            self.daily()
            return
        now = self.rt.now()
        deadlines = self.rt.ruleset.deadlines  # read each time: an edited reminder_time applies
        if now.time() < _time_of_day(deadlines.reminder_time):
            return
        if self._ran.get("daily") != now.date():
            self._ran["daily"] = now.date()
            self.daily()
        if (now.strftime("%A").lower() == deadlines.digest_weekday.lower()
                and self._ran.get("weekly") != now.date()):
            self._ran["weekly"] = now.date()
            self.weekly()

    def daily(self) -> None:
        count = queue_reminders(self.rt)
        log.info("REMINDERS queued=%d today=%s", count, self.rt.today())
        with Session(self.rt.engine) as db:
            if release_suppressed(db, self.rt.now()):
                db.commit()
        told = queue_trust_digest(self.rt)
        if told:
            log.info("TRUST-DIGEST %d event(s) told to the admin", told)

    def weekly(self) -> None:
        queue_digest(self.rt)


def _time_of_day(hhmm: str) -> time:
    hour, minute = (int(part) for part in hhmm.split(":"))
    return time(hour, minute)
