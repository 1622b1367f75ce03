"""Outgoing mail: transports that hand a finished message to SMTP or to a Maildir."""
