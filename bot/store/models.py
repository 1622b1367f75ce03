"""Tables. Every state change and the mail it causes are written in one transaction."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import BigInteger, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlalchemy.orm.attributes import set_attribute
from sqlmodel import Field, SQLModel

# A unique value the bot sets before the INSERT (a Message-ID) is what lets SQLAlchemy send many new
# rows as one INSERT … RETURNING on SQLite too: it tells which new id went to which row by this
# column (SQLite does not promise RETURNING in the order of the VALUES). Without one, every new
# mail and every outgoing mail was an INSERT of its own. Not part of the schema.
SENTINEL = {"insert_sentinel": True}


class TableModel(SQLModel):
    """The base of the tables: a column is set the way SQLModel sets it, in one step instead of two.

    SQLModel sets a column on a table object through SQLAlchemy (which records the change for the
    flush and stores the value) and then again through pydantic's own `__setattr__`, which stores
    the same value and notes the field as set. Here the second step is only the note: 0.55 µs a
    set instead of 1.3. The intake sets ~100 columns a mail (making a case, its reply, the mail's
    row and outcome), and making a row sets each of its columns: a case takes 36 µs instead of 56.
    Anything that is not a column (a relationship, a private attribute) goes the usual way."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _columns(type(self)):
            set_attribute(self, name, value)
            self.__pydantic_fields_set__.add(name)
        else:
            super().__setattr__(name, value)


@cache
def _columns(table: type) -> frozenset[str]:
    return frozenset(column.key for column in table.__table__.columns)


class InboundMail(TableModel, table=True):
    """The message ledger: one row per inbound mail, keyed by mailbox/UIDVALIDITY/UID and Message-ID."""

    __tablename__ = "inbound_mail"
    # The rate limit (bot.intake.ratelimit) counts a sender's mail in a window on every mail: without
    # this index it read every done row (4 ms a mail at 50,000 rows on SQLite, 0.003 ms with it).
    __table_args__ = (UniqueConstraint("mailbox", "uidvalidity", "uid"),
                      Index("ix_inbound_mail_sender_received", "sender", "received_at"))

    id: int | None = Field(default=None, primary_key=True)
    mailbox: str = Field(max_length=200)
    # IMAP values are unsigned 32-bit: they do not fit a signed INTEGER column.
    uidvalidity: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    uid: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    message_id: str = Field(max_length=500, unique=True, index=True, sa_column_kwargs=SENTINEL)
    digest: str = Field(max_length=64, index=True)
    archive_path: str = Field(max_length=500)
    sender: str = Field(default="", max_length=320)
    subject: str = Field(default="", sa_column=Column(Text, default=""))
    status: str = Field(default="received", max_length=20, index=True)  # received|done|quarantined
    attempts: int = 0
    last_error: str = Field(default="", sa_column=Column(Text, default=""))
    decision: str = Field(default="", max_length=30)
    rules: str = Field(default="", max_length=300)
    case_number: str = Field(default="", max_length=60)
    received_at: datetime
    processed_at: datetime | None = None


class Case(TableModel, table=True):
    __tablename__ = "case_record"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=60, unique=True, index=True, sa_column_kwargs=SENTINEL)
    status: str = Field(max_length=30, index=True)
    decision: str = Field(max_length=30)
    rules: str = Field(default="", max_length=300)
    session_id: str | None = Field(default=None, max_length=60)
    field_id: str | None = Field(default=None, max_length=60)
    channel: str = Field(default="邮件", max_length=10)
    enterprise_name: str = Field(default="", max_length=300)
    credit_code: str = Field(default="", max_length=30, index=True)
    district: str = Field(default="", max_length=60)
    contact_name: str = Field(default="", max_length=100)
    contact_phone: str = Field(default="", max_length=40)
    contact_email: str = Field(default="", max_length=320)
    sender: str = Field(default="", max_length=320)
    form_json: str = Field(default="{}", sa_column=Column(Text, default="{}"))
    thread_root: str = Field(default="", max_length=500)  # Message-ID of the first mail
    last_outbound_id: str = Field(default="", max_length=500)
    accepted_on: date | None = None
    outcome: str = Field(default="", max_length=20)  # 当场解决 | 交办 | 解释说明
    requirements: str = Field(default="", sa_column=Column(Text, default=""))
    closed_on: date | None = None
    satisfaction: str = Field(default="", max_length=10)
    revisit: str = Field(default="", max_length=200)
    refer_unit: str = Field(default="", max_length=60)
    flags: str = Field(default="", max_length=300)  # rule ids a person should look at (DUPLICATE-CODE)
    created_at: datetime
    updated_at: datetime


