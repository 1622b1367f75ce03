"""Plain values the documents layer renders. The store fills them; this layer never sees the database.

Everything is a frozen dataclass of str / date / tuple so a document can be rendered (and tested) from
literal values. Names of people, phones and credit codes exist only in the types meant for the office
(LedgerRow, SlipData); the public type (PublicRow) has no such field at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Mapping

# Characters XML 1.0 forbids; a mail body may carry them and they would make a .docx/.xlsx unreadable.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean_text(value: object) -> str:
    """Text safe to put in an Office XML part: None -> '', control characters dropped."""
    if value is None:
        return ""
    return _XML_ILLEGAL.sub("", str(value))


@dataclass(frozen=True)
class LedgerRow:
    """One case of 企业诉求台账, one attribute per column of forms.md (same order)."""

    case_number: str  # 编号
    accepted: date | None = None  # 受理日期
    channel: str = ""  # 渠道: 邮件 / 电话 / 现场
    enterprise_name: str = ""  # 企业名称
    credit_code: str = ""  # 统一社会信用代码
    district: str = ""  # 所属地区
    enterprise_types: tuple[str, ...] = ()  # 企业类型
    contact_name: str = ""  # 联系人
    contact_phone: str = ""  # 联系电话
    field_name: str = ""  # 诉求领域 (the field's printed name)
    title: str = ""  # 诉求标题
    content: str = ""  # 诉求内容 (facts and requests, as the office wants to read them)
    suggested_departments: tuple[str, ...] = ()  # 建议解决部门 (unit names)
    decision: str = ""  # 处理结论 (e.g. 已受理 / 择期安排 / 转办)
    rules: tuple[str, ...] = ()  # 规则 (rule ids, e.g. MATCH-CURRENT)
    session: str = ""  # 接待场次, as its date: 2026年12月22日上午 (admin column: moves the case)
    leader: str = ""  # 接待领导 (title)
    outcome: str | None = None  # 现场结果: 当场解决 / 交办 / 解释说明 (admin column)
    lead_unit: str | None = None  # 承办单位 name (admin column)
    co_units: tuple[str, ...] = ()  # 协办单位 names (admin column)
    requirements: str = ""  # 办理要求 (admin column)
    assigned: date | None = None  # 交办日期
    status_due: date | None = None  # 落实情况时限
    result_due: date | None = None  # 办理结果时限
    long_term: bool = False  # 长期整改 (admin column)
    latest_progress: str = ""  # 最近进展
    status: str = ""  # 状态 (Chinese)
    closed: date | None = None  # 办结日期
    follow_up: str = ""  # 回访 (admin column: the office's follow-up notes)
    satisfaction: str = ""  # 满意度


@dataclass(frozen=True)
class LedgerColumn:
    header: str  # exact column name of forms.md
    attr: str  # LedgerRow attribute
    kind: str  # text | long | date | list | bool
    width: int
    admin: bool = False  # filled by the office after the reception; read by `ledger import`


LEDGER_COLUMNS: tuple[LedgerColumn, ...] = (
    LedgerColumn("编号", "case_number", "text", 16),
    LedgerColumn("受理日期", "accepted", "date", 12),
    LedgerColumn("渠道", "channel", "text", 8),
    LedgerColumn("企业名称", "enterprise_name", "long", 28),
    LedgerColumn("统一社会信用代码", "credit_code", "text", 22),
    LedgerColumn("所属地区", "district", "text", 12),
    LedgerColumn("企业类型", "enterprise_types", "list", 18),
    LedgerColumn("联系人", "contact_name", "text", 10),
    LedgerColumn("联系电话", "contact_phone", "text", 15),
    LedgerColumn("诉求领域", "field_name", "text", 14),
    LedgerColumn("诉求标题", "title", "long", 24),
    LedgerColumn("诉求内容", "content", "long", 50),
    LedgerColumn("建议解决部门", "suggested_departments", "list", 20),
    LedgerColumn("处理结论", "decision", "text", 12),
    LedgerColumn("规则", "rules", "list", 18),
    LedgerColumn("接待场次", "session", "text", 18, admin=True),
    LedgerColumn("接待领导", "leader", "text", 16),
    LedgerColumn("现场结果", "outcome", "text", 12, admin=True),
    LedgerColumn("承办单位", "lead_unit", "text", 22, admin=True),
    LedgerColumn("协办单位", "co_units", "list", 28, admin=True),
    LedgerColumn("办理要求", "requirements", "long", 36, admin=True),
    LedgerColumn("交办日期", "assigned", "date", 12),
    LedgerColumn("落实情况时限", "status_due", "date", 14),
    LedgerColumn("办理结果时限", "result_due", "date", 14),
    LedgerColumn("长期整改", "long_term", "bool", 10, admin=True),
    LedgerColumn("最近进展", "latest_progress", "long", 36),
    LedgerColumn("状态", "status", "text", 10),
    LedgerColumn("办结日期", "closed", "date", 12),
    LedgerColumn("回访", "follow_up", "long", 24, admin=True),
    LedgerColumn("满意度", "satisfaction", "text", 10),
)


@dataclass(frozen=True)
class LedgerEdit:
    """What `ledger import` read from one row's admin columns (units already turned into ids)."""

    row: int  # sheet row number, as the clerk sees it
    case_number: str
    outcome: str | None  # 当场解决 / 交办 / 解释说明, or None when left empty
    lead_unit: str | None  # unit id
    co_units: tuple[str, ...]  # unit ids
    requirements: str  # 办理要求
    long_term: bool
    session: str | None = None  # a session id when the clerk chose (another) 接待场次, else None
    revisit: str | None = None  # 回访 text when the clerk changed it, else None


