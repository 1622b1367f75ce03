"""`reprocess`: quarantined mail goes back to the inbox and its ledger rows get fresh attempts."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.context import Runtime
from bot.mailbox.base import Source
from bot.store.models import InboundMail
from bot.store.states import MailStatus


def reprocess(rt: Runtime, source: Source) -> int:
    """Returns how many mails were put back into the inbox."""
    source.open()
    try:
        folder = rt.config.imap.quarantine_folder if rt.config.imap else "Quarantine"
        moved = source.restore(folder)
    finally:
        source.close()
    with Session(rt.engine) as db:
        for row in db.exec(select(InboundMail).where(InboundMail.status == MailStatus.QUARANTINED)):
            # A row keyed by the raw digest (the mail could not be parsed) will not be found
            # again once the mail parses: it is closed, and the mail gets a row of its own.
            if row.message_id.endswith("@archive.invalid"):
                row.status = MailStatus.REPROCESSED
            else:
                row.status, row.attempts = MailStatus.RECEIVED, 0
            db.add(row)
        db.commit()
    return moved
