"""Whether an admin's mail carries the filled demand ledger: an .xlsx whose first rows hold the
ledger's 编号 and 现场结果 headers.

Apart from ledger_mail.py (which imports the ledger) so that the mail-reading workers can ask the
question without importing the database, the outbox and the document renderers: each worker is a
process of its own, and those imports cost it ~31 MB of resident memory.
"""

from __future__ import annotations

import io

from bot.errors import FormUnreadable
from bot.forms.safezip import checked_workbook
from bot.forms.sniff import sniff
from bot.message.model import Attachment, InboundMessage


def ledger_attachment(msg: InboundMessage) -> Attachment | None:
    """The mail's first attachment that is a filled ledger, or None."""
    for att in msg.attachments:
        if att.data and not att.skipped and sniff(att.data) == "xlsx" and _looks_like_ledger(att.data):
            return att
    return None


def has_ledger(msg: InboundMessage) -> bool:
    return ledger_attachment(msg) is not None


def checked_ledger(data: bytes) -> bytes | None:
    """The workbook after the form readers' zip checks (budget, ratio, DTD), or None."""

    try:
        return checked_workbook(data)
    except FormUnreadable:
        return None


def _looks_like_ledger(data: bytes) -> bool:
    from bot.forms.xlsx import openpyxl_module  # start-up: the workers' reader, here only for an admin's workbook

    openpyxl = openpyxl_module()  # on first use, without numpy and PIL
    checked = checked_ledger(data)
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
