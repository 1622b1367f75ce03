"""Rendering every template with a fixture context: what `check` and the template test run.

The context holds every top-level name a shipped template reads: the real rules objects where a
template reads the rules (programme, units, a session), real dates where it computes with dates, and
for records (a case, a slip, a reminder, a form) a `Sample`, which answers any attribute with a
printable value. A template that uses a name the bot never passes fails here, with StrictUndefined,
as it would on the first real mail. A new template variable is added to FIXTURE below.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime

import jinja2
from docxtpl import DocxTemplate

from bot.defaults import TemplatePath
from bot.documents.cn import cn_date
from bot.outbox.compose import Templates
from bot.rules.model import Ruleset

SAMPLE_DAY = date(2026, 12, 22)


class Sample:
    """Stands for a record a template reads: any attribute is another sample, it prints as 示例,
    iterates as one item and counts as true."""

    def __init__(self, name: str = "示例"):
        self._name = name

    def __getattr__(self, attr: str) -> "Sample":
        if attr.startswith("__"):
            raise AttributeError(attr)
        return Sample(self._name)

    def __getitem__(self, key) -> "Sample":
        return Sample(self._name)

    def __iter__(self):
        return iter([Sample(self._name)])

    def __len__(self) -> int:
        return 1

    def __str__(self) -> str:
        return self._name

    def __call__(self, *args, **kwargs) -> "Sample":
        return Sample(self._name)


class _Words(str):
    """A template reads kind_cn as the one word (unit_ack) or as a table by kind (admin_digest)."""

    def __getitem__(self, key) -> str:
        return str(self)


def _cn_date(value) -> str:
    # Sample records carry no dates: a fixture date stands in, the real formatting is used.
    return cn_date(value if isinstance(value, date) else SAMPLE_DAY)


def fixture_context(rules: Ruleset) -> dict:
    """The values every mail template may read."""
    unit = rules.units[0] if rules.units else Sample()
    session = rules.sessions[0] if rules.sessions else Sample()
    supervisor = next(iter(rules.units_of_kind("supervision")), None)
    return {
        "programme": rules.programme, "unit": unit, "lead": unit, "co": list(rules.units[1:2]),
        "refer_unit": unit, "supervisor": supervisor, "session": session,
        "leader_title": "分管工业的副市长", "session_words": "2026年12月22日（星期二）上午9:00—12:00",
        "field_name": "工业和信息化", "case_number": "WHJD-2026-0001", "updated": False, "accepted": True,
        "form": Sample("示例企业"), "case": Sample("WHJD-2026-0001"), "slip": Sample(), "r": Sample(),
        "row": Sample(), "msg": Sample(), "reasons": [Sample("示例说明")], "reason": Sample("示例说明"),
        "blank_forms": True, "role": "lead", "kind": "status", "ocr_checks": ["联系人：示例"],
        "long_term_days": rules.deadlines.long_term_report_days, "due": SAMPLE_DAY,
        "result_due": SAMPLE_DAY, "today": SAMPLE_DAY, "open_count": 3, "overdue": [Sample()],
        "summary": "示例", "text": "示例", "why": "示例", "error": "550 示例", "addresses": ["a@example.cn"],
        "problems": "rules/sessions.toml:12: 示例", "cn_date": _cn_date,
        "kept": ["fgw@example.gov.cn"], "events": ["09:30 已拒绝（WHJD-2026-0001）：示例"],
        "held_back": [Sample()], "delayed": ["示例（收件人：a@example.cn；12月1日 09:30排队，已尝试 5 次）"],
        "code": "K7Q2-MX9P", "original_subject": "示例",
        "received": datetime(2026, 12, 22, 9, 30), "expires": datetime(2026, 12, 25, 9, 30),
        "review": Sample(), "raw": "示例", "outcome": "sent", "requested": SAMPLE_DAY,
        "leader": "副市长张三", "long_term": False, "on_site": True, "note": "示例", "held": False,
        "title": "示例", "answer": "示例答复", "level": "满意", "assigned": SAMPLE_DAY,
        "requirements": "示例", "sent": [Sample()], "approved": True, "pending_answers": 1,
        "old": SAMPLE_DAY, "new": SAMPLE_DAY,
        "kind_cn": _Words("落实情况"),
    }


@dataclass(frozen=True)
class Rendered:
    name: str  # "mail/reply_accepted.txt.j2"
    origin: str  # "admin" or "shipped"
    problem: str  # "" when it rendered


def render_all(templates: Templates, rules: Ruleset) -> list[Rendered]:
    """Render every mail, Word and HTML template the search path finds; one result each."""
    path = templates.path
    context = fixture_context(rules)
    results = []
    for name in templates.names():
        if name.startswith("_"):
            continue  # partials, rendered by the templates that include them
        results.append(_try(path, f"mail/{name}.txt.j2", lambda n=name: templates.render(n, **context)))
    for name in path.names("docs", ".docx"):
        results.append(_try(path, f"docs/{name}", lambda n=name: _render_docx(path, n)))
    html = jinja2.Environment(loader=path.loader("html"), autoescape=True, undefined=jinja2.StrictUndefined)
    for name in path.names("html", ".html.j2"):
        results.append(_try(path, f"html/{name}", lambda n=name: html.get_template(n).render(
            title="示例", generated="2026年12月22日", columns=("编号",), rows=[("WHJD-2026-0001",)], author="示例单位")))
    return results


def _render_docx(path: TemplatePath, name: str) -> None:
    document = DocxTemplate(str(path.find(f"docs/{name}")))
    variables = document.get_undeclared_template_variables()
    document.render({key: "示例" for key in variables}, autoescape=True)
    document.save(io.BytesIO())


def _try(path: TemplatePath, name: str, render) -> Rendered:
    try:
        render()
    except Exception as exc:  # noqa: BLE001 - any failure of a template is reported, not raised
        return Rendered(name, path.origin(name), f"{type(exc).__name__}: {exc}")
    return Rendered(name, path.origin(name), "")
