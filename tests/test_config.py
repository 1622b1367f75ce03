"""config.toml -> Config: the shipped example loads, defaults hold, mistakes are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_config
from bot.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def passwords(monkeypatch):
    monkeypatch.setenv("RECEPTION_BOT_IMAP_PASSWORD", "imap-secret")
    monkeypatch.setenv("RECEPTION_BOT_SMTP_PASSWORD", "smtp-secret")
    monkeypatch.delenv("RECEPTION_BOT_DATABASE_URL", raising=False)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_example_loads(passwords, tmp_path):
    example = tmp_path / "config.toml"
    example.write_text((REPO / "config.example.toml").read_text(encoding="utf-8"), encoding="utf-8")
    cfg = load_config(example)
    assert cfg.imap.sent_folder == "Sent" and cfg.smtp.sent_copy is True
    assert cfg.smtp.sent_copy_grace_seconds == 30 and cfg.smtp.connections == 2
    assert 0 <= cfg.parse_workers <= 4  # not set in the example: one fewer than the cores
    assert cfg.imap.password == "imap-secret" and "imap-secret" not in repr(cfg)
    assert cfg.database_url == "sqlite:///storage/bot.db"


def test_no_file_is_the_embedded_default(tmp_path):
    cfg = load_config(None, base_dir=tmp_path)
    assert cfg.imap is None and cfg.smtp is None
    assert cfg.maildir == tmp_path / "storage" / "mail"


SMTP = '[smtp]\nhost = "127.0.0.1"\nsecurity = "plain"\npassword_env = "RECEPTION_BOT_SMTP_PASSWORD"\n'


def test_sent_copy_can_be_switched_off_and_the_grace_set(passwords, tmp_path):
    cfg = load_config(write(tmp_path, SMTP + "sent_copy = false\nsent_copy_grace_seconds = 30\n"))
    assert cfg.smtp.sent_copy is False and cfg.smtp.sent_copy_grace_seconds == 30


@pytest.mark.parametrize("extra, message", [
    ('sent_copy = "yes"\n', "smtp.sent_copy must be true or false"),
    ("sent_copy_grace_seconds = -1\n", "smtp.sent_copy_grace_seconds must be"),
    ('sent_copy_grace_seconds = "10m"\n', "smtp.sent_copy_grace_seconds must be"),
    ("sent_folder = \"Sent\"\n", "sent_folder"),  # an [imap] key in [smtp]: named, not ignored
    ("connections = 0\n", "smtp.connections must be a whole number from 1 to 8"),
    ("connections = 2.5\n", "smtp.connections must be"),
])
def test_wrong_values_are_named(passwords, tmp_path, extra, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, SMTP + extra))


def test_plaintext_to_a_remote_server_is_refused(passwords, tmp_path):
    with pytest.raises(ConfigError, match="loopback"):
        load_config(write(tmp_path, SMTP.replace("127.0.0.1", "smtp.example.gov.cn")))


@pytest.mark.parametrize("value, ok", [("0", True), ("3", True), ("-1", False), ("true", False),
                                       ('"auto"', False)])
def test_parse_workers(passwords, tmp_path, value, ok):
    path = write(tmp_path, f"parse_workers = {value}\n")
    if ok:
        assert load_config(path).parse_workers == int(value)
    else:
        with pytest.raises(ConfigError, match="parse_workers must be a whole number from 0 to 64"):
            load_config(path)
