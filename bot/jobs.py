"""Scheduled and event jobs of the daemon: daily reminders, the weekly digest, mail to the admin."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import schedule
from sqlmodel import Session

from bot.outbox.compose import Draft
from bot.outbox.queue import queue, suppress
from bot.runtime import Runtime

log = logging.getLogger("bot.jobs")


def machine_time(hhmm: str, tz: ZoneInfo) -> str:
    """`schedule` runs on the machine's clock; the rules give the programme's (Beijing) time."""
    hour, minute = (int(p) for p in hhmm.split(":"))
    local = datetime.combine(datetime.now(tz).date(), time(hour, minute), tz).astimezone()
    return local.strftime("%H:%M")


class Jobs:
    def __init__(self, rt: Runtime):
        self.rt = rt
        self.reevaluated = False  # deferred cases are re-matched once at start and on each reload
        self.scheduler = schedule.Scheduler()
        deadlines = rt.ruleset.deadlines
        at = machine_time(deadlines.reminder_time, rt.clock.tz)
        self.scheduler.every().day.at(at).do(self.daily)
        weekday = getattr(self.scheduler.every(), deadlines.digest_weekday.lower())
        weekday.at(at).do(self.weekly)

    def run_due(self, force: bool = False) -> None:
        if force:
            self.daily()
        else:
            self.scheduler.run_pending()

    def daily(self) -> None:
        from bot.followup.remind import queue_reminders

        count = queue_reminders(self.rt)
        log.info("REMINDERS queued=%d today=%s", count, self.rt.today())

    def weekly(self) -> None:
        from bot.followup.remind import queue_digest

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
