"""The leaders' summary report (work plan 四(五) 结果检验): a .docx with tables and a chart.

The numbers come in ready-made (ReportData); this module only words and lays them out. The chart is
drawn with matplotlib's Agg canvas (no display, no pyplot global state) in any CJK font the machine
has; without one it still renders, with boxes for the Chinese labels, rather than fail the report.
"""

from __future__ import annotations

import io
import subprocess
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt

from .cn import HEADING_FONT, TITLE_FONT, cn_date, iso, official_page, set_font
from .rows import SATISFACTION_LEVELS, ReportData, clean_text

REPORT_TITLE = "“市长服务民营企业接待日”企业诉求办理情况报告"
KIND_LABELS = {"status": "落实情况", "result": "办理结果", "progress": "十日一报进展"}
COMMON_ISSUE_MIN = 3  # work plan: 企业集中反映的共性问题; we count three or more enterprises
_CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Serif CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
                 "WenQuanYi Micro Hei", "SimHei", "Microsoft YaHei", "PingFang SC", "Droid Sans Fallback",
                 "AR PL UMing CN", "AR PL UKai CN")


def render_report(data: ReportData, out_path: Path) -> None:
    document = Document()
    official_page(document)
    _title(document, data)
    _paragraph(document, summary_text(data))
    _section_fields(document, data)
    _section_units(document, data)
    _section_status(document, data)
    _section_overdue(document, data)
    _section_satisfaction(document, data)
    _section_common(document, data)
    _signature(document, data)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    document.save(out_path)


# ---------------------------------------------------------------- wording

def summary_text(data: ReportData) -> str:
    """The opening paragraph, in the register of a report to the city leaders."""
    total = sum(data.by_field.values()) or sum(data.by_status.values())
    who = data.office or "市政府办公室"
    span = f"{cn_date(data.period_from)}至{cn_date(data.period_to)}"
    if not total:
        return f"{span}，{who}未受理企业诉求。现将有关情况报告如下。"
    parts = [f"{span}，{who}共受理企业诉求{total}件，涉及{len(data.by_field)}个领域"]
    if data.by_field:
        top, count = max(data.by_field.items(), key=lambda item: item[1])
        parts.append(f"其中{top}领域{count}件，数量最多")
    if data.by_unit:
        parts.append(f"共交由{len(data.by_unit)}个承办单位办理")
    text = "，".join(parts) + "。"
    due = sum(u.due for u in data.on_time)
    if due:
        on_time = sum(u.on_time for u in data.on_time)
        text += f"承办单位应报送办理情况{due}项，按时报送{on_time}项，按时报送率{on_time / due:.1%}"
        text += f"；截至{cn_date(data.period_to)}，逾期未报送{len(data.overdue)}项。" if data.overdue else "，无逾期事项。"
    answered = sum(data.satisfaction.get(level, 0) for level in SATISFACTION_LEVELS[:3])
    if answered:
        pleased = data.satisfaction.get("满意", 0) + data.satisfaction.get("基本满意", 0)
        text += f"回访企业{answered}家，满意和基本满意{pleased}家，满意率{pleased / answered:.1%}。"
    issues = _common(data)
    if issues:
        text += f"企业集中反映的共性问题{len(issues)}类，建议开展专题调研，推动由解决“一个问题”向解决“一类问题”转变。"
    return text + "现将有关情况报告如下。"


def _common(data: ReportData):
    return [c for c in data.common_issues if c.enterprises >= COMMON_ISSUE_MIN]


# ---------------------------------------------------------------- sections

def _section_fields(document, data: ReportData) -> None:
    _heading(document, "一、受理诉求领域分布")
    total = sum(data.by_field.values())
    _table(document, ("诉求领域", "件数", "占比"),
           ((name, n, _share(n, total)) for name, n in data.by_field.items()), total_row=total)
    if data.by_field:
        chart = field_chart(data.by_field)
        document.add_picture(chart, width=Cm(15))
        document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        _caption(document, "图1　各领域受理诉求件数")


def _section_units(document, data: ReportData) -> None:
    _heading(document, "二、承办单位办理情况")
    _table(document, ("承办单位", "交办件数"), data.by_unit.items(), total_row=sum(data.by_unit.values()))
    _paragraph(document, "各承办单位报送时限执行情况如下（按时报送率 = 按时报送项数 ÷ 应报送项数）：")
    _table(document, ("承办单位", "应报送", "按时报送", "按时报送率"),
           ((u.unit, u.due, u.on_time, "—" if u.rate is None else f"{u.rate:.1%}") for u in data.on_time))


def _section_status(document, data: ReportData) -> None:
    _heading(document, "三、诉求办理状态")
    total = sum(data.by_status.values())
    _table(document, ("办理状态", "件数", "占比"),
           ((name, n, _share(n, total)) for name, n in data.by_status.items()), total_row=total)


def _section_overdue(document, data: ReportData) -> None:
    _heading(document, "四、逾期未报送事项")
    if not data.overdue:
        _paragraph(document, "本期无逾期未报送事项。")
        return
    rows = sorted(data.overdue, key=lambda o: -o.days_overdue)
    _table(document, ("编号", "承办单位", "事项", "报送时限", "逾期天数"),
           ((o.case_number, o.unit, KIND_LABELS.get(o.kind, o.kind), iso(o.due), o.days_overdue) for o in rows))
    _paragraph(document, "建议对上述逾期事项进行督办，督促承办单位尽快报送。")


