"""A season across 元旦 2027 and 春节 2027 (the shipped rules/holidays.toml), day by day like the
daemon: an ordinary case and a long-term one. Every due date is a working day; no reminder,
overdue repeat or escalation goes out on a rest day; each goes out once, on the right working day.

The working days are worked out here independently of bot.calendar: chinese-calendar for 2026,
rules/holidays.toml read with tomllib for 2027, weekends otherwise."""

from __future__ import annotations

import email
import shutil
import tomllib
from datetime import date, timedelta
from email.policy import default
from zoneinfo import ZoneInfo

import chinese_calendar
from sqlmodel import Session, select

from bot.calendar import WorkCalendar
from bot.followup import views
from bot.followup.assign import AssignRequest, assign
from bot.followup.reminders.due import AssignmentIn, ReportIn, due_history
from bot.samples import FormValues, form_xlsx, registration_mail
from bot.store.models import Outbox, ReminderLog
from tests.support.embedded import INTAKE, REPO, Embedded
from tests.support.mail import authenticated

BEIJING = ZoneInfo("Asia/Shanghai")
HOLIDAYS = tomllib.loads((REPO / "rules" / "holidays.toml").read_text(encoding="utf-8"))
REST_2027 = {h["start"] + timedelta(n) for h in HOLIDAYS["holiday"]
             for n in range((h["end"] - h["start"]).days + 1)}
WORK_2027 = {w["date"] for w in HOLIDAYS["workday"]}
FIRST, LAST = date(2026, 12, 23), date(2027, 2, 26)


def working(d: date) -> bool:
    if d.year <= 2026:
        return chinese_calendar.is_workday(d)
    return d in WORK_2027 or (d not in REST_2027 and d.weekday() < 5)


def next_working(d: date) -> date:
    while not working(d):
        d += timedelta(1)
    return d


