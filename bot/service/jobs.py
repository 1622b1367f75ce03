"""Jobs of the daemon that follow the clock (daily reminders, the weekly digest) or events (a
bounce, a broken rule edit): each ends in mail to a unit or the admin."""

from __future__ import annotations

import logging
from datetime import date, time, timedelta

from sqlmodel import Session

from bot.outbox.compose import Draft
from bot.outbox.queue import queue, suppress
from bot.context import Runtime

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
        from bot.followup.reminders.queue import queue_reminders

        count = queue_reminders(self.rt)
        log.info("REMINDERS queued=%d today=%s", count, self.rt.today())

    def weekly(self) -> None:
        from bot.followup.reminders.queue import queue_digest

        queue_digest(self.rt)

    def tell_admin_rules(self, problems: str) -> None:
        self.tell_admin("rules_refused", problems=problems)

    def on_bounce(self, row, exc, addresses: list[str]) -> None:
        """A permanent refusal: suppress the addresses for a while and tell the admin (not for
        admin mail, which would loop)."""
        rt = self.rt
        with Session(rt.engine) as db:
            until = rt.now() + timedelta(days=rt.config.bounce_suppress_days)
            for address in addresses:
                suppress(db, address, until, str(exc))
            db.commit()
        if row.purpose != "admin":
            self.tell_admin("delivery_failed", row=row, addresses=addresses, error=str(exc))

    def tell_admin(self, template: str, **values) -> None:
        rt = self.rt
        if not rt.admin_emails:
            log.warning("ADMIN no admin_emails configured; %s not mailed", template)
            return
        subject, body = rt.templates.render(f"admin_{template}", programme=rt.ruleset.programme,
                                            **values)
        with Session(rt.engine) as db:
            queue(db, Draft(purpose="admin", to=rt.admin_emails, subject=subject, body=body,
                            auto_submitted="auto-generated"), rt.sender, rt.now())
            db.commit()


def _time_of_day(hhmm: str) -> time:
    hour, minute = (int(part) for part in hhmm.split(":"))
    return time(hour, minute)
