"""A bot configured against the real test rig: Dovecot IMAP, the aiosmtpd submission server, a
real database. Commands run as processes of their own, `python -m bot` as an admin runs them
(tests.support.preload spares them the imports); the daemon is `python -m bot run` itself."""

from __future__ import annotations

import email
import os
import subprocess
import sys
from dataclasses import dataclass
from email.policy import default
from pathlib import Path

from tests.support.preload import run_bot

REPO = Path(__file__).resolve().parents[2]
INTAKE = "intake@rb.test"
AUTHSERV = "mx.rb.test"


@dataclass
class BotEnv:
    root: Path
    config: Path
    rig: object
    rules_dir: Path

    def env(self) -> dict:
        env = dict(os.environ)
        env["RB_TEST_IMAP_PASSWORD"] = self.rig.password
        env["RB_TEST_SMTP_PASSWORD"] = self.rig.smtp_password
        return env

    def cli(self, *args: str, today: str | None = None, check: bool = True,
            timeout: float = 120) -> subprocess.CompletedProcess:
        cmd = ["--config", str(self.config)]
        if today:
            cmd += ["--today", today]
        done = run_bot(cmd + list(args), cwd=self.root, env=self.env(), timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}")
        return done

    def start_daemon(self, today: str | None = None) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "bot", "--config", str(self.config)]
        if today:
            cmd += ["--today", today]
        with open(self.root / "daemon.log", "ab") as log:  # the child keeps its own copy
            return subprocess.Popen(cmd + ["run"], cwd=self.root, env=self.env(), stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def make_env(root: Path, rig, database_url: str, rules_dir: Path | None = None,
             extra: str = "") -> BotEnv:
    """Write config.toml for the rig. IMAP on the plain loopback port, SMTP with STARTTLS + AUTH
    verified against the rig's certificate."""
    root.mkdir(parents=True, exist_ok=True)
    rules_dir = rules_dir or REPO / "rules"
    config = root / "config.toml"
    config.write_text(f"""
storage_dir = "{root / 'storage'}"
rules_dir = "{rules_dir}"
templates_dir = "{REPO / 'templates'}"
database_url = "{database_url}"
message_id_domain = "bot.rb.test"
poll_seconds = 2
{extra}

[trust]
# The rig's mails play the part of the office's own receiving server: a mail carrying
# `Authentication-Results: {AUTHSERV}; …pass…` (tests.support.mail.authenticated) was vouched for.
authserv_id = "{AUTHSERV}"

[imap]
host = "127.0.0.1"
port = {rig.imap_port}
security = "plain"
username = "{INTAKE}"
password_env = "RB_TEST_IMAP_PASSWORD"

[smtp]
host = "127.0.0.1"
port = {rig.smtp_port}
security = "starttls"
username = "{rig.smtp_user}"
password_env = "RB_TEST_SMTP_PASSWORD"
cafile = "{rig.ca_file}"
# The rig delivers before it answers the final dot: a sent copy that is not there in 5 s never comes.
sent_copy_grace_seconds = 5
""", encoding="utf-8")
    return BotEnv(root, config, rig, rules_dir)


def parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=default)


def body_text(msg) -> str:
    part = msg.get_body(("plain",))
    return part.get_content() if part is not None else ""
