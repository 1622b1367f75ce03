"""Case statuses and report kinds in Chinese (ledger, public export, reports, mails)."""

from bot.store.states import CaseStatus, ReportKind
from bot.verdict import Decision

STATUS_CN = {
    CaseStatus.NEEDS_CORRECTION: "待补正",
    CaseStatus.REJECTED: "不予受理",
    CaseStatus.REFERRED: "已转办",
    CaseStatus.ACCEPTED: "已受理",
    CaseStatus.DEFERRED: "择期安排",
    CaseStatus.RESOLVED_ON_SITE: "当场解决",
    CaseStatus.EXPLAINED: "解释说明",
    CaseStatus.ASSIGNED: "办理中",
    CaseStatus.RESULT_RECEIVED: "已报结果",
    CaseStatus.CLOSED: "已办结",
    CaseStatus.REOPENED: "重新办理",
}

DECISION_CN = {
    Decision.ACCEPTED: "当期安排",
    Decision.DEFERRED: "择期安排",
    Decision.NEEDS_CORRECTION: "补正",
    Decision.REFERRED: "转属地/部门",
    Decision.REJECTED: "不予受理",
}

KIND_CN = {ReportKind.STATUS: "落实情况", ReportKind.RESULT: "办理结果",
           ReportKind.PROGRESS: "进展情况（十日一报）", ReportKind.EXTENSION: "延期申请"}

STAGE_CN = {"before": "到期提醒", "due": "今日到期提醒", "overdue": "逾期催办", "escalation": "提请督办"}

ASSIGNABLE = (CaseStatus.ACCEPTED, CaseStatus.DEFERRED, CaseStatus.ASSIGNED, CaseStatus.REOPENED)
IN_HAND = (CaseStatus.ASSIGNED, CaseStatus.REOPENED)  # with the units: reminders run
CLOSED = (CaseStatus.RESOLVED_ON_SITE, CaseStatus.EXPLAINED, CaseStatus.CLOSED,
          CaseStatus.REJECTED, CaseStatus.REFERRED)
