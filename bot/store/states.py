"""The states rows move through, as the database stores them (plain strings, compared as enums)."""

from __future__ import annotations

from enum import StrEnum


class MailStatus(StrEnum):
    """An inbound mail in the ledger."""

    RECEIVED = "received"  # claimed, not finished (a crash leaves it here; attempts count)
    DONE = "done"
    QUARANTINED = "quarantined"
    REPROCESSED = "reprocessed"  # a digest-keyed row closed by `reprocess`


class OutboxStatus(StrEnum):
    """pending -> sending (claimed) -> finalizing (just before the final dot; with a sent copy, from
    the first dot of the sender's batch) -> sent; or back to pending (4xx, network) / failed (5xx)."""

    PENDING = "pending"
    SENDING = "sending"
    FINALIZING = "finalizing"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"  # held back: the recipient bounced, or got too much automatic mail


class CaseStatus(StrEnum):
    """A case: its intake decision first, then what happens after the reception."""

    NEEDS_CORRECTION = "needs_correction"
    REJECTED = "rejected"
    REFERRED = "referred"
    ACCEPTED = "accepted"
    DEFERRED = "deferred"
    RESOLVED_ON_SITE = "resolved_on_site"
    EXPLAINED = "explained"
    ASSIGNED = "assigned"
    ANSWER_PENDING = "answer_pending"  # the unit's result is in; the office's answer awaits approval
    RESULT_RECEIVED = "result_received"  # the answer went to the enterprise; its rating is awaited
    CLOSED = "closed"
    REOPENED = "reopened"


class Role(StrEnum):
    LEAD = "lead"
    CO = "co"


class ReportKind(StrEnum):
    STATUS = "status"  # 落实情况
    PROGRESS = "progress"  # 进展情况（十日一报）
    RESULT = "result"  # 办理结果
    EXTENSION = "extension"  # 延期申请


class ReviewKind(StrEnum):
    ANSWER = "answer"  # the office's answer to the enterprise, made from a unit's 办理结果
    EXTENSION = "extension"  # a unit's 延期申请


class ReviewStatus(StrEnum):
    DRAFT = "draft"  # answer: waiting for the admin
    SENT = "sent"  # answer: approved (or direct) and queued to the enterprise
    SUPERSEDED = "superseded"  # answer: a newer draft replaced it
    PENDING = "pending"  # extension: waiting for the admin
    APPROVED = "approved"
    REFUSED = "refused"
