"""A private Dovecot 2.3 instance (IMAP, IMAPS, LMTP) for tests, plus shared rig helpers.

Facts this relies on (see /work/shared/spec/test-rig.md): Dovecot keeps the caller's stderr open, so it is
started with stdin/stdout/stderr redirected to a log file, never captured; ``dovecot -F`` as our child,
stopped by SIGTERM to its process group; mail user ``mail`` (root can never be the mail user);
``auth_failure_delay = 0`` keeps failed logins fast. Users are files of a ``fs:posix`` dict (see
CONF_TEMPLATE), so ``add_user`` applies at once.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as _dt
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from pathlib import Path

DOVECOT_BIN = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVEADM_BIN = shutil.which("doveadm") or "/usr/bin/doveadm"
SETPRIV_BIN = shutil.which("setpriv")

ROOT_PREFIX = "rbrig-"
KEEP_ENV = "RIG_KEEP"  # set RIG_KEEP=1 to keep the rig's temp dir (configs, logs) after the session


class RigUnavailable(RuntimeError):
    """A component of the rig cannot run on this machine (binary missing, not root, ...)."""


# --------------------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------------------

def free_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """n distinct currently-free TCP ports (bound all at once, then released)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_port(host: str, port: int, timeout: float, alive=None, banner: bool = False) -> None:
    """Wait until host:port accepts a connection (and sends a first line if banner=True).

    ``alive`` is an optional callable returning False when the server process has died (then fail fast).
    """
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise RuntimeError(f"server process died before {host}:{port} was ready")
        try:
            with socket.create_connection((host, port), timeout=1.0) as s:
                if banner:
                    s.settimeout(max(0.1, deadline - time.monotonic()))
                    if not s.recv(1):
                        raise OSError("connection closed before banner")
                return
        except OSError as e:
            last = e
            time.sleep(0.005)
    raise TimeoutError(f"{host}:{port} not ready after {timeout}s: {last}")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child counts as dead
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


def group_members(pgid: int) -> list[tuple[int, str]]:
    """(pid, argv[0]) of the non-zombie processes of process group ``pgid`` (zombies hold no sockets)."""
    out = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            if int(fields[2]) != pgid or fields[0] == b"Z":
                continue
            out.append((int(entry.name), _cmdline(int(entry.name)).split(b"\0")[0].decode(errors="replace")))
        except (OSError, IndexError, ValueError):
            continue
    return out


def group_alive(pgid: int) -> bool:
    return bool(group_members(pgid))


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def reap_stale_rigs() -> None:
    """Stop servers and delete dirs left by rigs whose owning process died (kill -9 of pytest)."""
    for d in Path(tempfile.gettempdir()).glob(ROOT_PREFIX + "*"):
        try:
            owner = int((d / "owner.pid").read_text().strip())
        except (OSError, ValueError):
            # no owner file: only clean if old enough (not a rig being created right now)
            try:
                if time.time() - d.stat().st_mtime < 60:
                    continue
            except OSError:
                continue
            owner = -1
        if owner > 0 and pid_alive(owner):
            continue
        if (d / "keep").exists():
            continue
        for pidfile, marker in ((d / "mail" / "run" / "master.pid", b"dovecot"),
                                (d / "pg" / "data" / "postmaster.pid", b"postgres")):
            try:
                pid = int(pidfile.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
            if marker not in _cmdline(pid):
                continue
            try:
                if marker == b"dovecot":  # leader of its own process group (start_new_session)
                    os.killpg(pid, signal.SIGKILL)
                else:  # postgres: immediate shutdown, it stops its children itself
                    os.kill(pid, signal.SIGQUIT)
            except OSError:
                continue
            for _ in range(100):
                if not pid_alive(pid):
                    break
                time.sleep(0.02)
        shutil.rmtree(d, ignore_errors=True)


_root_lock = threading.Lock()
_root: Path | None = None


def session_root() -> Path:
    """The one temp dir of this process's rig (created on first use, removed at exit)."""
    global _root
    with _root_lock:
        if _root is None:
            reap_stale_rigs()
            d = Path(tempfile.mkdtemp(prefix=ROOT_PREFIX, dir=tempfile.gettempdir()))
            os.chmod(d, 0o755)  # the mail and postgres users must traverse it
            (d / "owner.pid").write_text(f"{os.getpid()}\n")
            _root = d
            atexit.register(_remove_root)
        return _root


def _remove_root() -> None:
    if _root is None:
        return
    if os.environ.get(KEEP_ENV):
        (_root / "keep").touch()
        return
    shutil.rmtree(_root, ignore_errors=True)


def make_cert(directory: Path) -> tuple[Path, Path]:
    """Self-signed cert (CN=localhost, SAN DNS:localhost + IP:127.0.0.1). Returns (cert_pem, key_pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = _dt.datetime.now(_dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(days=1))
        .not_valid_after(now + _dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = directory / "cert.pem"
    key_pem = directory / "key.pem"
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    os.chmod(key_pem, 0o600)
    os.chmod(cert_pem, 0o644)
    return cert_pem, key_pem


def server_ssl_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


def tail(path: Path, n: int = 30) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


# --------------------------------------------------------------------------------------------------
# Dovecot
# --------------------------------------------------------------------------------------------------

CONF_TEMPLATE = """\
# generated by tests/rig/dovecot.py
protocols = imap lmtp
listen = {host}
base_dir = {run}
state_dir = {state}
instance_name = {instance}
log_path = {log}
info_log_path = {log}
debug_log_path = {log}
shutdown_clients = yes
# no stats: a process that starts while Dovecot stops would wait 5 s for the stats-writer handshake
stats_writer_socket_path =

mail_uid = mail
mail_gid = mail
first_valid_uid = 8
first_valid_gid = 8
mail_location = maildir:~/Maildir
mail_fsync = optimized
mail_max_userip_connections = 1000
postmaster_address = postmaster@rb.test
hostname = rig.test

ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}

