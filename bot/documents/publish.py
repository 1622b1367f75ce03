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

from .cn import cn_date
from .ledger import fast_sheet, quoted, set_properties, style_of, text_cell
from .rows import PublicRow

COLUMNS = ("编号", "诉求领域", "承办单位", "办理状态", "受理日期", "交办日期", "办结时限", "办结日期")

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_PAGE = _ENV.from_string("""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{% if author %}<meta name="author" content="{{ author }}">
{% endif %}
<title>{{ title }}</title>
<style>
body { font-family: "Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", "WenQuanYi Zen Hei", sans-serif;
       margin: 2em auto; max-width: 72em; padding: 0 1em; color: #222; line-height: 1.6; }
h1 { font-size: 1.5em; text-align: center; margin-bottom: .2em; }
p.meta { text-align: center; color: #666; margin-top: 0; }
table { border-collapse: collapse; width: 100%; font-size: .95em; }
th, td { border: 1px solid #bbb; padding: .4em .6em; text-align: left; vertical-align: top; }
th { background: #e8eef6; }
tbody tr:nth-child(even) { background: #f7f7f7; }
td.date { white-space: nowrap; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p class="meta">更新日期：{{ generated }}　共{{ rows|length }}件{% if author %}　{{ author }}{% endif %}</p>
<table>
<thead><tr>{% for name in columns %}<th>{{ name }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in rows %}
<tr>{% for value in row %}<td{% if loop.index > 4 %} class="date"{% endif %}>{{ value }}</td>{% endfor %}</tr>
{% endfor %}
</tbody>
</table>
</body>
</html>
""")


def publish(rows: Iterable[PublicRow], out_dir: Path, *, title: str, generated: date,
            author: str = "") -> list[Path]:
    """Write progress.html and progress.xlsx into out_dir; return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = [_values(row) for row in rows]
    html_path = out_dir / "progress.html"
    html = _PAGE.render(title=title, generated=cn_date(generated), columns=COLUMNS, rows=table, author=author)
    html_path.write_text(html, encoding="utf-8")
    xlsx_path = out_dir / "progress.xlsx"
    _write_xlsx(table, xlsx_path, title, author)
    return [html_path, xlsx_path]


def _values(row: PublicRow) -> tuple[str, ...]:
    return (row.case_number, row.field_name, row.lead_unit, row.status,
            cn_date(row.accepted), cn_date(row.assigned), cn_date(row.result_due), cn_date(row.closed))


def _write_xlsx(table: list[tuple[str, ...]], path: Path, title: str, author: str) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    set_properties(wb, title, author)
    ws = fast_sheet(wb, "办理进度")
    for letter, width in zip("ABCDEFGH", (18, 16, 24, 12, 12, 12, 12, 12)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A3"
    bold = style_of(ws, font=Font(bold=True))
    plain = style_of(ws)
    risky = quoted(plain)
    ws.append([text_cell(ws, title, bold)])
    ws.append([text_cell(ws, name, bold) for name in COLUMNS])
    for values in table:
        ws.append([text_cell(ws, value, plain, risky) if value else None for value in values])
    wb.save(path)
