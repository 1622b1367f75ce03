"""Case statuses and their Chinese names (ledger, public export, reports)."""

STATUS_CN = {
    "needs_correction": "待补正",
    "rejected": "不予受理",
    "referred": "已转办",
    "accepted": "已受理",
    "deferred": "择期安排",
    "resolved_on_site": "当场解决",
    "explained": "解释说明",
    "assigned": "办理中",
    "result_received": "已报结果",
    "closed": "已办结",
    "reopened": "重新办理",
}

DECISION_CN = {
    "accepted": "当期安排",
    "deferred": "择期安排",
    "needs_correction": "补正",
    "referred": "转属地/部门",
    "rejected": "不予受理",
}

KIND_CN = {"status": "落实情况", "result": "办理结果", "progress": "进展情况（十日一报）",
           "extension": "延期申请"}

ASSIGNABLE = ("accepted", "deferred", "assigned", "reopened")
CLOSED = ("resolved_on_site", "explained", "closed", "rejected", "referred")
