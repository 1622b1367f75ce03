"""The admin sends the filled ledger by mail; the bot imports it and answers with the summary."""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlmodel import Session

from bot.context import Runtime
from bot.errors import FormUnreadable
from bot.followup.incoming import Followup
from bot.followup.ledger_io import import_file
from bot.forms.safezip import checked_workbook
from bot.forms.sniff import sniff
from bot.message.model import InboundMessage
from bot.outbox.compose import Draft
from bot.outbox.queue import queue


def _ledger_attachment(msg: InboundMessage):
    """An .xlsx whose first rows carry the ledger's 编号 and 现场结果 headers."""
    for att in msg.attachments:
        if att.data and not att.skipped and sniff(att.data) == "xlsx" and _looks_like_ledger(att.data):
            return att
    return None


def _checked(data: bytes) -> bytes | None:
    """The workbook after the form readers' zip checks (budget, ratio, DTD), or None."""

    try:
        return checked_workbook(data)
    except FormUnreadable:
        return None


def _looks_like_ledger(data: bytes) -> bool:
    import io

    import openpyxl

    checked = _checked(data)
    if checked is None:
        return False
    try:
        wb = openpyxl.load_workbook(io.BytesIO(checked), read_only=True)
    except Exception:  # noqa: BLE001 - not a workbook we can open: not a ledger
        return False
    try:
        for ws in wb.worksheets:
            for row in ws.iter_rows(min_row=1, max_row=5, values_only=True):
                cells = {str(v).strip() for v in row if v is not None}
                if {"编号", "现场结果"} <= cells:
                    return True
        return False
    finally:
        wb.close()


def has_ledger(msg: InboundMessage) -> bool:
    return _ledger_attachment(msg) is not None


def import_by_mail(db: Session, rt: Runtime, msg: InboundMessage) -> Followup:
    """Runs the import in its own transaction, then answers in the caller's."""
    att = _ledger_attachment(msg)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.xlsx"
        path.write_bytes(_checked(att.data) or b"")  # the checked copy, never the sender's bytes
        ok, summary = import_file(rt, path)
    subject = "台账导入结果：" + ("已完成" if ok else "未执行，请更正")
    queue(db, Draft(purpose="admin", to=[msg.from_addr], subject=subject,
                    body=f"管理员您好：\n\n{summary}\n", in_reply_to=msg.message_id,
                    references=msg.references), rt.sender, rt.now())
    return Followup("ledger-import", "", "ok" if ok else "refused")
