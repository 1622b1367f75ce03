"""One template search path: the admin's templates_dir first, then the shipped templates, per file;
every template renders with the fixture context (bot/outbox/fixtures.py)."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from docx import Document

from bot.defaults import RecheckingLoader, TemplatePath, packaged
from bot.documents.publish import publish
from bot.documents.rows import PublicRow
from bot.outbox.compose import Templates
from bot.outbox.fixtures import fixture_context, render_all
from bot.rules.loader import load_rules

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def rules():
    return load_rules(REPO / "rules")


def test_the_shipped_templates_are_the_repository_folder():
    assert packaged("templates").resolve() == (REPO / "templates").resolve()
    assert packaged("rules").resolve() == (REPO / "rules").resolve()


def test_every_shipped_template_renders(rules):
    results = render_all(Templates(TemplatePath()), rules)
    shipped = {p.relative_to(REPO / "templates").as_posix() for p in (REPO / "templates").rglob("*")
               if p.is_file() and not p.name.startswith("_")}
    assert {r.name for r in results} == shipped
    assert [(r.name, r.problem) for r in results if r.problem] == []


def test_a_partial_override_folder_keeps_the_other_templates(tmp_path, rules):
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "reply_rejected.txt.j2").write_text(
        "Subject: 本市自定的不予受理答复\n{{ form.enterprise_name }}：不予受理。\n", encoding="utf-8")
    templates = Templates(TemplatePath(tmp_path))
    subject, _body = templates.render("reply_rejected", form={"enterprise_name": "甲公司"})
    assert subject == "本市自定的不予受理答复"
    subject, _body = templates.render("reply_accepted", **fixture_context(rules))
    assert subject.startswith("预约受理通知")  # not in the folder: the shipped one
    origins = {r.name: r.origin for r in render_all(templates, rules)}
    assert origins["mail/reply_rejected.txt.j2"] == "admin" and origins["mail/reply_accepted.txt.j2"] == "shipped"


def test_a_broken_override_is_reported_by_name(tmp_path, rules):
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "unit_ack.txt.j2").write_text("Subject: {{ unit.name\n", encoding="utf-8")
    broken = [r for r in render_all(Templates(TemplatePath(tmp_path)), rules) if r.problem]
    assert [(r.name, r.origin) for r in broken] == [("mail/unit_ack.txt.j2", "admin")]


def test_the_slip_and_the_page_come_from_the_override_folder(tmp_path):
    folder = tmp_path / "templates"  # the admin's templates_dir
    folder.mkdir()
    (folder / "docs").mkdir()
    (folder / "html").mkdir()
    document = Document(str(REPO / "templates" / "docs" / "slip.docx"))
    document.add_paragraph("本市附加说明")
    document.save(str(folder / "docs" / "slip.docx"))
    (folder / "html" / "progress.html.j2").write_text("<h1>{{ title }}</h1>{{ rows|length }}", encoding="utf-8")
    path = TemplatePath(folder)
    assert path.find("docs/slip.docx") == folder / "docs" / "slip.docx"
    assert path.find("docs/notice.docx") == packaged("templates") / "docs" / "notice.docx"
    html, _xlsx = publish([PublicRow("WHJD-2026-0001", "能源", "发改委", "办理中", date(2026, 12, 1), None, None,
                                     None)], tmp_path / "out", title="<公开>", generated=date(2026, 12, 22),
                          templates=path)
    assert html.read_text(encoding="utf-8") == "<h1>&lt;公开&gt;</h1>1"


def test_the_shipped_page_is_used_without_an_override(tmp_path):
    html, _xlsx = publish([], tmp_path / "out", title="公开", generated=date(2026, 12, 22),
                          templates=TemplatePath(tmp_path / "absent"))
    assert "<table>" in html.read_text(encoding="utf-8")


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _templates(tmp_path: Path, clock: _Clock) -> Templates:
    templates = Templates(TemplatePath(tmp_path))
    assert isinstance(templates.env.loader, RecheckingLoader)  # what the daemon's templates use
    folders = [tmp_path / "mail", packaged("templates") / "mail"]
    templates.env.loader = RecheckingLoader(folders, every=1.0, clock=clock)
    return templates


def test_an_override_added_while_running_is_used_after_the_next_look(tmp_path, rules):
    clock = _Clock()
    templates = _templates(tmp_path, clock)
    shipped = templates.render("reply_accepted", **fixture_context(rules))[0]
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "reply_accepted.txt.j2").write_text("Subject: 本市自定的受理通知\n正文\n", encoding="utf-8")
    clock.now += 0.5  # not looked at again yet: the loaded template stands
    assert templates.render("reply_accepted", **fixture_context(rules))[0] == shipped
    clock.now += 0.5
    assert templates.render("reply_accepted", **fixture_context(rules))[0] == "本市自定的受理通知"


def test_an_edited_and_a_removed_override_are_seen(tmp_path, rules):
    clock = _Clock()
    (tmp_path / "mail").mkdir()
    override = tmp_path / "mail" / "reply_rejected.txt.j2"
    override.write_text("Subject: 第一版\n正文\n", encoding="utf-8")
    templates = _templates(tmp_path, clock)
    context = fixture_context(rules)
    assert templates.render("reply_rejected", **context)[0] == "第一版"
    override.write_text("Subject: 第二版\n正文\n", encoding="utf-8")
    os.utime(override, (override.stat().st_atime, override.stat().st_mtime + 5))  # a coarse clock
    assert templates.render("reply_rejected", **context)[0] == "第一版"
    clock.now += 1.0
    assert templates.render("reply_rejected", **context)[0] == "第二版"
    override.unlink()
    clock.now += 1.0
    assert templates.render("reply_rejected", **context)[0].startswith("预约登记答复")


def test_files_are_looked_at_once_a_second_not_at_every_render(tmp_path, rules, monkeypatch):
    clock = _Clock()
    templates = _templates(tmp_path, clock)
    templates.render("reply_accepted", **fixture_context(rules))
    looks = []
    real = os.path.getmtime
    monkeypatch.setattr(os.path, "getmtime", lambda p: looks.append(p) or real(p))
    for _ in range(20):
        templates.render("reply_accepted", **fixture_context(rules))
    assert looks == []
    clock.now += 1.0
    templates.render("reply_accepted", **fixture_context(rules))
    assert looks  # the file (and any it includes) looked at again
