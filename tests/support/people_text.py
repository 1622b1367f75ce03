"""What a person reads must be Chinese: a scanner for the text of the mails and documents the bot
makes. It finds ASCII words of three letters or more and ISO dates, outside what is meant to be
written that way: addresses and Message-IDs, case numbers, rule ids, file names, and text quoted
from someone else (“…”, or after 原文：).

Used by tests/support/people_text_plugin.py, which collects every mail and document the test
suite makes, and by tests/test_people_text.py, which checks the scanner itself."""

from __future__ import annotations

import email
import io
import re
import zipfile
from dataclasses import dataclass
from email.policy import default

from bot.verdict import Rule

_FOREIGN_LINE = re.compile(r"原文[：:].*$", re.M)  # a server's or sender's words, quoted as they are
# Rule-file problems quoted in the admin's mail as file:line: message (the messages themselves
# are the rule loader's; they turn Chinese with its move to the new validation).
_RULE_PROBLEM = re.compile(r"^\s*[\w.\-]+\.(?:toml|csv):\d+:.*$", re.M)
_QUOTED = re.compile(r"“[^“”\n]{0,80}”")
_ANGLED = re.compile(r"<[^<>\s]{1,300}>")
_ADDRESS = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_URL = re.compile(r"https?://\S+")
_CASE = re.compile(r"\[?[A-Za-z][A-Za-z0-9]*-\d{4}-\d{2,}\]?")
_FILE = re.compile(r"[\w.\-\u4e00-\u9fff（）()]*\.(?:docx|xlsx|xlsm|docm|xls|doc|wps|et|pdf|eml|toml|csv|txt|"
                   r"html|png|jpg|jpeg|zip|sh)\b", re.I)
_RULE_IDS = re.compile("|".join(sorted((re.escape(str(r)) for r in Rule), key=len, reverse=True)
                                + [r"KW-[A-Z]+", r"DUPLICATE-CODE", r"OCR-CHECK"]))
# The office programs and the file format people name in Chinese text as they are (请用 Excel、WPS 或
# Word 重新保存；PDF 文件): names, not English.
_PROGRAMS = re.compile(r"(?<![A-Za-z])(?:Excel|Word|WPS|PDF)(?![A-Za-z])")
# A one-time confirmation code (bot.followup.held): letters and digits the reader types back.
_CODE = re.compile(r"(?<![A-Za-z0-9])[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}(?![A-Za-z0-9])")
_ISO_DATE = re.compile(r"(?<!\d)\d{4}-\d{2}-\d{2}(?!\d)")
_WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{3,}(?![A-Za-z0-9])")  # a word, not part of a code


@dataclass(frozen=True)
class Finding:
    where: str  # the mail's subject or the document's name, and the part
    token: str
    context: str


def findings(text: str, where: str) -> list[Finding]:
    """English words and ISO dates in a text meant for people."""
    rest = text
    for allowed in (_FOREIGN_LINE, _RULE_PROBLEM, _QUOTED, _ANGLED, _URL, _ADDRESS, _CASE, _FILE, _RULE_IDS,
                    _PROGRAMS, _CODE):
        rest = allowed.sub(" ", rest)
    found = []
    for pattern in (_ISO_DATE, _WORD):
        for match in pattern.finditer(rest):
            start = max(0, match.start() - 30)
            found.append(Finding(where, match.group(0), rest[start:match.end() + 30].replace("\n", " ")))
    return found


# ---------------------------------------------------------------- reading mails and documents

def is_ours(msg) -> bool:
    """A mail the bot sent: it marks every one automatic and names its mailbox in X-Loop."""
    return bool(msg.get("X-Loop")) and bool(msg.get("Auto-Submitted"))


def mail_findings(raw: bytes) -> tuple[str, list[Finding]]:
    """(Message-ID, findings) of one mail the bot sent; ("", []) for any other mail."""
    msg = email.message_from_bytes(raw, policy=default)
    if not is_ours(msg):
        return "", []
    subject = str(msg.get("Subject", ""))
    where = f"mail “{subject}”"
    found = findings(subject, where + " subject")
    body = msg.get_body(("plain",))
    if body is not None:
        found += findings(body.get_content(), where + " body")
    for part in msg.iter_attachments():
        data = part.get_payload(decode=True) or b""
        name = part.get_filename() or "attachment"
        text = document_text(data, name)
        if text is not None:
            found += findings(text, f"{where} attachment {name}")
    return str(msg.get("Message-ID", "")), found


def document_text(data: bytes, name: str) -> str | None:
    """The text of a .docx, .xlsx or .html the bot made; None for other files and for files
    another program made (the bot names the office, or the document, as their author)."""
    lower = name.lower()
    try:
        if lower.endswith(".docx"):
            return _docx_text(data)
        if lower.endswith(".xlsx"):
            return _xlsx_text(data)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        return None
    if lower.endswith(".html") and b'lang="zh-CN"' in data:
        return re.sub(r"<[^>]+>", " ", re.sub(r"<(style|head)\b.*?</\1>", " ", data.decode("utf-8", "replace"),
                                               flags=re.S))
    return None


_LIBRARIES = {"", "python-docx", "openpyxl", "Microsoft Office User", "Un-named"}


def _docx_text(data: bytes) -> str | None:
    import docx

    document = docx.Document(io.BytesIO(data))
    if (document.core_properties.author or "") in _LIBRARIES:
        return None
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts += [cell.text for cell in row.cells]
    for section in document.sections:
        parts += [p.text for p in section.header.paragraphs + section.footer.paragraphs]
    return "\n".join(parts)


def _xlsx_text(data: bytes) -> str | None:
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    try:
        if (workbook.properties.creator or "") in _LIBRARIES:
            return None
        parts = []
        for sheet in workbook.worksheets:
            if sheet.sheet_state != "visible":
                continue  # the dropdown lists and the export baseline: machine data
            for row in sheet.iter_rows(values_only=True):
                parts += [str(v) for v in row if isinstance(v, str)]
        return "\n".join(parts)
    finally:
        workbook.close()
