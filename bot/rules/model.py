"""The admin-edited rules, loaded from rules/*.toml and rules/roster.csv (shape: spec/interfaces.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Programme:
    name: str
    office: str
    mailbox: str
    phone: str = ""
    fax: str = ""
    onsite_place: str = ""
    onsite_hours: str = ""
    districts: tuple[str, ...] = ()
    timezone: str = "Asia/Shanghai"
    case_number_format: str = "WHJD-{year}-{seq:04d}"
    max_attendees: int = 5
    admin_emails: tuple[str, ...] = ()  # who may send the filled ledger / receive admin mail
    city: str = ""  # e.g. 乌海市: stripped from 乌海市海勃湾区 when reading districts
    result_review: str = "admin"  # admin: a unit's 办理结果 is a draft the admin approves; direct: sent at once
    contact: str = ""  # the office's contact person for the units (slips, reminders), e.g. 营商环境科 王丽
    contact_phone: str = ""  # that person's phone; default: `phone`
    plan_title: str = ""  # the work plan's full title, cited once per mail, e.g. 《乌海市2024年……工作方案》


@dataclass(frozen=True)
class FieldRule:
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()


@dataclass(frozen=True)
class Leader:
    id: str
    title: str
    fields: tuple[str, ...] = ()
    name: str = ""

    @property
    def full_title(self) -> str:
        """As printed on notices, replies and slips: 副市长张三, or the title alone without a name."""
        return f"{self.title}{self.name}"


@dataclass(frozen=True)
class Session:
    id: str
    date: date
    period: str
    start: str
    end: str
    leader: str
    fields: tuple[str, ...]  # resolved: the session's own list, or its leader's
    location: str
    meeting_format: str
    registration_opens: date
    registration_closes: date
    capacity: int
    notice_date: date | None = None
    issue: int | None = None  # 期次: the session's number within its year (第N期), printed on the notice


@dataclass(frozen=True)
class Unit:
    id: str
    name: str
    emails: tuple[str, ...]
    kind: str  # department | district | supervision | office
    district: str = ""
    contact: str = ""  # person and phone, printed in referrals and slips
    phone: str = ""


@dataclass(frozen=True)
class RosterEntry:
    credit_code: str
    name: str
    categories: tuple[str, ...]


@dataclass(frozen=True)
class Exclusion:
    id: str  # rule id, e.g. EX-JUDICIAL
    title: str
    declaration: str | None = None  # key in form.declarations
    keywords: tuple[str, ...] = ()
    referral: str = ""
    basis: str = ""
    placeholders: tuple[str, ...] = ()  # EX-VAGUE: texts that count as empty
    refer_unit: str = ""  # unit id the rejection points to (政法委, 纪委监委, 信访局, 人大/政协)
    clause: str = ""  # the work plan clause, e.g. 三（二）1


@dataclass(frozen=True)
class Deadlines:
    status_report_working_days: int = 7
    result_days: int = 30
    long_term_report_days: int = 10
    notice_lead_working_days: int = 15
    reminder_lead_days: tuple[int, ...] = (2, 0)
    overdue_repeat_days: int = 3
    escalate_after_overdue_days: int = 5
    escalate_to: str = ""
    reminder_time: str = "09:00"  # when the daemon sends the day's reminders
    digest_weekday: str = "monday"  # the weekly digest to the admin
    satisfaction_reply_working_days: int = 5  # the enterprise is asked to rate a result within N working days


@dataclass(frozen=True)
class Holiday:
    id: str
    name: str
    start: date
    end: date


@dataclass(frozen=True)
class Workday:
    id: str
    name: str
    date: date


@dataclass(frozen=True)
class Ruleset:
    programme: Programme
    fields: tuple[FieldRule, ...]
    leaders: tuple[Leader, ...]
    sessions: tuple[Session, ...]
    units: tuple[Unit, ...]
    roster: tuple[RosterEntry, ...] | None  # None: no roster.csv, declared types decide
    exclusions: tuple[Exclusion, ...]
    deadlines: Deadlines
    holidays: tuple[Holiday, ...] = ()
    workdays: tuple[Workday, ...] = ()
    source_dir: str = ""
    warnings: tuple[str, ...] = ()

    def field_by_id(self, field_id: str) -> FieldRule | None:
        return next((f for f in self.fields if f.id == field_id), None)

    def leader_by_id(self, leader_id: str) -> Leader | None:
        return next((x for x in self.leaders if x.id == leader_id), None)

    def session_by_id(self, session_id: str) -> Session | None:
        return next((s for s in self.sessions if s.id == session_id), None)

    def unit_by_id(self, unit_id: str) -> Unit | None:
        return next((u for u in self.units if u.id == unit_id), None)

    def unit_by_name(self, name: str) -> Unit | None:
        name = name.strip()
        return next((u for u in self.units if name in (u.id, u.name)), None)

    def exclusion(self, rule_id: str) -> Exclusion | None:
        return next((e for e in self.exclusions if e.id == rule_id), None)

    def roster_entry(self, credit_code: str | None) -> RosterEntry | None:
        if not credit_code or self.roster is None:
            return None
        return next((r for r in self.roster if r.credit_code == credit_code), None)

    def units_of_kind(self, kind: str) -> list[Unit]:
        return [u for u in self.units if u.kind == kind]