def test_a_season_across_new_year_and_spring_festival(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    bot = Embedded(tmp_path, rules)
    for n, values in enumerate((FormValues(), FormValues(enterprise_name="乌海市海湖畅达物流有限公司",
                                                         credit_code="91150302MAJG7LCM8G", contact_name="赵敏")), 1):
        bot.deliver(registration_mail(sender=f"ent{n}@corp.test", to=INTAKE, message_id=f"hs{n}@corp.test",
                                      attachments=[("表.xlsx", form_xlsx(values))]))
    rt = bot.run("2026-12-01")
    number = {c.sender: c.number for c in bot.cases(rt)}
    ordinary, long_term = number["ent1@corp.test"], number["ent2@corp.test"]

    reports = {date(2027, 1, 4): ("gxj", long_term, "落实情况"), date(2027, 1, 14): ("fgw", ordinary, "落实情况"),
               date(2027, 1, 20): ("gxj", long_term, "进展情况"), date(2027, 2, 18): ("gxj", long_term, "办理结果")}
    day = FIRST
    while day <= LAST:
        if day in (FIRST, date(2027, 1, 5)):
            rt = bot.runtime(day.isoformat())
            with Session(rt.engine) as db:
                if day == FIRST:
                    assign(db, rt, AssignRequest(long_term, "gxj", long_term=True))
                else:
                    assign(db, rt, AssignRequest(ordinary, "fgw"))
                db.commit()
        if day in reports:
            unit, case, kind = reports[day]
            bot.deliver(authenticated(registration_mail(sender=f"{unit}@units.test", to=INTAKE, subject=f"[{case}] {kind}",
                                          body=f"{kind}：正在推进。")))
        bot.run(day.isoformat())
        day += timedelta(1)

    rt = bot.runtime(LAST.isoformat(), transport=False)
    cal = WorkCalendar.from_ruleset(rt.ruleset)
    with Session(rt.engine) as db:
        shown = {case: views.show(db, rt, case) for case in (ordinary, long_term)}
        log = [(row.key.split("|"), row.sent_on) for row in db.exec(select(ReminderLog))
               if not row.key.startswith(("digest:", "ack:"))]
        escalation_mails = [(row.case_number, row.created_at.astimezone(BEIJING).date(),
                             email.message_from_bytes(row.raw, policy=default).get_body(("plain",)).get_content())
                            for row in db.exec(select(Outbox).where(Outbox.purpose == "reminder-escalation"))]

    # Every due date is a working day (the 十日一报 chain included).
    dues = []
    for case, data in shown.items():
        a = data["assignments"][0]
        view = AssignmentIn(case, a["unit"], "lead", date.fromisoformat(a["assigned"]), a["long_term"],
                            date.fromisoformat(a["result_due"]), date.fromisoformat(a["status_due"]),
                            tuple(ReportIn(r["kind"], date.fromisoformat(r["received"])) for r in a["reports"]),
                            False, ())
        dues += [(case, r.kind, r.due) for r in due_history(view, rt.ruleset.deadlines, cal, LAST)]
    assert all(working(due) for _case, _kind, due in dues), [d for d in dues if not working(d[2])]
    assert (long_term, "progress", date(2027, 1, 14)) in dues  # not Sat 2 Jan inside 元旦
    assert (long_term, "progress", date(2027, 1, 31)) in dues  # Sat 30 Jan -> Sun 31 Jan, a make-up day
    assert (ordinary, "result", date(2027, 2, 4)) in dues

    # Nothing on a rest day; each reminder once (the log's key is unique; escalations without a day).
    assert log and all(working(sent) for _key, sent in log), [k for k in log if not working(k[1])]
    sent = {(case, kind, due, stage, sent_on) for (case, _unit, kind, due, stage, *_), sent_on in log}
    assert len(sent) == len(log)

    def days(case, kind, due, stage):
        return sorted(s for c, k, d, st, s in sent if (c, k, d, st) == (case, kind, due, stage))

    # The ordinary case's 办理结果 is due Thu 4 Feb, the day before 春节: 2 working days before is
    # Tue 2 Feb; overdue days 1, 4, 7, 10 (5..14 Feb) and the escalation (day 5) fall in the
    # holiday and go out once, on Mon 15 Feb; day 13 is Wed 17 Feb.
    assert days(ordinary, "result", "2027-02-04", "before") == [date(2027, 2, 2)]
    assert days(ordinary, "result", "2027-02-04", "due") == [date(2027, 2, 4)]
    assert days(ordinary, "result", "2027-02-04", "overdue")[:2] == [date(2027, 2, 15), date(2027, 2, 17)]
    assert days(ordinary, "result", "2027-02-04", "escalation") == [date(2027, 2, 15)]
    # The long-term case's second 十日一报, due on the make-up Sunday 31 Jan.
    assert days(long_term, "progress", "2027-01-31", "before") == [date(2027, 1, 28)]
    assert days(long_term, "progress", "2027-01-31", "due") == [date(2027, 1, 31)]
    assert days(long_term, "progress", "2027-01-31", "escalation") == [date(2027, 2, 15)]
    # Its 办理结果 (due Fri 22 Jan) went overdue on Sat 23 Jan: sent Mon 25 Jan, 3 days late.
    assert days(long_term, "result", "2027-01-22", "overdue")[0] == date(2027, 1, 25)

    # Every overdue reminder answers to a stage day since the previous working day.
    for case, kind, due, stage, sent_on in sent:
        if stage == "overdue":
            due_day, earlier = date.fromisoformat(due), sent_on - timedelta(1)
            while not working(earlier):
                earlier -= timedelta(1)
            window = [earlier + timedelta(n) for n in range(1, (sent_on - earlier).days + 1)]
            assert any(((d - due_day).days - 1) % 3 == 0 for d in window), (case, kind, due, sent_on)

    # One escalation mail per case, unit and day, listing all the unit's overdue items.
    assert len(escalation_mails) == len({(case, day) for case, day, _ in escalation_mails})
    [feb15] = [body for case, day, body in escalation_mails if (case, day) == (long_term, date(2027, 2, 15))]
    assert "办理结果：报送时限2027年1月22日" in feb15 and "进展情况（十日一报）：报送时限2027年1月31日" in feb15
    assert "已发送的提醒和催办" in feb15 and "2027年1月25日" in feb15
    for case, day, _body in escalation_mails:
        assert working(day)
    assert next_working(date(2027, 2, 5)) == date(2027, 2, 15)
