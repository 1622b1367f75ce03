"""The wheel is enough: built from a clean copy of the sources, installed into a fresh virtual
environment, `reception-bot init DIR` and `reception-bot check` in DIR work (the embedded default:
Maildir + SQLite, no server needed), with the templates and rules the wheel carries.

To stay fast the fresh environment takes the dependencies from the project's own environment
(a .pth line; that environment's editable install of the bot is not loaded that way), and the
wheel is installed with --no-deps: the bot itself comes only from the wheel, which the test checks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "bot", "rules", "templates")


def run(*cmd, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, f"{cmd} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


def clean_copy(target: Path) -> Path:
    """Only what git tracks matters; a stale build/ of the work tree must not leak into the wheel."""
    target.mkdir()
    for name in SOURCES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, target / name)
    return target


@pytest.mark.slow  # builds and installs a wheel into a fresh virtual environment
def test_the_wheel_installs_and_init_then_check_work(tmp_path):
    src = clean_copy(tmp_path / "src")
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", dist, src, cwd=tmp_path)
    [wheel] = dist.glob("reception_bot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "bot/defaults/rules/sessions.toml" in names and "bot/defaults/templates/mail/reply_accepted.txt.j2" in names
    assert "bot/defaults/templates/docs/slip.docx" in names and "bot/store/migrations/versions/0001_first_schema.py" in names
    assert "bot/documents/skeletons/referral.docx" in names  # a referral's layout (bot.documents.referral)

    fresh = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", fresh, cwd=tmp_path)
    python = fresh / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--quiet", wheel, cwd=tmp_path)
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path)
                .stdout.strip())
    (site / "project-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")
           and not k.startswith("RECEPTION_BOT")}
    where = run(python, "-c", "import bot.defaults as d; print(d.__file__); print(d.packaged('rules'))",
                cwd=tmp_path, env=env).stdout.split()
    assert all(Path(p).is_relative_to(fresh) for p in where), where  # the bot of the wheel, not the work tree

    site_dir = tmp_path / "site"
    program = fresh / "bin" / "reception-bot"
    run(program, "init", site_dir, cwd=tmp_path, env=env)
    checked = run(program, "check", cwd=site_dir, env=env)
    assert [line[:1] for line in checked.stdout.splitlines()] == ["✓"] * 6, checked.stdout
    assert "均为内置模板" in checked.stdout
