"""config.toml -> Config: the shipped example loads, defaults hold, mistakes are named with
file:line in Chinese, and config.example.toml documents exactly the settings the registry declares."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import pytest

from bot.config import load_config, settings
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
    assert cfg.smtp.sent_copy_grace_seconds == 30 and cfg.smtp.connections == 4
    assert 0 <= cfg.parse_workers <= 4  # not set in the example: one fewer than the cores
    assert cfg.imap.password == "imap-secret" and "imap-secret" not in repr(cfg)
    assert cfg.database_url == f"sqlite:///{tmp_path / 'storage' / 'bot.db'}"  # beside the file


def test_no_file_is_the_embedded_default(tmp_path):
    cfg = load_config(None, base_dir=tmp_path)
    assert cfg.imap is None and cfg.smtp is None
    assert cfg.maildir == tmp_path / "storage" / "mail"


SMTP = '[smtp]\nhost = "127.0.0.1"\nsecurity = "plain"\npassword_env = "RECEPTION_BOT_SMTP_PASSWORD"\n'


def test_sent_copy_can_be_switched_off_and_the_grace_set(passwords, tmp_path):
    cfg = load_config(write(tmp_path, SMTP + "sent_copy = false\nsent_copy_grace_seconds = 30\n"))
    assert cfg.smtp.sent_copy is False and cfg.smtp.sent_copy_grace_seconds == 30


@pytest.mark.parametrize("extra, message", [
    ('sent_copy = "yes"\n', "“smtp.sent_copy”应为 true 或 false，而不是字符串"),
    ("sent_copy_grace_seconds = -1\n", "“smtp.sent_copy_grace_seconds”应为秒数（不小于 0），而不是 -1"),
    ('sent_copy_grace_seconds = "10m"\n', "“smtp.sent_copy_grace_seconds”应为秒数（不小于 0），而不是字符串"),
    # an [imap] key in [smtp]: named, not ignored
    ("sent_folder = \"Sent\"\n", "未知的键“smtp.sent_folder”"),
    ("connections = 0\n", "“smtp.connections”应为 1 到 8 之间的整数，而不是 0"),
    ("connections = 2.5\n", "“smtp.connections”应为 1 到 8 之间的整数，而不是小数"),
])
def test_wrong_values_are_named(passwords, tmp_path, extra, message):
    path = write(tmp_path, SMTP + extra)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}:5: {message}")


def test_plaintext_to_a_remote_server_is_refused(passwords, tmp_path):
    path = write(tmp_path, SMTP.replace("127.0.0.1", "smtp.example.gov.cn"))
    with pytest.raises(ConfigError, match=re.escape(f"{path}:3: “smtp.security”设为 \"plain\"（不加密）只允许本机回环地址")):
        load_config(path)


def test_a_string_where_a_number_belongs_is_refused_at_its_line(tmp_path):
    path = write(tmp_path, 'from_name = "市营商办"\npoll_seconds = "thirty"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.problems == [f"{path}:2: “poll_seconds”应为秒数（不小于 0），而不是字符串"]


def test_every_problem_is_listed_in_file_order(tmp_path):
    path = write(tmp_path, 'max_attempts = 0\npoll_secs = 5\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    first, second = caught.value.problems
    assert first == f"{path}:1: “max_attempts”应为正整数，而不是 0"
    assert second.startswith(f"{path}:2: 未知的键“poll_secs”，是否应为“poll_seconds”？（可用的键：storage_dir、")


def test_a_syntax_error_names_its_line(tmp_path):
    path = write(tmp_path, 'poll_seconds = 30\nmax_attempts 5\n')
    with pytest.raises(ConfigError, match=re.escape(f"{path}:2: TOML 语法错误（第 14 列）")):
        load_config(path)


def test_a_password_file_other_users_may_read_is_refused(tmp_path):
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret\n", encoding="utf-8")
    secret.chmod(0o644)
    text = SMTP.replace('password_env = "RECEPTION_BOT_SMTP_PASSWORD"', f'password_file = "{secret}"')
    with pytest.raises(ConfigError, match="可被其他用户访问.*chmod 600"):
        load_config(write(tmp_path, text))
    secret.chmod(0o600)
    cfg = load_config(write(tmp_path, text))
    assert cfg.smtp.password == "s3cret" and "s3cret" not in repr(cfg) and "s3cret" not in str(cfg)


def test_a_password_file_is_found_beside_the_config(tmp_path):
    (tmp_path / "pw").write_text("beside", encoding="utf-8")
    (tmp_path / "pw").chmod(0o600)
    text = SMTP.replace('password_env = "RECEPTION_BOT_SMTP_PASSWORD"', 'password_file = "pw"')
    assert load_config(write(tmp_path, text)).smtp.password == "beside"


def test_a_password_in_the_file_is_not_a_key(passwords, tmp_path):
    with pytest.raises(ConfigError, match="未知的键“smtp.password”"):
        load_config(write(tmp_path, SMTP + 'password = "in the open"\n'))


# ---------------------------------------------------------------- the registry and the example

def example_keys() -> dict[str, tuple[bool, object]]:
    """key -> (set, value) for every key config.example.toml sets or shows commented out."""
    found, section = {}, ""
    for line in (REPO / "config.example.toml").read_text(encoding="utf-8").splitlines():
        header = re.match(r"^\[(\w+)\]", line)
        if header:
            section = header.group(1) + "."
            continue
        entry = re.match(r"^(#\s*)?([a-z_]+)\s*=\s*(.+?)\s*(#.*)?$", line)
        if entry:
            value = tomllib.loads(f"v = {entry.group(3)}")["v"]
            found[section + entry.group(2)] = (entry.group(1) is None, value)
    return found


def test_the_example_documents_every_setting_and_no_other():
    documented, declared = example_keys(), {s.key for s in settings()}
    assert sorted(declared - set(documented)) == []  # every setting appears in the example
    assert sorted(set(documented) - declared) == []  # the example shows no unknown key


def test_the_example_shows_the_defaults_or_a_declared_example():
    documented = example_keys()
    for setting in settings():
        if setting.example is None:  # a default computed on the machine (parse_workers)
            continue
        assert documented[setting.key][1] == setting.example, setting.key


def test_every_setting_has_help_and_a_kind():
    for setting in settings():
        assert setting.help and setting.kind and setting.kind != "正确的值", setting.key


@pytest.mark.parametrize("value, ok", [("0", True), ("3", True), ("-1", False), ("true", False),
                                       ('"auto"', False)])
def test_parse_workers(passwords, tmp_path, value, ok):
    path = write(tmp_path, f"parse_workers = {value}\n")
    if ok:
        assert load_config(path).parse_workers == int(value)
    else:
        with pytest.raises(ConfigError, match="“parse_workers”应为 0 到 64 之间的整数"):
            load_config(path)


def test_the_database_url_of_the_environment_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("RECEPTION_BOT_DATABASE_URL", "postgresql://reception@db.example.gov.cn/reception")
    assert load_config(write(tmp_path, 'database_url = "sqlite:///x.db"\n')).database_url.startswith("postgresql://")
    assert load_config(None, base_dir=tmp_path / "empty").database_url.startswith("postgresql://")


def test_a_relative_sqlite_path_is_beside_the_config(monkeypatch, tmp_path):
    monkeypatch.delenv("RECEPTION_BOT_DATABASE_URL", raising=False)
    cfg = load_config(write(tmp_path, 'database_url = "sqlite:///data/bot.db"\nstorage_dir = "/srv/rb"\n'))
    assert cfg.database_url == f"sqlite:///{tmp_path / 'data' / 'bot.db'}"
    assert cfg.maildir == Path("/srv/rb/mail") and cfg.rules_dir == tmp_path / "rules"


def test_an_unknown_database_is_named_at_its_line(monkeypatch, tmp_path):
    monkeypatch.delenv("RECEPTION_BOT_DATABASE_URL", raising=False)
    path = write(tmp_path, 'poll_seconds = 5\ndatabase_url = "mysql://db/reception"\n')
    with pytest.raises(ConfigError, match=re.escape(f"{path}:2: “database_url”应为 sqlite:///路径 或 postgresql://")):
        load_config(path)


def test_the_default_workers_follow_the_cpus_the_process_may_use(monkeypatch):
    from bot import config as config_module

    monkeypatch.setattr(os, "cpu_count", lambda: 16)  # the machine's, not ours
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert config_module.usable_cpus() == 2 and config_module._default_workers() == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(12)), raising=False)
    assert config_module._default_workers() == 4  # at most four
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3}, raising=False)
    assert config_module._default_workers() == 0  # counts as one worker