def _section_satisfaction(document, data: ReportData) -> None:
    _heading(document, "五、回访满意度")
    total = sum(data.satisfaction.get(level, 0) for level in SATISFACTION_LEVELS)
    _table(document, ("回访结果", "企业数", "占比"),
           ((level, data.satisfaction.get(level, 0), _share(data.satisfaction.get(level, 0), total))
            for level in SATISFACTION_LEVELS), total_row=total)


def _section_common(document, data: ReportData) -> None:
    _heading(document, "六、企业集中反映的共性问题")
    issues = _common(data)
    if not issues:
        _paragraph(document, f"本期未发现{COMMON_ISSUE_MIN}家及以上企业集中反映的共性问题。")
        return
    _table(document, ("问题领域或关键词", "反映企业数", "涉及诉求编号"),
           ((c.topic, c.enterprises, "、".join(c.case_numbers)) for c in issues))
    _paragraph(document, "建议相关部门针对上述共性问题开展专题调研，谋划出台一批制度性成果，做到个性问题专题解决、"
                         "共性问题集中解决。")


# ---------------------------------------------------------------- layout helpers

def _title(document, data: ReportData) -> None:
    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    set_font(title.add_run(REPORT_TITLE), TITLE_FONT, 22)
    period = document.add_paragraph()
    period.alignment = WD_ALIGN_PARAGRAPH.CENTER
    period.add_run(f"（{cn_date(data.period_from)}至{cn_date(data.period_to)}）")


def _heading(document, text: str) -> None:
    paragraph = document.add_paragraph()
    paragraph.paragraph_format.space_before = Pt(12)
    paragraph.paragraph_format.keep_with_next = True
    set_font(paragraph.add_run(text), HEADING_FONT, 16)


def _paragraph(document, text: str) -> None:
    paragraph = document.add_paragraph(clean_text(text))
    paragraph.paragraph_format.first_line_indent = Pt(32)
    paragraph.paragraph_format.line_spacing = Pt(28)


def _caption(document, text: str) -> None:
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    set_font(paragraph.add_run(text), HEADING_FONT, 12)


def _table(document, headers: tuple[str, ...], rows: Iterable, total_row: int | None = None) -> None:
    table = document.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, headers):
        set_font(cell.paragraphs[0].add_run(text), HEADING_FONT, 12)
    count = 0
    for values in rows:
        _cells(table, values)
        count += 1
    if total_row is not None and count:
        _cells(table, ("合计", total_row, "100%" if len(headers) == 3 and total_row else "")[:len(headers)])
    if not count:
        _cells(table, ("无",) + ("",) * (len(headers) - 1))
    document.add_paragraph()


def _cells(table, values) -> None:
    for cell, value in zip(table.add_row().cells, values):
        set_font(cell.paragraphs[0].add_run(clean_text(value)), "仿宋_GB2312", 12)


def _share(part: int, total: int) -> str:
    return f"{part / total:.1%}" if total else "—"


def _signature(document, data: ReportData) -> None:
    for text in (data.office, cn_date(data.generated)):
        if text:
            paragraph = document.add_paragraph(clean_text(text))
            paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT


# ---------------------------------------------------------------- chart

def field_chart(by_field: Mapping[str, int]) -> io.BytesIO:
    """PNG bar chart of cases by field."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Glyph missing" when no CJK font: a plainer chart, not an error
        return _draw_field_chart(by_field)


def _draw_field_chart(by_field: Mapping[str, int]) -> io.BytesIO:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    font, title_font = _sized(10), _sized(13)
    names, counts = list(by_field.keys()), list(by_field.values())
    figure = Figure(figsize=(7.5, 3.8), dpi=150)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    bars = axes.bar(range(len(names)), counts, color="#3a6ea5")
    axes.bar_label(bars, padding=2)
    axes.set_xticks(range(len(names)))
    axes.set_xticklabels(names, fontproperties=font, rotation=30 if len(names) > 5 else 0,
                         ha="right" if len(names) > 5 else "center")
    axes.set_ylabel("件数", fontproperties=font)
    axes.set_title("各领域受理诉求件数", fontproperties=title_font)
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    buffer.seek(0)
    return buffer


def _sized(points: float):
    from matplotlib.font_manager import FontProperties

    base = cjk_font()
    font = base.copy() if base is not None else FontProperties()
    font.set_size(points)
    return font


@lru_cache(maxsize=1)
def cjk_font():
    """FontProperties of a font with Chinese glyphs, or None (matplotlib's default) when there is none."""
    from matplotlib.font_manager import FontProperties, fontManager

    for path in _fc_list_zh():
        try:
            fontManager.addfont(path)
            return FontProperties(fname=path)
        except (OSError, RuntimeError, ValueError):
            continue
    installed = {f.name: f.fname for f in fontManager.ttflist}
    for family in _CJK_FAMILIES:
        if family in installed:
            return FontProperties(fname=installed[family])
    return None


def _fc_list_zh() -> list[str]:
    """Font files fontconfig says cover Chinese; TrueType/OpenType first (matplotlib reads those)."""
    try:
        done = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return []
    paths = [line.split(":")[0].strip() for line in done.stdout.splitlines() if line.strip()]
    usable = [p for p in paths if p.lower().endswith((".ttf", ".otf", ".ttc"))]
    return sorted(set(usable), key=lambda p: (not p.lower().endswith((".ttf", ".otf")), p))
