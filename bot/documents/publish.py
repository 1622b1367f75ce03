"""The public progress export for the government website (work plan 四(四): 办理进度公开反馈).

Its input, PublicRow, has no field for a person's name, phone, email, credit code or enterprise name:
nothing personal can reach the page, whatever the store holds. The HTML escapes every value (jinja2
autoescape) and the .xlsx writes every value as text, so neither can carry markup or a formula.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Iterable

from jinja2 import Environment

from ..defaults import TemplatePath
from . import ledger
from .cn import cn_date
from .rows import PublicRow

COLUMNS = ("编号", "诉求领域", "承办单位", "办理状态", "受理日期", "交办日期", "办结时限", "办结日期")

PAGE = "progress.html.j2"  # templates/html/, found through the template search path


def publish(rows: Iterable[PublicRow], out_dir: Path, *, title: str, generated: date,
            author: str = "", templates: TemplatePath = TemplatePath()) -> list[Path]:
    """Write progress.html and progress.xlsx into out_dir; return their paths. The page is
    templates/html/progress.html.j2, the admin's copy when templates_dir has one."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = [_values(row) for row in rows]
    html_path = out_dir / "progress.html"
    page = page_environment(templates).get_template(PAGE)
    html = page.render(title=title, generated=cn_date(generated), columns=COLUMNS, rows=table,
                       author=author)
    html_path.write_text(html, encoding="utf-8")
    xlsx_path = out_dir / "progress.xlsx"
    _write_xlsx(table, xlsx_path, title, author)
    return [html_path, xlsx_path]


def page_environment(templates: TemplatePath) -> Environment:
    return Environment(loader=templates.loader("html"), autoescape=True, trim_blocks=True,
                       lstrip_blocks=True)


def _values(row: PublicRow) -> tuple[str, ...]:
    return (row.case_number, row.field_name, row.lead_unit, row.status,
            cn_date(row.accepted), cn_date(row.assigned), cn_date(row.result_due), cn_date(row.closed))


def _write_xlsx(table: list[tuple[str, ...]], path: Path, title: str, author: str) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ledger.set_properties(wb, title, author)
    ws = ledger.fast_sheet(wb, "办理进度")
    for letter, width in zip("ABCDEFGH", (18, 16, 24, 12, 12, 12, 12, 12)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A3"
    bold = ledger.style_of(ws, font=Font(bold=True))
    plain = ledger.style_of(ws)
    risky = ledger.quoted(plain)
    ws.append([ledger.text_cell(ws, title, bold)])
    ws.append([ledger.text_cell(ws, name, bold) for name in COLUMNS])
    for values in table:
        ws.append([ledger.text_cell(ws, value, plain, risky) if value else None for value in values])
    wb.save(path)
