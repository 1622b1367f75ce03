#!/usr/bin/env python3
"""Peer comparison: django-helpdesk 2.6.1 `get_email` and reception-bot on the same mailbox (quality.md).

The same backlog of registration mails (benchlib's mix) is put into intake@rb.test twice: once for
reception-bot (`run --once`, SQLite) and once for django-helpdesk's `get_email` (a ticket per mail, the
attachment saved, an acknowledgement mailed to the submitter through the rig's plain SMTP port). Each
side is timed from the start of its process until all of its mails to the senders are in their
mailboxes. Target: reception-bot at least 3x faster.

django-helpdesk is installed by this script into its own virtual environment, bench/out/helpdesk-venv
(`python3 -m venv`, `pip install django-helpdesk==2.6.1`), reused when already there; a minimal Django
project (settings, urls) is written to bench/out/helpdesk-project. If the install fails the reason is
printed and the peer row is skipped.

Run: .venv/bin/python bench/bench_peer.py [--n 1000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib as common  # noqa: E402
from benchlib import INTAKE, OUT, metric, print_table, result_json, verdict  # noqa: E402

PEER = "django-helpdesk"
PEER_VERSION = "2.6.1"
VENV = OUT / "helpdesk-venv"
PROJECT = OUT / "helpdesk-project"

SETTINGS = '''"""Minimal Django settings for timing django-helpdesk's get_email (written by bench/bench_peer.py)."""
import os

SECRET_KEY = "bench-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "Asia/Shanghai"
SITE_ID = 1
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
ROOT_URLCONF = "hd_urls"
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
    "django.contrib.sessions", "django.contrib.messages", "django.contrib.sites",
    "django.contrib.humanize", "rest_framework", "helpdesk",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
HELPDESK_TEAMS_MODE_ENABLED = False  # teams need pinax-teams; not used by email import
# The default list lacks .xlsx: without it the xlsx forms (2/3 of the mix) would not be saved at all.
HELPDESK_VALID_EXTENSIONS = [".txt", ".asc", ".pdf", ".doc", ".docx", ".odt", ".jpg", ".png", ".eml",
                             ".xlsx"]
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": ["django.template.context_processors.request",
                                       "django.contrib.auth.context_processors.auth",
                                       "django.contrib.messages.context_processors.messages"]},
}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["HD_DB"]}}
MEDIA_ROOT = os.environ["HD_MEDIA"]
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ["HD_SMTP_PORT"])
EMAIL_USE_TLS = False
DEFAULT_FROM_EMAIL = "intake@rb.test"
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "root": {"level": "WARNING", "handlers": []}}
'''

URLS = '''from django.urls import include, path

urlpatterns = [path("helpdesk/", include("helpdesk.urls"))]
'''

MAKE_QUEUE = '''import os
import django

django.setup()
from helpdesk.models import Queue

Queue.objects.all().delete()
Queue.objects.create(
    title="Reception", slug="rb", email_address="intake@rb.test",
    allow_email_submission=True,
    email_box_type="imap", email_box_host="127.0.0.1", email_box_port=int(os.environ["HD_IMAP_PORT"]),
    email_box_ssl=False, email_box_user="intake@rb.test", email_box_pass=os.environ["HD_IMAP_PASSWORD"],
    email_box_imap_folder="INBOX", email_box_interval=0, logging_type="none")
