"""The admin sends the filled ledger by mail; the bot imports it and answers with the summary."""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlmodel import Session

from bot.context import Runtime
from bot.followup.incoming import Followup
from bot.followup.ledger_attachment import checked_ledger, ledger_attachment
from bot.followup.ledger_io import import_file
from bot.message.model import InboundMessage
from bot.outbox.compose import Draft
from bot.outbox.queue import queue


def import_by_mail(db: Session, rt: Runtime, msg: InboundMessage) -> Followup:
    """Runs the import in its own transaction, then answers in the caller's."""
    att = ledger_attachment(msg)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.xlsx"
        path.write_bytes(checked_ledger(att.data) or b"")  # the checked copy, never the sender's bytes
        ok, summary = import_file(rt, path)
    subject = "台账导入结果：" + ("已完成" if ok else "未执行，请更正")
    queue(db, Draft(purpose="admin", to=[msg.from_addr], subject=subject,
                    body=f"管理员您好：\n\n{summary}\n", in_reply_to=msg.message_id,
                    references=msg.references), rt.sender, rt.now())
    return Followup("ledger-import", "", "ok" if ok else "refused")