auth_mechanisms = plain login
disable_plaintext_auth = no
auth_failure_delay = 0
auth_cache_size = 0

namespace inbox {{
  inbox = yes
  separator = /
  prefix =
}}

# Users live in a dict on the file system (one file per user, read on every lookup), not in a
# passwd-file: Dovecot re-stats a passwd-file at most once per second, so a user added right after
# a lookup was not visible for up to 1 s.
passdb {{
  driver = dict
  args = {dict_conf}
}}
userdb {{
  driver = dict
  args = {dict_conf}
  default_fields = uid=mail gid=mail home={homes}/%Ld/%Ln
}}

service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {imaps_port}
    ssl = yes
  }}
  # one long-lived login process for all connections (no fork per login); it is up once the
  # readiness probe got its banner
  process_min_avail = 1
  service_count = 0
  client_limit = 1000
  vsz_limit = 512M
}}

service imap {{
  process_limit = 1024
}}

service lmtp {{
  inet_listener lmtp {{
    address = {host}
    port = {lmtp_port}
  }}
  unix_listener lmtp {{
    mode = 0666
  }}
}}

protocol imap {{
  mail_max_userip_connections = 1000
  imap_idle_notify_interval = 2 mins
}}

protocol lmtp {{
  lmtp_save_to_detail_mailbox = no
}}
"""


class Dovecot:
    """A private Dovecot started as ``dovecot -F -c CONF`` child process."""

    host = "127.0.0.1"

    def __init__(self, root: Path, password: str = "rig-secret"):
        if not os.path.exists(DOVECOT_BIN):
            raise RigUnavailable("dovecot not installed (run scripts/install-test-deps.sh)")
        if os.geteuid() != 0:
            raise RigUnavailable("the Dovecot rig must run as root")
        self.root = Path(root)
        self.password = password
        self.run_dir = self.root / "run"
        self.state_dir = self.root / "state"
        self.homes = self.root / "homes"
        self.users_dir = self.root / "users"
        self.dict_conf = self.root / "users.dict.conf"
        self.log_file = self.root / "dovecot.log"
        self.conf = self.root / "dovecot.conf"
        self.cert, self.key = None, None
        self.imap_port = self.imaps_port = self.lmtp_port = 0
        self.proc: subprocess.Popen | None = None
        self._users: list[str] = []
        self._lock = threading.RLock()
        self._log_fh = None
        self._started_once = False

    # -- setup ------------------------------------------------------------------------------------

    def prepare(self) -> None:
        for d in (self.root, self.run_dir, self.state_dir, self.homes):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        shutil.chown(self.homes, "mail", "mail")
        os.chmod(self.homes, 0o755)
        self.cert, self.key = make_cert(self.root)
        for sub in ("passdb", "userdb"):
            (self.users_dir / sub).mkdir(parents=True, exist_ok=True)
        self.dict_conf.write_text(
            f"uri = fs:posix:prefix={self.users_dir}/\n"
            "password_key = passdb/%Lu\n"
            "user_key = userdb/%Lu\n"
            "iterate_disable = yes\n"
            "default_pass_scheme = PLAIN\n"
        )
        self._write_conf()

    def _write_conf(self) -> None:
        self.imap_port, self.imaps_port, self.lmtp_port = free_ports(3, self.host)
        self.conf.write_text(
            CONF_TEMPLATE.format(
                host=self.host,
                run=self.run_dir,
                state=self.state_dir,
                instance=self.root.parent.name + "-dovecot",
                log=self.log_file,
                cert=self.cert,
                key=self.key,
                dict_conf=self.dict_conf,
                homes=self.homes,
                imap_port=self.imap_port,
                imaps_port=self.imaps_port,
                lmtp_port=self.lmtp_port,
            )
        )

    # -- users ------------------------------------------------------------------------------------

    @property
    def users(self) -> list[str]:
        with self._lock:
            return list(self._users)

    def add_user(self, address: str) -> None:
        """Create a mailbox user (password ``self.password``); effective immediately."""
        address = address.strip().lower()
        if (not address or "@" not in address or address.startswith(".")
                or any(ch in address for ch in "/\\\n\r\0 ")):
            raise ValueError(f"bad address {address!r}")
        with self._lock:
            if address in self._users:
                return
            for sub, value in (("userdb", {}), ("passdb", {"password": "{PLAIN}" + self.password})):
                tmp = self.users_dir / sub / f".{address}.tmp"
                tmp.write_text(json.dumps(value))
                os.chmod(tmp, 0o644)
                os.replace(tmp, self.users_dir / sub / address)
            self._users.append(address)

    def home(self, address: str) -> Path:
        local, domain = address.lower().split("@", 1)
        return self.homes / domain / local

    # -- process ----------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        """Start (no-op if running). The first start picks other ports if one was taken meanwhile;
        later starts (restart) keep the ports."""
        with self._lock:
            if self.running:
                return
            for attempt in range(5):
                try:
                    log_pos = self.log_file.stat().st_size
                except OSError:
                    log_pos = 0
                try:
                    self._start_once(timeout)
                    self._started_once = True
                    return
                except Exception as e:
                    self._kill_group()
                    self.proc = None
                    with open(self.log_file, "rb") as f:
                        f.seek(log_pos)
                        new_log = f.read().decode(errors="replace")
                    if attempt == 4 or "Address already in use" not in new_log:
                        raise RuntimeError(
                            f"Dovecot did not start ({e!r}); log ({self.log_file}):\n{new_log[-3000:]}"
                        ) from None
                    if self._started_once:
                        time.sleep(0.2)  # someone holds one of our ports; wait, keep the ports
                    else:
                        self._write_conf()  # a port was taken between choosing and binding

    def _start_once(self, timeout: float) -> None:
        if self._log_fh is None:
            self._log_fh = open(self.log_file, "ab", buffering=0)
        # A master killed while it held the dotlock of its instance list leaves state/instances.lock
        # behind, and the next master then waits (silently, before starting any process) for it to
        # go stale. The state dir is ours alone: drop the lock.
        with contextlib.suppress(FileNotFoundError):
            (self.state_dir / "instances.lock").unlink()
        cmd = [DOVECOT_BIN, "-F", "-c", str(self.conf)]
        # Die with us if we are killed hard (only safe from the main thread: PDEATHSIG follows the
        # thread that forked).
        if SETPRIV_BIN and threading.current_thread() is threading.main_thread():
            cmd = [SETPRIV_BIN, "--pdeathsig", "TERM", "--"] + cmd
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=self._log_fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: Ctrl-C goes to pytest, which stops us in order
            close_fds=True,
        )
        alive = lambda: self.proc is not None and self.proc.poll() is None  # noqa: E731
        deadline = time.monotonic() + timeout
        for port in (self.imap_port, self.imaps_port, self.lmtp_port):
            wait_port(self.host, port, max(0.1, deadline - time.monotonic()), alive=alive,
                      banner=port != self.imaps_port)

    # processes that write mail; the others (auth, log, stats, anvil, config, login) may be killed hard
    DATA_PROCESSES = ("/imap", "/lmtp", "/indexer", "/indexer-worker", "/doveadm-server", "/quota-status")

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM to the whole process group; once no mail-writing process is left, SIGKILL the rest.

        (SIGTERM to the master alone takes 1-10 s: it waits for children in 1 s steps, and the auth
        process sometimes lingers 5 s on a worker connection.) Typically 0.01-0.1 s.
        """
        with self._lock:
            proc = self.proc
            if proc is None:
                return
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
            # Data processes exit within ms on SIGTERM; one still starting up can block ~1 s reading its
            # config from the (dying) master. A delivery cut short is not acknowledged, so never lost.
            deadline = time.monotonic() + min(timeout, 0.3)
            while time.monotonic() < deadline:
                members = group_members(proc.pid)
                if not members:
                    break
                if not any(name.endswith(self.DATA_PROCESSES) for _pid, name in members):
                    break
                time.sleep(0.005)
            self._kill_group()
            self.proc = None

    def _kill_group(self) -> None:
        """SIGKILL whatever is left of the process group (children hold the listening sockets)."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None or group_alive(proc.pid):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + 5
        while group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.005)

    def restart(self) -> None:
        with self._lock:
            self.stop()
            self.start()

    def close(self) -> None:
        self.stop()
        if self._log_fh is not None:
            self._log_fh.close()
            self._log_fh = None

    # -- doveadm ----------------------------------------------------------------------------------

    def doveadm(self, *args: str, check: bool = True, timeout: float = 30.0) -> str:
        """Run ``doveadm -c CONF ARGS``; returns stdout. (Output is captured via files, not pipes:
        doveadm may talk to Dovecot, which must never inherit a pipe.)"""
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            r = subprocess.run([DOVEADM_BIN, "-c", str(self.conf), *args], stdin=subprocess.DEVNULL,
                               stdout=out, stderr=err, timeout=timeout)
            out.seek(0)
            err.seek(0)
            o, e = out.read().decode(errors="replace"), err.read().decode(errors="replace")
        if check and r.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)} failed ({r.returncode}): {e.strip()}")
        return o