@dataclass
class LedgerImportResult:
    edits: list[LedgerEdit] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # 第N行：… ; the import should be refused
    ignored: list[str] = field(default_factory=list)  # bot-owned cells the clerk changed (not applied)
    notes: list[str] = field(default_factory=list)  # worth telling the clerk, not an error


@dataclass(frozen=True)
class SlipData:
    """附件3 企业诉求交办单: one per case and unit."""

    case_number: str
    office: str  # 交办单位
    lead_unit: str  # 承办单位 name
    co_units: tuple[str, ...] = ()  # 协办单位 names
    enterprise_name: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    field_name: str = ""
    facts: str = ""
    requests: str = ""
    leader_title: str = ""  # the receiving leader as printed: 副市长张三
    reception_date: date | None = None
    requirements: str = ""
    assigned: date | None = None
    status_due: date | None = None
    result_due: date | None = None
    long_term: bool = False
    office_contact: str = ""  # the office's contact person
    office_phone: str = ""
    reply_instructions: str = ""
    title: str = ""  # 诉求标题
    reasons: str = ""  # 理由依据: the demand's basis
    status_days: int = 7  # deadlines.toml, printed in the note (the caller passes the rules' values)
    result_days: int = 30
    long_term_days: int = 10
    first_progress_due: date | None = None  # long-term: the first 十日一报
    lead_contact: str = ""  # the lead unit's contact and phone, for the co-units


@dataclass(frozen=True)
class PublicRow:
    """One line of the public progress export: nothing that names or reaches a person or enterprise."""

    case_number: str
    field_name: str
    lead_unit: str
    status: str  # Chinese, e.g. 办理中 / 已办结
    accepted: date | None = None
    assigned: date | None = None
    result_due: date | None = None
    closed: date | None = None


@dataclass(frozen=True)
class UnitOnTime:
    unit: str
    due: int  # items that fell due in the period (落实情况, 办理结果, 十日一报)
    on_time: int  # of those, received by their due date; the rest were late or are still missing

    @property
    def late(self) -> int:
        return self.due - self.on_time

    @property
    def rate(self) -> float | None:
        return self.on_time / self.due if self.due else None


@dataclass(frozen=True)
class OverdueItem:
    case_number: str
    unit: str
    kind: str  # status | result | progress (or the Chinese label)
    due: date
    days_overdue: int


@dataclass(frozen=True)
class LateItem:
    """An item of the period that was reported late or not at all, for the leaders' report."""

    case_number: str
    unit: str
    kind: str  # status | result | progress
    due: date
    reported: date | None  # None: still not reported
    days_late: int  # to the report, or to the end of the period when still missing
    escalated: date | None = None  # the day it was put to the supervision office


@dataclass(frozen=True)
class CommonIssue:
    topic: str  # field name or keyword
    enterprises: int
    case_numbers: tuple[str, ...]


SATISFACTION_LEVELS = ("满意", "基本满意", "不满意", "未答复")


@dataclass(frozen=True)
class ReportData:
    """The figures of the leaders' report. The totals add up: by_status sums to `registered`,
    by_field to the demands taken on (受理), by_unit to the demands assigned (交办), and each
    unit's due items to its on-time plus late ones."""

    period_from: date
    period_to: date
    registered: int = 0  # 登记: every registration of the period, whatever its decision
    by_field: Mapping[str, int] = field(default_factory=dict)  # 受理 (accepted or deferred) by field
    by_unit: Mapping[str, int] = field(default_factory=dict)  # 交办 by lead unit
    by_status: Mapping[str, int] = field(default_factory=dict)  # 登记 by status
    on_time: tuple[UnitOnTime, ...] = ()
    late: tuple[LateItem, ...] = ()
    satisfaction: Mapping[str, int] = field(default_factory=dict)  # keys of SATISFACTION_LEVELS
    common_issues: tuple[CommonIssue, ...] = ()  # only those raised by >= 3 enterprises
    office: str = ""  # signs the report
    generated: date | None = None
