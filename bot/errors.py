"""One exception tree. Each class says in one sentence when it is raised."""


class BotError(Exception):
    """Base of every error the bot raises on purpose."""


class ConfigError(BotError):
    """The configuration file or a command-line option is wrong (exit code 2); `problems` holds
    each `file:line: message` when a config file is at fault."""

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = problems or [message]
        super().__init__(message)


class RuleFileError(BotError):
    """A rule file is missing, malformed or inconsistent; carries file:line problems."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class InputError(BotError):
    """A file given on the command line cannot be read (exit code 1)."""


class MailboxError(BotError):
    """The mailbox (IMAP or Maildir) failed: <command> failed: <server text>."""


class WorkerStartError(BotError):
    """The mail-reading worker processes cannot start (a broken installation, no memory): no mail
    can be read safely, so intake stops instead of charging each mail with the failure."""


class FormError(BotError):
    """An attachment or body cannot be read as a registration form."""


class FormUnreadable(FormError):
    """The attachment is corrupt, encrypted, over limits or of an unsupported format."""

    def __init__(self, reason: str, detail: str = ""):
        self.reason = reason  # short machine tag: "doc", "encrypted", "zip-bomb", ...
        self.detail = detail  # Chinese text for the reply
        super().__init__(f"{reason}: {detail}" if detail else reason)


class DeliveryError(BotError):
    """Sending mail failed; `permanent` tells a 5xx from a retryable failure."""

    def __init__(self, message: str, permanent: bool = False):
        self.permanent = permanent
        super().__init__(message)


class CaseError(BotError):
    """A case command refers to an unknown case or unit, or the case state does not allow it (exit 1)."""


class DocumentError(BotError):
    """A document cannot be made as it must look (e.g. no Chinese font for the report's chart; exit 1)."""
