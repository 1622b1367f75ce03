"""A pytest plugin: every mail the bot sends and every document it writes during the test run is
scanned for English words and ISO dates (tests/support/people_text.py); at the end of the session
any finding fails the run, listed with the mail or file and the test that made it.

Collected: mails the SMTP rig accepts (teed as they arrive, so the mailbox clean-ups between tests
do not hide them), the embedded default's outbox Maildirs and outbox tables, and the .docx, .xlsx
and .html files under pytest's temporary directories. Mails and files that the bot did not make
(test input, other programs' files) are recognised and left out. A test that deliberately feeds
English or formula text through the bot (hostile input) is marked ``@pytest.mark.foreign_text``;
what it makes is not scanned.

Under pytest-xdist each worker scans what its own tests made (only it knows which test made which
file) and hands its findings to the controller, which reports them and fails the run.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.support.people_text import Finding, document_text, findings, mail_findings

KEY = pytest.StashKey[dict]()
MARK = "foreign_text"
_DOCUMENTS = (".docx", ".xlsx", ".html")


class Collector:
    def __init__(self) -> None:
        self.current = ""  # node id of the running test
        self.skip_current = False
        self.mails: list[tuple[str, bytes]] = []  # (test, raw)
        self.dirs: dict[Path, tuple[str, bool]] = {}  # tmp dir -> (test, skipped)

    def tee(self, raw: bytes) -> None:
        if not self.skip_current:
            self.mails.append((self.current, raw))


_collector = Collector()


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", f"{MARK}: the test feeds non-Chinese text through the bot on "
                                       "purpose; its mails and documents are not scanned for English")
    _tee_smtp_rig()


def _tee_smtp_rig() -> None:
    from tests.rig import smtpd

    original = smtpd.SmtpAccepted.append
    if getattr(original, "tee", False):
        return

    def append(self, item):
        _collector.tee(item[2])
        return original(self, item)

    append.tee = True
    smtpd.SmtpAccepted.append = append


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item) -> None:
    _collector.current = item.nodeid
    _collector.skip_current = item.get_closest_marker(MARK) is not None


def pytest_runtest_teardown(item) -> None:
    funcargs = getattr(item, "funcargs", {})
    tmp, inner = funcargs.get("tmp_path"), funcargs.get("pytester")  # a pytester run has a dir of its own
    for path in (tmp, inner.path if inner is not None else None):
        if path is not None:
            _collector.dirs[Path(path)] = (item.nodeid, _collector.skip_current)


def _controller(config) -> bool:
    """The xdist controller: its tests ran in the workers, so it scans nothing itself."""
    return config.pluginmanager.getplugin("dsession") is not None


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """An xdist worker is done: keep the findings it scanned."""
    reported = node.config.stash.setdefault(KEY, {"found": []})["found"]
    for test, where, token, context in getattr(node, "workeroutput", {}).get(MARK, []):
        reported.append((test, Finding(where, token, context)))


def pytest_sessionfinish(session, exitstatus) -> None:
    config = session.config
    if config.option.collectonly:
        return
    try:
        base = Path(config._tmp_path_factory.getbasetemp())
    except (AttributeError, OSError):
        return
    if _controller(config):
        found = config.stash.get(KEY, {}).get("found", [])
    else:
        found = scan(base)
        config.stash[KEY] = {"found": found}
    if hasattr(config, "workeroutput"):  # an xdist worker: the controller reports
        config.workeroutput[MARK] = [(test, f.where, f.token, f.context) for test, f in found]
        return
    if found:  # the whole list, for when the summary is cut short
        (base / "people-text-findings.txt").write_text(
            "".join(f"{test}: {f.where}: {f.token}: {f.context}\n" for test, f in found), encoding="utf-8")
    if found and session.exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    found = config.stash.get(KEY, {}).get("found")
    if not found:
        return
    terminalreporter.section("English or ISO dates in text for people")
    for test, finding in found[:100]:
        terminalreporter.line(f"{test}: {finding.where}: “{finding.token}” in …{finding.context}…")
    if len(found) > 100:
        terminalreporter.line(f"… and {len(found) - 100} more")


def scan(base: Path) -> list[tuple[str, Finding]]:
    seen: set[str] = set()
    found: list[tuple[str, Finding]] = []

    def take_mail(test: str, raw: bytes) -> None:
        message_id, items = mail_findings(raw)
        if message_id and message_id not in seen:
            seen.add(message_id)
            found.extend((test, f) for f in items)

    for test, raw in _collector.mails:
        take_mail(test, raw)
    for path in sorted(base.rglob("*")):
        test, skipped = _owner(path)
        if skipped or not path.is_file():
            continue
        if path.parent.name in ("new", "cur") and "outbox" in path.parts:
            take_mail(test, path.read_bytes())
        elif path.name == "bot.db":
            for raw in _outbox_rows(path):
                take_mail(test, raw)
        elif path.suffix.lower() in _DOCUMENTS and not _TEMPLATE_PARTS & set(path.parts):
            text = document_text(path.read_bytes(), path.name)
            if text is not None:
                found.extend((test, f) for f in findings(text, f"file {path.name}"))
    return found


# Where a file is not a document the bot wrote: mail archived as received, the template files
# themselves (shipped, copied by `init`, or in a test's override folder), an installed package.
_TEMPLATE_PARTS = {"archive", "templates", "site-packages", "defaults"}


def _owner(path: Path) -> tuple[str, bool]:
    for parent in (path, *path.parents):
        if parent in _collector.dirs:
            return _collector.dirs[parent]
    return "", False


def _outbox_rows(path: Path) -> list[bytes]:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            return [row[0] for row in conn.execute("select raw from outbox")]
    except sqlite3.Error:
        return []
