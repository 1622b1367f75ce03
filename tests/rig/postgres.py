"""PostgreSQL for tests: an existing trust-auth server on 127.0.0.1:5432, else a throwaway cluster.

The throwaway cluster is ``initdb``'d under the rig's temp dir (as the ``postgres`` OS user when we are
root: initdb refuses root) and runs ``postgres`` as our child on a free port with durability switched off
(fsync, full_page_writes, synchronous_commit) for speed. One fresh database per test.
"""

from __future__ import annotations

import ctypes
import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Optional

from .dovecot import RigUnavailable, free_ports, tail

PG_USER = "postgres"

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child after the uid change, right before exec
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def pg_bindir() -> Optional[Path]:
    env = os.environ.get("RIG_PG_BINDIR")
    candidates = [env] if env else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                         key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
                         reverse=True)
    for c in candidates:
        if c and os.path.exists(os.path.join(c, "initdb")) and os.path.exists(os.path.join(c, "postgres")):
            return Path(c)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _connect(host: str, port: int, dbname: str = "postgres", timeout: int = 2):
    import psycopg

    return psycopg.connect(host=host, port=port, user=PG_USER, dbname=dbname, autocommit=True,
                           connect_timeout=timeout, password="")


class PgServer:
    """``.host``, ``.port``, ``.admin_url``; ``create_database()`` / ``drop_database(name)``."""

    host = "127.0.0.1"

    def __init__(self, root: Path):
        self.root = Path(root)
        self.port = 0
        self.external = False
        self.proc: Optional[subprocess.Popen] = None
        self.data_dir = self.root / "data"
        self.sock_dir = self.root / "sock"
        self.log_file = self.root / "postgres.log"
        self._lock = threading.Lock()

    # -- URLs -------------------------------------------------------------------------------------

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://{PG_USER}@{self.host}:{self.port}/postgres"

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://{PG_USER}@{self.host}:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres"):
        """A psycopg connection (autocommit) as the superuser."""
        return _connect(self.host, self.port, dbname)

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        if os.environ.get("RIG_PG_NO_EXTERNAL") != "1" and self._try_external():
            return
        self._start_own()

    def _try_external(self) -> bool:
        try:
            import psycopg
        except ImportError as e:  # pragma: no cover
            raise RigUnavailable(f"psycopg not installed: {e}") from e
        try:
            with _connect(self.host, 5432, timeout=1) as c:
                c.execute("select 1")
        except psycopg.Error:
            return False
        self.port = 5432
        self.external = True
        return True

    def _start_own(self, timeout: float = 30.0) -> None:
        bindir = pg_bindir()
        if bindir is None:
            raise RigUnavailable("PostgreSQL server binaries not found (run scripts/install-test-deps.sh)")
        as_root = os.geteuid() == 0
        if as_root:
            try:
                pw = pwd.getpwnam(PG_USER)
            except KeyError as e:
                raise RigUnavailable("running as root but there is no 'postgres' OS user") from e
            user_kw = dict(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
        else:
            pw = None
            user_kw = {}
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        for d in (self.sock_dir,):
            d.mkdir(exist_ok=True)
        if pw is not None:
            for d in (self.root, self.sock_dir):
                os.chown(d, pw.pw_uid, pw.pw_gid)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C")
        if pw is not None:
            env.update(HOME=pw.pw_dir, USER=PG_USER, LOGNAME=PG_USER)
        with open(self.log_file, "ab") as logf:
            if pw is not None:
                os.chown(self.log_file, pw.pw_uid, pw.pw_gid)
            r = subprocess.run(
                [str(bindir / "initdb"), "-D", str(self.data_dir), "-U", PG_USER, "-A", "trust", "-N",
                 "-E", "UTF8", "--locale=C"],
                stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, env=env, cwd=self.root,
                **user_kw)
        if r.returncode != 0:
            raise RigUnavailable(f"initdb failed ({r.returncode}):\n{tail(self.log_file)}")
        for attempt in range(3):
            self.port = free_ports(1, self.host)[0]
            logf = open(self.log_file, "ab")
            try:
                self.proc = subprocess.Popen(
                    [str(bindir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port),
                     "-c", f"listen_addresses={self.host}", "-k", str(self.sock_dir),
                     "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                     "-c", "max_connections=300", "-c", "shared_buffers=64MB",
                     "-c", "logging_collector=off", "-c", "log_min_messages=warning"],
                    stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, env=env,
                    cwd=self.root, start_new_session=True,
                    preexec_fn=_die_with_parent if threading.current_thread() is threading.main_thread()
                    else None,
                    **user_kw)
            finally:
                logf.close()
            if self._wait_ready(timeout):
                return
            self.stop()
            if "could not bind" not in tail(self.log_file, 10) or attempt == 2:
                raise RigUnavailable(f"PostgreSQL did not start:\n{tail(self.log_file)}")

    def _wait_ready(self, timeout: float) -> bool:
        import psycopg

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                return False
            try:
                with _connect(self.host, self.port, timeout=1) as c:
                    c.execute("select 1")
                return True
            except psycopg.Error:
                time.sleep(0.02)
        return False

    def stop(self) -> None:
        """Fast shutdown (SIGINT), immediate (SIGQUIT) if that takes over 5 s. No-op for an external
        server."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        for sig, wait in ((signal.SIGINT, 5), (signal.SIGQUIT, 5), (signal.SIGKILL, 5)):
            if proc.poll() is not None:
                break
            try:
                proc.send_signal(sig)
                proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue
            except ProcessLookupError:
                break

    # -- databases --------------------------------------------------------------------------------

    def create_database(self, prefix: str = "test_") -> str:
        name = f"{prefix}{secrets.token_hex(6)}"
        with self.connect() as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        with self.connect() as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
