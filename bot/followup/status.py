"""Case statuses and report kinds in Chinese (ledger, public export, reports, mails)."""

from bot.store.states import CaseStatus, ReportKind, ReviewStatus, Role
from bot.verdict import Decision, Rule

STATUS_CN = {
    CaseStatus.NEEDS_CORRECTION: "待补正",
    CaseStatus.REJECTED: "不予受理",
    CaseStatus.REFERRED: "已转办",
    CaseStatus.ACCEPTED: "已受理",
    CaseStatus.DEFERRED: "择期安排",
    CaseStatus.RESOLVED_ON_SITE: "当场解决",
    CaseStatus.EXPLAINED: "解释说明",
    CaseStatus.ASSIGNED: "办理中",
    CaseStatus.ANSWER_PENDING: "答复待审核",
    CaseStatus.RESULT_RECEIVED: "已答复待评价",
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

ROLE_CN = {Role.LEAD: "承办", Role.CO: "协办"}

ANSWER_CN = {ReviewStatus.DRAFT: "待审核", ReviewStatus.SENT: "已发送企业"}

RULE_CN = {
    Rule.LOOP_AUTO: "自动邮件，不予回复", Rule.RATE_LIMIT: "来信过于频繁", Rule.MAIL_EMPTY: "空邮件",
    Rule.FORM_MISSING: "未附登记表", Rule.FORM_UNREADABLE: "登记表无法读取", Rule.FORM_INCOMPLETE: "必填项未填写",
    Rule.FORM_INVALID: "填写内容有误", Rule.EX_VAGUE: "诉求不具体", Rule.EX_ANONYMOUS: "匿名",
    Rule.EX_JUDICIAL: "已进入司法程序", Rule.EX_DISCIPLINE: "已由纪委监委受理", Rule.EX_PETITION: "已通过信访渠道反映",
    Rule.EX_PROPOSAL: "已列入人大建议政协提案", Rule.SCOPE_REFER: "转属地或部门受理",
    Rule.MATCH_CURRENT: "领域与本期一致", Rule.MATCH_LATER: "安排在以后场次", Rule.WINDOW_CLOSED: "预约已截止",
    Rule.SESSION_FULL: "本期名额已满", Rule.NO_SESSION: "暂无接待该领域的场次",
}

STAGE_CN = {"before": "到期提醒", "due": "今日到期提醒", "overdue": "逾期催办", "escalation": "提请督办"}

ASSIGNABLE = (CaseStatus.ACCEPTED, CaseStatus.DEFERRED, CaseStatus.ASSIGNED, CaseStatus.REOPENED)
IN_HAND = (CaseStatus.ASSIGNED, CaseStatus.REOPENED)  # with the units: reminders run
CLOSED = (CaseStatus.RESOLVED_ON_SITE, CaseStatus.EXPLAINED, CaseStatus.CLOSED,
          CaseStatus.REJECTED, CaseStatus.REFERRED)