class Assignment(TableModel, table=True):
    __table_args__ = (UniqueConstraint("case_id", "unit_id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_record.id", index=True)
    unit_id: str = Field(max_length=60, index=True)
    role: str = Field(max_length=10)  # lead | co
    assigned: date
    long_term: bool = False
    status_due: date
    result_due: date
    note: str = Field(default="", sa_column=Column(Text, default=""))
    closed: bool = Field(default=False, index=True)


class UnitReport(TableModel, table=True):
    __tablename__ = "unit_report"

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    kind: str = Field(max_length=20)  # status | progress | result | extension
    received: date
    message_id: str = Field(default="", max_length=500)
    summary: str = Field(default="", sa_column=Column(Text, default=""))


class Review(TableModel, table=True):
    """Something the office decides before the bot acts: the answer to the enterprise made from a
    unit's 办理结果 (kind answer: draft -> sent), or a unit's 延期申请 (kind extension: pending ->
    approved | refused). `admin_message_id` is the mail that asked the admin, so a reply to it
    finds its review."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_record.id", index=True)
    kind: str = Field(max_length=20)  # answer | extension
    status: str = Field(max_length=20, index=True)  # ReviewStatus
    unit_id: str = Field(default="", max_length=60)
    report_id: int | None = Field(default=None, foreign_key="unit_report.id")
    text: str = Field(default="", sa_column=Column(Text, default=""))  # the draft / the request
    final_text: str = Field(default="", sa_column=Column(Text, default=""))  # what was sent
    requested: date | None = None  # extension: the date the unit asked for
    admin_message_id: str = Field(default="", max_length=500, index=True)
    decided_by: str = Field(default="", max_length=320)  # an admin address, or "command"
    created_at: datetime
    decided_at: datetime | None = None


class CaseEvent(TableModel, table=True):
    __tablename__ = "case_event"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_record.id", index=True)
    at: datetime
    event: str = Field(max_length=40)
    detail: str = Field(default="", sa_column=Column(Text, default=""))


class Outbox(TableModel, table=True):
    """Mail waiting to be sent. The Message-ID is fixed at creation so a resend is recognisable."""

    __table_args__ = (Index("ix_outbox_recipients_created", "recipients", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=500, unique=True, sa_column_kwargs=SENTINEL)
    purpose: str = Field(max_length=30)
    case_number: str = Field(default="", max_length=60)
    mail_from: str = Field(max_length=320)
    recipients: str = Field(max_length=2000)  # comma-separated
    subject: str = Field(default="", sa_column=Column(Text, default=""))
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # pending -> sending (claimed) -> finalizing (recorded just before the final dot) -> sent;
    # or back to pending (4xx, network) / failed (5xx).
    status: str = Field(default="pending", max_length=20, index=True)
    claimed_by: str = Field(default="", max_length=200)
    attempts: int = 0
    next_attempt_at: datetime
    last_error: str = Field(default="", sa_column=Column(Text, default=""))
    created_at: datetime
    sent_at: datetime | None = None


class ReminderLog(TableModel, table=True):
    """One row per reminder sent: the unique key makes a second send impossible, across restarts."""

    __tablename__ = "reminder_log"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=300, unique=True)
    sent_on: date


class Counter(TableModel, table=True):
    name: str = Field(primary_key=True, max_length=60)
    value: int = 0


class Lease(TableModel, table=True):
    """One fetcher per mailbox: the holder renews its lease; another daemon waits until it expires."""

    name: str = Field(primary_key=True, max_length=200)
    holder: str = Field(max_length=200)
    expires_at: datetime


class MailboxStatus(TableModel, table=True):
    """When a mailbox was last read, and by whom: what `status` shows. Unlike the lease it stays
    when the daemon stops, so "last fetch" is known after a crash too."""

    __tablename__ = "mailbox_status"

    name: str = Field(primary_key=True, max_length=200)
    holder: str = Field(default="", max_length=200)
    last_fetch_at: datetime
    fetched: int = 0  # messages taken by that pass


class Suppression(TableModel, table=True):
    """Addresses that bounced permanently get no automatic mail until `until`."""

    address: str = Field(primary_key=True, max_length=320)
    until: datetime
    reason: str = Field(default="", sa_column=Column(Text, default=""))


class HeldAction(TableModel, table=True):
    """An admin or unit action by mail that was not authenticated: applied only when its one-time
    code comes back from the registered address before it expires."""

    __tablename__ = "held_action"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)  # SHA-256 of the code; the code is not kept
    kind: str = Field(max_length=30)  # unit-report | ledger-import | ...
    address: str = Field(max_length=320)  # who must confirm (the registered address it came from)
    case_number: str = Field(default="", max_length=60)
    inbound_id: int = Field(foreign_key="inbound_mail.id")  # the held mail (archived raw)
    status: str = Field(default="held", max_length=20, index=True)  # held|applied|expired|refused
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None = None


class TrustEvent(TableModel, table=True):
    """A refused, held or suspicious mail: the admin hears of each once, in the daily digest."""

    __tablename__ = "trust_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    kind: str = Field(max_length=30)  # held | refused | confirmed | expired | bounce-ignored | ...
    address: str = Field(default="", max_length=320)
    case_number: str = Field(default="", max_length=60)
    detail: str = Field(default="", sa_column=Column(Text, default=""))
    told: bool = Field(default=False, index=True)
