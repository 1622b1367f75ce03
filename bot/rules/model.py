"""The admin-edited rules, declared once (shape: spec/interfaces.md "Rule files").

Each entry of a rule file is one of the pydantic dataclasses below: its keys, their types and ranges,
defaults and help are said here and nowhere else. The loader validates every table of rules/*.toml
against its class (unknown keys, wrong types, missing keys become `file:line: 中文说明`); the rest of
the bot reads the frozen objects. A key the admin must write although code may build the object
without it (tests, defaults) carries `Required()`. Adding a key is one line here, with its help.
"""

from __future__ import annotations

from dataclasses import dataclass as plain_dataclass
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass

from bot.validation import ClockTime, Counts, Day, PositiveInt, Required, Text, Texts

# defer_build: each class's validator is built when rules are first checked against it (the
# loader), not when this module is imported. A mail-reading worker only unpickles rules, never
# checks them, and imports this module at every start: ~45 ms less of it there, ~25 ms here.
ENTRY = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)

UnitKind = Literal["department", "district", "supervision", "office"]
Period = Literal["上午", "下午"]
Declaration = Literal["judicial", "discipline", "petition", "proposal"]


def _help(text: str, **kwargs) -> Any:
    return Field(description=text, **kwargs)


@dataclass(frozen=True, config=ENTRY)
class Programme:
    """programme.toml: the programme as the notice and the replies name it."""

    name: Annotated[Text, _help("活动名称，如“乌海市市长服务民营企业接待日”")]
    office: Annotated[Text, _help("主办单位（落款），如“乌海市人民政府办公室”")]
    mailbox: Annotated[Text, _help("预约邮箱：本机器人的收件地址，通告中公布")]
    phone: Annotated[Text, _help("预约电话")] = ""
    fax: Annotated[Text, _help("传真")] = ""
    onsite_place: Annotated[Text, _help("现场预约地点")] = ""
    onsite_hours: Annotated[Text, _help("现场预约时间")] = ""
    districts: Annotated[Texts, Required(), _help("本市的旗县区名称列表，登记表的“所属地区”须为其一")] = ()
    timezone: Annotated[Text, _help("时区，默认 Asia/Shanghai")] = "Asia/Shanghai"
    case_number_format: Annotated[Text, _help("案件编号格式，须含 {year} 和 {seq}，如 \"WHJD-{year}-{seq:04d}\"")
                                  ] = "WHJD-{year}-{seq:04d}"
    max_attendees: Annotated[PositiveInt, _help("每家企业参会人数上限")] = 5
    admin_emails: Annotated[Texts, _help("管理员邮箱：接收规则错误和摘要，可发送台账")] = ()
    city: Annotated[Text, _help("城市名，如“乌海市”：读取“乌海市海勃湾区”时去掉")] = ""
    result_review: Annotated[Literal["admin", "direct"], _help(
        "办理结果的答复方式：admin（默认，承办单位报来的办理结果先形成答复草稿，经管理员同意后发送企业）"
        "或 direct（直接转告企业）")] = "admin"
    contact: Annotated[Text, _help("交办方联系人（印在交办单和给承办单位的邮件上），如“营商环境科 王丽”")] = ""
    contact_phone: Annotated[Text, _help("交办方联系电话；省略时用 phone")] = ""
    plan_title: Annotated[Text, _help("工作方案全称，每封邮件首次引用时使用，如《乌海市……工作方案》")] = ""


@dataclass(frozen=True, config=ENTRY)
class FieldRule:
    """fields.toml [[field]]: one 诉求领域."""

    id: Annotated[Text, _help("领域 id，供 leaders.toml 和 sessions.toml 引用")]
    name: Annotated[Text, _help("领域名称，与登记表上的写法一致")]
    aliases: Annotated[Texts, _help("别名，登记表写别名也能识别")] = ()
    keywords: Annotated[Texts, _help("关键词：诉求领域未填或无法识别时据此推断")] = ()
    departments: Annotated[Texts, _help("建议承办单位 id（units.toml）")] = ()


@dataclass(frozen=True, config=ENTRY)
class Leader:
    """leaders.toml [[leader]]: a leader who receives enterprises, and the fields they take."""

    id: Annotated[Text, _help("领导 id，供 sessions.toml 引用")]
    title: Annotated[Text, _help("职务，如“分管工业的副市长”")]
    fields: Annotated[Texts, _help("分管的领域 id（fields.toml）")] = ()
    name: Annotated[Text, _help("姓名（可不填）")] = ""

    @property
    def full_title(self) -> str:
        """As printed on notices, replies and slips: 副市长张三, or the title alone without a name."""
        return f"{self.title}{self.name}"


@dataclass(frozen=True, config=ENTRY)
class Session:
    """sessions.toml [[session]]: one reception half-day."""

    id: Annotated[Text, _help("场次 id，如 \"2026-12\"")]
    date: Annotated[Day, _help("接待日期")]
    period: Annotated[Period, _help("上午 或 下午")]
    start: Annotated[ClockTime, _help("开始时间，如 \"09:00\"")]
    end: Annotated[ClockTime, _help("结束时间，如 \"12:00\"")]
    leader: Annotated[Text, _help("接待领导 id（leaders.toml）")]
    # Resolved by the loader: the session's own list, or its leader's when the file has none.
    fields: Annotated[Texts, _help("本场受理的领域 id；省略时为接待领导分管的领域")]
    location: Annotated[Text, _help("接待地点")]
    meeting_format: Annotated[Text, _help("接待形式：座谈会、现场会、早餐会或走访企业")]
    registration_opens: Annotated[Day, _help("预约登记开始日期")]
    registration_closes: Annotated[Day, _help("预约登记截止日期")]
    capacity: Annotated[PositiveInt, _help("本场最多接待的企业数")]
    notice_date: Annotated[Day | None, _help("通告发布日期；须早于接待日 15 个工作日")] = None
    issue: Annotated[PositiveInt | None, _help("期次（第几期），印在通告上；省略时按当年场次顺序")] = None