print("queue ok")
'''


def peer_python() -> Path:
    return VENV / "bin" / "python"


def installed_version() -> str | None:
    py = peer_python()
    if not py.exists():
        return None
    done = subprocess.run([str(py), "-c", "import importlib.metadata as m, helpdesk, django;"
                           "print(m.version('django-helpdesk'))"], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def base_python() -> str:
    """python3 from PATH when it is new enough for Django 5.2 (>= 3.10), else this interpreter."""
    found = shutil.which("python3")
    if found:
        done = subprocess.run([found, "-c", "import sys; print(sys.version_info >= (3, 10))"],
                              capture_output=True, text=True)
        if done.stdout.strip() == "True":
            return found
    return sys.executable


def install() -> tuple[bool, str]:
    """Create/reuse the peer's venv. Returns (ok, what happened or why it failed)."""
    version = installed_version()
    if version == PEER_VERSION:
        return True, f"{PEER} {version} already installed in {VENV}"
    OUT.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    if not peer_python().exists():
        done = subprocess.run([base_python(), "-m", "venv", str(VENV)], capture_output=True, text=True)
        if done.returncode != 0:
            return False, f"python3 -m venv {VENV} failed: {(done.stderr or done.stdout).strip()[-800:]}"
    log = OUT / "helpdesk-pip.log"
    with open(log, "w") as fh:
        done = subprocess.run([str(peer_python()), "-m", "pip", "install", "--disable-pip-version-check",
                               f"django-helpdesk=={PEER_VERSION}"], stdout=fh, stderr=subprocess.STDOUT,
                              timeout=900)
    if done.returncode != 0:
        lines = [ln for ln in log.read_text(errors="replace").splitlines()
                 if "ignored: it is neither a file nor a directory" not in ln]
        return False, (f"pip install django-helpdesk=={PEER_VERSION} exited {done.returncode}; "
                       "last lines:\n  " + "\n  ".join(lines[-12:]))
    version = installed_version()
    if version != PEER_VERSION:
        return False, f"installed, but `import helpdesk` fails or reports version {version!r}"
    return True, f"installed {PEER} {version} into {VENV} in {time.monotonic() - t0:.0f} s"


def write_project() -> None:
    PROJECT.mkdir(parents=True, exist_ok=True)
    for name, text in (("hd_settings.py", SETTINGS), ("hd_urls.py", URLS), ("make_queue.py", MAKE_QUEUE)):
        path = PROJECT / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)


def peer_env(rig, work: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env.update(DJANGO_SETTINGS_MODULE="hd_settings", PYTHONPATH=str(PROJECT),
               PYTHONWARNINGS="ignore", HD_DB=str(work / "helpdesk.sqlite3"),
               HD_MEDIA=str(work / "media"), HD_SMTP_PORT=str(rig.smtp_plain_port),
               HD_IMAP_PORT=str(rig.imap_port), HD_IMAP_PASSWORD=rig.password)
    return env


def django_admin(env: dict, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(peer_python()), "-m", "django", *args], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def prepare_peer(rig, work: Path) -> dict:
    """A fresh database with helpdesk's schema and one IMAP queue on the intake mailbox (not timed)."""
    write_project()
    work.mkdir(parents=True, exist_ok=True)
    env = peer_env(rig, work)
    Path(env["HD_DB"]).unlink(missing_ok=True)
    shutil.rmtree(env["HD_MEDIA"], ignore_errors=True)
    done = django_admin(env, "migrate", "--noinput", "-v", "0")
    if done.returncode != 0:
        raise RuntimeError(f"helpdesk migrate failed:\n{done.stderr[-3000:]}")
    done = subprocess.run([str(peer_python()), str(PROJECT / "make_queue.py")], cwd=PROJECT, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"creating the helpdesk queue failed:\n{done.stderr[-3000:]}")
    return env


def peer_pass(rig, env: dict, senders: list[str], n: int) -> dict:
    with common.Counter(rig, senders) as counter:
        before = counter.total()
        t0 = time.monotonic()
        done = django_admin(env, "get_email", "--quiet", timeout=1800)
        proc_s = time.monotonic() - t0
        if done.returncode != 0:
            raise RuntimeError(f"get_email exited {done.returncode}:\n{done.stderr[-3000:]}")
        con = sqlite3.connect(env["HD_DB"])
        try:
            tickets = con.execute("select count(*) from helpdesk_ticket").fetchone()[0]
            attachments = con.execute("select count(*) from helpdesk_followupattachment").fetchone()[0]
        finally:
            con.close()
        # one acknowledgement per new ticket, to its submitter (a sender)
        t_end = counter.wait(before + tickets, timeout=60)
        delivered = counter.total() - before
    total = (t_end - t0) if t_end else float("nan")
    with rig.imap(INTAKE) as c:
        left = c.select_folder("INBOX", readonly=True)[b"EXISTS"]
    return {"seconds": total, "process_seconds": proc_s, "tickets": tickets, "attachments": attachments,
            "acks": delivered, "left_in_inbox": left, "rate": n / total if t_end else 0.0,
            "stderr": done.stderr.strip()[-500:]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="messages in the backlog (default 1000)")
    ap.add_argument("--senders", type=int, default=30)
    args = ap.parse_args(argv)

    ok, install_note = install()
    print(f"{PEER}: {install_note}", flush=True)
    senders = common.sender_addresses(args.senders)
    mix = common.MailMix(senders)
    mails = [raw for _s, raw in mix.mails(args.n, "peer")]
    work = Path(tempfile.mkdtemp(prefix="rb-bench-peer-"))
    rows, metrics = [], []
    with common.start_rig() as rig:
        common.prepare(rig, senders)
        everyone = [INTAKE, *senders, *rig.users]

        common.multiappend(rig, INTAKE, mails)
        env = common.bot_env(rig, work / "bot")
        bot = common.bot_pass(rig, env, senders, args.n)
        rows.append(["reception-bot run --once (SQLite)", f"{bot['seconds']:.2f} s",
                     f"{bot['rate']:.1f} msg/s",
                     f"{bot['delivered']} replies delivered; {bot['runs']} run(s)"])
        common.clear(rig, everyone)

        peer = None
        if ok:
            try:
                penv = prepare_peer(rig, work / "helpdesk")
                common.multiappend(rig, INTAKE, mails)
                peer = peer_pass(rig, penv, senders, args.n)
            except Exception as exc:  # noqa: BLE001 - report the peer's failure, keep the bot's row
                ok, install_note = False, f"{PEER} could not run: {exc}"
        if peer is not None:
            rows.append([f"{PEER} {PEER_VERSION} get_email (SQLite, ack mails via SMTP)",
                         f"{peer['seconds']:.2f} s", f"{peer['rate']:.1f} msg/s",
                         f"{peer['tickets']} tickets, {peer['attachments']} attachments saved, "
                         f"{peer['acks']} acks delivered, {peer['left_in_inbox']} left in INBOX"])
            ratio = bot["rate"] / peer["rate"] if peer["rate"] else 0.0
            rows.append(["ratio reception-bot / peer", "", f"{ratio:.2f}x", f"≥ 3x {verdict(ratio >= 3)}"])
            metrics = [metric(f"peer django-helpdesk get_email, {args.n} msgs", round(peer["rate"], 1),
                              "msg/s", "", None),
                       metric(f"peer reception-bot same run, {args.n} msgs", round(bot["rate"], 1), "msg/s",
                              "", None),
                       metric("peer ratio bot/helpdesk", round(ratio, 2), "x", "≥ 3", ratio >= 3)]
        else:
            rows.append([f"{PEER} {PEER_VERSION}", "skipped", "", install_note.splitlines()[0][:200]])
            metrics = [metric("peer reception-bot same run", round(bot["rate"], 1), "msg/s", "", None),
                       metric("peer ratio bot/helpdesk", "skipped", "", "≥ 3", None)]
    print_table(f"bench_peer: {args.n} registration mails in intake@rb.test, each side from process start "
                f"to its mails delivered", ["system", "time", "rate", "notes"], rows)
    if not ok:
        print(f"peer skipped: {install_note}")
    result_json("peer", metrics)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
