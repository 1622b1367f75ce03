"""Mail sources: IMAP (imapclient, IDLE + poll) and Maildir (the embedded default)."""

from bot.mailbox.base import Fetched, Source
from bot.mailbox.imap import ImapSettings, ImapSource
from bot.mailbox.maildir import MaildirSink, MaildirSource

__all__ = ["Fetched", "ImapSettings", "ImapSource", "MaildirSink", "MaildirSource", "Source"]