@dataclass(frozen=True, config=ENTRY)
class Unit:
    """units.toml [[unit]]: a unit the bot mails (departments, district governments, 督查室, the office)."""

    id: Annotated[Text, _help("单位 id，如 \"fgw\"")]
    name: Annotated[Text, _help("单位全称")]
    emails: Annotated[Texts, _help("接收交办单和催办的邮箱（至少一个）")]
    kind: Annotated[UnitKind, _help("department（部门）、district（区政府）、supervision（督查）或 office（办公室）")]
    district: Annotated[Text, _help("区政府所辖的区（kind = \"district\" 时必填）")] = ""
    contact: Annotated[Text, _help("联系人，印在转办和交办单上")] = ""
    phone: Annotated[Text, _help("联系电话")] = ""


@plain_dataclass(frozen=True)
class RosterEntry:
    """One row of roster.csv (read by roster.py, which checks the credit code itself)."""

    credit_code: str
    name: str
    categories: tuple[str, ...]


@dataclass(frozen=True, config=ENTRY)
class Exclusion:
    """exclusions.toml [[exclusion]]: one 不予受理 case of the work plan, or EX-VAGUE / EX-ANONYMOUS."""

    id: Annotated[Text, _help("规则 id，如 \"EX-JUDICIAL\"")]
    title: Annotated[Text, _help("情形名称")]
    declaration: Annotated[Declaration | None, _help("对应的登记表声明项：judicial、discipline、petition 或 proposal")
                           ] = None
    keywords: Annotated[Texts, _help("提示可能属于此情形的关键词（只标记，不拒绝）")] = ()
    referral: Annotated[Text, _help("答复中建议的反映渠道")] = ""
    basis: Annotated[Text, _help("工作方案中的依据原文")] = ""
    placeholders: Annotated[Texts, _help("EX-VAGUE：视为未填写的内容，如“无”“详见附件”")] = ()
    refer_unit: Annotated[Text, _help("答复中指向的单位 id（units.toml）")] = ""
    clause: Annotated[Text, _help("工作方案条款，如“三（二）1”")] = ""


@dataclass(frozen=True, config=ENTRY)
class Deadlines:
    """deadlines.toml: the handling deadlines and when reminders go out."""

    status_report_working_days: Annotated[PositiveInt, Required(), _help("交办后几个工作日内报送落实情况")] = 7
    result_days: Annotated[PositiveInt, Required(), _help("交办后几日内报送办理结果")] = 30
    long_term_report_days: Annotated[PositiveInt, Required(), _help("长期整改事项每几日报送一次进展")] = 10
    notice_lead_working_days: Annotated[PositiveInt, Required(), _help("通告至少提前几个工作日发布")] = 15
    reminder_lead_days: Annotated[Counts, Required(), _help("到期前几个工作日提醒，0 表示到期当日，如 [2, 0]")
                                  ] = (2, 0)
    overdue_repeat_days: Annotated[PositiveInt, Required(), _help("逾期后每几日再催一次")] = 3
    escalate_after_overdue_days: Annotated[PositiveInt, Required(), _help("逾期几日后提请督办")] = 5
    escalate_to: Annotated[Text, Required(), _help("督办单位 id（units.toml），通常为督查室")] = ""
    reminder_time: Annotated[ClockTime, _help("每日发送催办的时间（北京时间），如 \"09:00\"")] = "09:00"
    digest_weekday: Annotated[Text, _help("每周向管理员发送摘要的日子，如 \"monday\"")] = "monday"
    satisfaction_reply_working_days: Annotated[PositiveInt, _help(
        "请企业在几个工作日内对办理结果作出满意度评价")] = 5


@dataclass(frozen=True, config=ENTRY)
class Holiday:
    """holidays.toml [[holiday]]: rest days the calendar library does not know."""

    id: Annotated[Text, _help("节假日 id，如 \"2027-spring\"")]
    name: Annotated[Text, _help("名称，如“春节”")]
    start: Annotated[Day, _help("第一天")]
    end: Annotated[Day, _help("最后一天")]


@dataclass(frozen=True, config=ENTRY)
class Workday:
    """holidays.toml [[workday]]: a make-up working day (调休) on a weekend."""

    id: Annotated[Text, _help("调休 id")]
    name: Annotated[Text, _help("名称，如“春节调休”")]
    date: Annotated[Day, _help("调休上班的日期")]


@plain_dataclass(frozen=True)
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


# file -> {table -> entry class}; programme.toml and deadlines.toml are flat (keys at the top).
FLAT_FILES = {"programme.toml": Programme, "deadlines.toml": Deadlines}
ARRAY_FILES = {
    "fields.toml": {"field": FieldRule}, "leaders.toml": {"leader": Leader},
    "sessions.toml": {"session": Session}, "units.toml": {"unit": Unit},
    "exclusions.toml": {"exclusion": Exclusion},
    "holidays.toml": {"holiday": Holiday, "workday": Workday},
}
