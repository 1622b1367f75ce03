"""pytest fixtures of the real-mail rig: ``mailrig``, ``clean_mail``, ``pg_server``, ``pg_url``, ``db_url``.

``MailRig`` also works outside pytest (benchmarks)::

    with MailRig() as rig:
        rig.append("intake@rb.test", raw)
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import smtplib
import time
from pathlib import Path
from typing import Iterable, Iterator, Optional

import pytest

from .dovecot import (
    Dovecot,
    RigUnavailable,
    free_ports,
    server_ssl_context,
    session_root,
)
from .postgres import PgServer
from .smtpd import SmtpServers

log = logging.getLogger("tests.rig")

DEFAULT_USERS = (
    "intake@rb.test",
    "admin@rb.test",
    "ent1@corp.test",
    "ent2@corp.test",
    "ent3@corp.test",
    "ent4@corp.test",
    "ent5@corp.test",
    "fgw@units.test",
    "gxj@units.test",
    "zrzyj@units.test",
    "hbw@units.test",
    "wd@units.test",
    "hn@units.test",
    "dcs@units.test",
    "ysb@units.test",
)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def rig_unavailable(reason: str):
    """Skip (fail loudly under CI=true) because a part of the rig cannot run here."""
    if _in_ci():
        pytest.fail(f"test rig unavailable under CI: {reason}", pytrace=False)
    pytest.skip(f"test rig unavailable: {reason}")


class MailRig:
    host = "127.0.0.1"

    def __init__(self, root: Optional[Path] = None, users: Iterable[str] = DEFAULT_USERS,
                 password: str = "rig-secret", smtp_user: str = "intake@rb.test",
                 smtp_password: str = "rig-smtp-secret"):
        self.root = Path(root) if root is not None else session_root() / "mail"
        self.password = password
        self.smtp_user = smtp_user
        self.smtp_password = smtp_password
        self._initial_users = list(users)
        self.dovecot = Dovecot(self.root, password=password)
        self.smtp: Optional[SmtpServers] = None
        self.smtp_port = self.smtp_plain_port = 0
        self.start_seconds = self.stop_seconds = 0.0
        self._started = False
        self._set_aside = 0  # Maildirs moved aside so far (set_aside)

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> "MailRig":
        t0 = time.monotonic()
        self.dovecot.prepare()
        for u in self._initial_users:
            self.dovecot.add_user(u)
        atexit.register(self.stop)
        self._started = True
        try:
            self.dovecot.start()
            self._start_smtp()
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - t0
        return self

    def _start_smtp(self) -> None:
        ctx = server_ssl_context(self.dovecot.cert, self.dovecot.key)
        last: Exception | None = None
        for _ in range(3):
            port, plain = free_ports(2, self.host)
            servers = SmtpServers(self.host, port, plain, ctx, self.smtp_user, self.smtp_password,
                                  lmtp_addr=lambda: (self.host, self.dovecot.lmtp_port),
                                  mailbox=lambda address: self.dovecot.home(address) / "Maildir")
            try:
                servers.start()
            except Exception as e:  # noqa: BLE001 - a port taken meanwhile: try others
                last = e
                servers.stop()
                continue
            self.smtp, self.smtp_port, self.smtp_plain_port = servers, port, plain
            return
        raise RuntimeError(f"SMTP servers did not start: {last!r}")

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        t0 = time.monotonic()
        try:
            if self.smtp is not None:
                self.smtp.stop()
        finally:
            self.dovecot.close()
            self.stop_seconds = time.monotonic() - t0

    def __enter__(self) -> "MailRig":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- Dovecot ----------------------------------------------------------------------------------

    @property
    def imap_port(self) -> int:
        return self.dovecot.imap_port

    @property
    def imaps_port(self) -> int:
        return self.dovecot.imaps_port

    @property
    def lmtp_port(self) -> int:
        return self.dovecot.lmtp_port

    @property
    def ca_file(self) -> str:
        return str(self.dovecot.cert)

    @property
    def dovecot_conf(self) -> str:
        return str(self.dovecot.conf)

    @property
    def dovecot_log(self) -> str:
        return str(self.dovecot.log_file)

    @property
    def users(self) -> list[str]:
        return self.dovecot.users

    def restart_dovecot(self) -> None:
        self.dovecot.restart()

    def stop_dovecot(self) -> None:
        self.dovecot.stop()

    def start_dovecot(self) -> None:
        self.dovecot.start()

    def doveadm(self, *args: str, check: bool = True) -> str:
        return self.dovecot.doveadm(*args, check=check)

    # -- SMTP -------------------------------------------------------------------------------------

    @property
    def smtp_faults(self):
        return self.smtp.faults

    @property
    def smtp_accepted(self):
        return self.smtp.accepted

    # -- mailboxes --------------------------------------------------------------------------------

    def add_user(self, address: str) -> None:
        self.dovecot.add_user(address)

    @contextlib.contextmanager
    def imap(self, address: str, timeout: float = 30.0) -> Iterator["IMAPClient"]:  # noqa: F821
        """A logged-in IMAPClient on the plain port (logged out afterwards)."""
        from imapclient import IMAPClient

        c = IMAPClient(self.host, self.imap_port, ssl=False, timeout=timeout)
        try:
            c.login(address, self.password)
            yield c
        finally:
            try:
                c.logout()
            except Exception:  # noqa: BLE001
                with contextlib.suppress(Exception):
                    c.shutdown()

    def append(self, address: str, raw: bytes, folder: str = "INBOX", flags: Iterable = ()) -> None:
        with self.imap(address) as c:
            if folder.upper() != "INBOX" and not c.folder_exists(folder):
                with contextlib.suppress(Exception):  # created meanwhile by someone else
                    c.create_folder(folder)
            c.append(folder, raw, flags=tuple(flags))

    def deliver(self, rcpts, raw: bytes, mail_from: str = "sender@corp.test") -> None:
        """Deliver straight into Dovecot over LMTP (as a real arrival; adds Return-Path/Delivered-To)."""
        if isinstance(rcpts, str):
            rcpts = [rcpts]
        with smtplib.LMTP(self.host, self.lmtp_port, local_hostname="rig.test") as l:
            refused = l.sendmail(mail_from, list(rcpts), raw)
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)

    def messages(self, address: str, folder: str = "INBOX") -> list[bytes]:
        with self.imap(address) as c:
            return self._fetch_all(c, folder)

    @staticmethod
    def _fetch_all(c, folder: str) -> list[bytes]:
        if folder.upper() != "INBOX" and not c.folder_exists(folder):
            return []
        c.select_folder(folder, readonly=True)
        uids = sorted(c.search("ALL"))
        out: list[bytes] = []
        for i in range(0, len(uids), 500):
            chunk = uids[i:i + 500]
            data = c.fetch(chunk, ["BODY.PEEK[]"])
            out.extend(data[u][b"BODY[]"] for u in chunk if u in data)
        return out

    def wait_for_messages(self, address: str, n: int, timeout: float = 15.0,
                          folder: str = "INBOX") -> list[bytes]:
        deadline = time.monotonic() + timeout
        count = 0
        with self.imap(address) as c:
            while True:
                try:
                    count = c.folder_status(folder, [b"MESSAGES"])[b"MESSAGES"]
                except Exception:  # noqa: BLE001 - folder does not exist (yet)
                    count = 0
                if count >= n:
                    return self._fetch_all(c, folder)
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.02)
        raise AssertionError(f"{address} {folder}: {count} message(s) after {timeout}s, expected >= {n}")

    def folders(self, address: str) -> list[str]:
        with self.imap(address) as c:
            return [name for _flags, _delim, name in c.list_folders()]

    def _maybe_dirty(self, address: str) -> bool:
        """Cheap file-system check: False only if the user's Maildir surely holds no mail and no folder."""
        md = self.dovecot.home(address) / "Maildir"
        try:
            with os.scandir(md) as it:
                if any(e.name.startswith(".") and e.is_dir() for e in it):
                    return True  # a folder (Maildir++ layout)
            for sub in ("new", "cur"):
                with contextlib.suppress(FileNotFoundError), os.scandir(md / sub) as it:
                    if next(it, None) is not None:
                        return True
        except FileNotFoundError:
            return False
        except OSError:
            return True
        return False

    def clear(self, address: str) -> None:
        """Delete every message of the user and every folder except INBOX."""
        if not self._maybe_dirty(address):
            return
        with self.imap(address) as c:
            for _round in range(5):
                names = [n for _f, _d, n in c.list_folders() if n.upper() != "INBOX"]
                if not names:
                    break
                # children before parents
                for name in sorted(names, key=lambda n: n.count("/"), reverse=True):
                    with contextlib.suppress(Exception):
                        c.delete_folder(name)
            info = c.select_folder("INBOX")
            if info.get(b"EXISTS", 0):
                c.add_flags(c.search("ALL"), [b"\\Deleted"], silent=True)
                c.expunge()
            c.close_folder()

    def set_aside(self, address: str) -> None:
        """Empty the user's mailbox without deleting a file: its Maildir (every folder) is renamed
        into `set-aside/` under the rig's root, and Dovecot makes a new one at the next access.
        For the benchmarks, which empty every mailbox before each timed run: on a file system that
        will not reuse an inode freed in the last minute (ext4 without a journal), thousands of
        files deleted just before a run made each file the run created cost more kernel CPU (up to
        ~0.7 ms a file here). The rig's root and all in it go when the rig's temporary folder is
        removed.
        No session of the user may be open (it would go on with the old Maildir)."""
        if not self._maybe_dirty(address):
            return
        maildir = self.dovecot.home(address) / "Maildir"
        aside = self.root / "set-aside"
        aside.mkdir(exist_ok=True)
        self._set_aside += 1
        os.rename(maildir, aside / f"{self._set_aside}-{address}")

    def clear_all(self) -> None:
        for u in self.users:
            self.clear(u)

    def reset(self) -> None:
        """Between tests: Dovecot running, no SMTP faults, nothing recorded, all mailboxes empty."""
        if not self.dovecot.running:
            self.dovecot.start()
        self.smtp_faults.clear()
        self.smtp_accepted.clear()
        self.clear_all()


# --------------------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def mailrig():
    try:
        rig = MailRig()
        rig.start()
    except RigUnavailable as e:
        rig_unavailable(str(e))
    try:
        yield rig
    finally:
        rig.stop()


@pytest.fixture
def clean_mail(mailrig):
    """The rig with Dovecot running, SMTP faults cleared, ``smtp_accepted`` emptied, every user's
    mailbox emptied (extra folders deleted)."""
    mailrig.reset()
    yield mailrig


@pytest.fixture(scope="session")
def pg_server():
    try:
        server = PgServer(session_root() / "pg")
        server.start()
    except RigUnavailable as e:
        rig_unavailable(str(e))
    atexit.register(server.stop)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server):
    name = pg_server.create_database()
    try:
        yield pg_server.url(name)
    finally:
        try:
            pg_server.drop_database(name)
        except Exception as e:  # noqa: BLE001 - never hide the test's own outcome
            log.warning("could not drop test database %s: %r", name, e)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/bot.db"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(db_url):
    """The bot's schema on real SQLite and on real PostgreSQL (a file may define its own `engine`)."""
    from bot.store.db import make_engine, migrate

    engine = make_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()
