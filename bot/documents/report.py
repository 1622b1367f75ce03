"""The leaders' summary report (work plan 四(五) 结果检验): a .docx with tables and a chart.

The numbers come in ready-made (ReportData); this module only words and lays them out. Every table
has a caption and right-aligned numbers, and its 合计 is the count the summary names. The chart is
drawn with matplotlib's Agg canvas (no display, no pyplot global state) in a CJK font the machine
has; without one the report is refused (DocumentError) rather than printed with boxes for the
Chinese labels (deploy/install-fonts.sh installs one).
"""

from __future__ import annotations

import io
import subprocess
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt

from ..errors import DocumentError
from .cn import (
    HEADING_FONT,
    TITLE_FONT,
    cn_date,
    official_page,
    set_font,
    set_properties,
)
from .rows import SATISFACTION_LEVELS, LateItem, ReportData, clean_text

REPORT_TITLE = "“市长服务民营企业接待日”企业诉求办理情况报告"
KIND_LABELS = {"status": "落实情况", "result": "办理结果", "progress": "十日一报进展"}
COMMON_ISSUE_MIN = 3  # work plan: 企业集中反映的共性问题; we count three or more enterprises
_CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Serif CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
                 "WenQuanYi Micro Hei", "SimHei", "Microsoft YaHei", "PingFang SC", "Droid Sans Fallback",
                 "AR PL UMing CN", "AR PL UKai CN")
NO_FONT = ("未找到中文字体，无法绘制报告中的图表（图中文字会显示为方框）。请安装中文字体后重试："
           "运行 deploy/install-fonts.sh，或安装 fonts-noto-cjk 软件包。")
DEFINITIONS = ("说明：“登记”指本期收到的全部预约登记（含不予受理、转办和待补正）；“受理”指其中予以当期安排或择期"
               "安排的诉求；“交办”指受理后交承办单位办理的诉求；“应报送”指报送时限在本期内的落实情况、办理结果"
               "和十日一报，逾期报送和逾期未报送的均计为未按时报送。")


def render_report(data: ReportData, out_path: Path) -> None:
    chart = field_chart(data.by_field) if data.by_field else None  # refuse before writing anything
    document = Document()
    official_page(document)
    set_properties(document, REPORT_TITLE, data.office)
    _title(document, data)
    _paragraph(document, summary_text(data))
    _paragraph(document, DEFINITIONS)
    tables = _Numbering()
    _section_fields(document, data, tables, chart)
    _section_units(document, data, tables)
    _section_status(document, data, tables)
    _section_late(document, data, tables)
    _section_satisfaction(document, data, tables)
    _section_common(document, data, tables)
    _signature(document, data)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    document.save(out_path)


# ---------------------------------------------------------------- wording

def summary_text(data: ReportData) -> str:
    """The opening paragraph, in the register of a report to the city leaders."""
    accepted, assigned = sum(data.by_field.values()), sum(data.by_unit.values())
    who = data.office or "市政府办公室"
    span = f"{cn_date(data.period_from)}至{cn_date(data.period_to)}"
    if not data.registered and not accepted:
        return f"{span}，{who}未收到企业预约登记，未受理企业诉求。现将有关情况报告如下。"
    parts = [f"{span}，{who}共收到企业预约登记{data.registered}件，受理{accepted}件"]
    if data.by_field:
        top, count = max(data.by_field.items(), key=lambda item: item[1])
        parts.append(f"涉及{len(data.by_field)}个领域，其中{top}领域{count}件，数量最多")
    if assigned:
        parts.append(f"交由{len(data.by_unit)}个承办单位办理{assigned}件")
    text = "，".join(parts) + "。"
    due = sum(u.due for u in data.on_time)
    if due:
        on_time = sum(u.on_time for u in data.on_time)
        escalated = sum(1 for item in data.late if item.escalated)
        text += (f"本期应报送的落实情况、办理结果和十日一报共{due}项，按时报送{on_time}项，按时报送率"
                 f"{on_time / due:.1%}；未按时报送{due - on_time}项")
        text += f"，其中{escalated}项已提请督查室督办。" if escalated else "。"
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

class _Numbering:
    """表1, 表2, … in the order the tables appear."""

    def __init__(self):
        self.count = 0

    def next(self, caption: str) -> str:
        self.count += 1
        return f"表{self.count}　{caption}"


def _section_fields(document, data: ReportData, tables: _Numbering, chart) -> None:
    _heading(document, "一、受理诉求领域分布")
    total = sum(data.by_field.values())
    _table(document, tables.next("各领域受理诉求件数"), ("诉求领域", "件数", "占比"),
           ((name, n, _share(n, total)) for name, n in data.by_field.items()), total=("合计", total, "100%"))
    if chart is not None:
        document.add_picture(chart, width=Cm(15))
        document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        _caption(document, "图1　各领域受理诉求件数")


def _section_units(document, data: ReportData, tables: _Numbering) -> None:
    _heading(document, "二、承办单位办理情况")
    _table(document, tables.next("各承办单位交办件数"), ("承办单位", "交办件数"), data.by_unit.items(),
           total=("合计", sum(data.by_unit.values())))
    _paragraph(document, "各承办单位报送时限执行情况如下（按时报送率 = 按时报送项数 ÷ 应报送项数）：")
    rows = [u for u in data.on_time if u.due]
    due, on_time = sum(u.due for u in rows), sum(u.on_time for u in rows)
    _table(document, tables.next("各承办单位按时报送情况"), ("承办单位", "应报送", "按时报送", "未按时报送", "按时报送率"),
           ((u.unit, u.due, u.on_time, u.late, _share(u.on_time, u.due)) for u in rows),
           total=("合计", due, on_time, due - on_time, _share(on_time, due)))


def _section_status(document, data: ReportData, tables: _Numbering) -> None:
    _heading(document, "三、预约登记办理状态")
    total = sum(data.by_status.values())
    _table(document, tables.next("本期预约登记的办理状态"), ("办理状态", "件数", "占比"),
           ((name, n, _share(n, total)) for name, n in data.by_status.items()), total=("合计", total, "100%"))


def _section_late(document, data: ReportData, tables: _Numbering) -> None:
    _heading(document, "四、逾期和督办事项")
    if not data.late:
        _paragraph(document, "本期无逾期报送或逾期未报送事项。")
        return
    rows = sorted(data.late, key=lambda item: (-item.days_late, item.case_number))
    _table(document, tables.next("逾期报送和逾期未报送事项"),
           ("编号", "承办单位", "事项", "报送时限", "报送日期", "逾期天数", "督办"), (_late_row(i) for i in rows))
    missing = [item for item in rows if item.reported is None]
    if missing:
        _paragraph(document, f"其中{len(missing)}项截至{cn_date(data.period_to)}仍未报送，建议督促承办单位尽快报送。")


def _late_row(item: LateItem) -> tuple:
    return (item.case_number, item.unit, KIND_LABELS.get(item.kind, item.kind), cn_date(item.due),
            cn_date(item.reported) if item.reported else "未报送", item.days_late,
            f"{cn_date(item.escalated)}提请督办" if item.escalated else "—")


def _section_satisfaction(document, data: ReportData, tables: _Numbering) -> None:
    _heading(document, "五、回访满意度")
    total = sum(data.satisfaction.get(level, 0) for level in SATISFACTION_LEVELS)
    _table(document, tables.next("企业满意度评价"), ("回访结果", "企业数", "占比"),
           ((level, data.satisfaction.get(level, 0), _share(data.satisfaction.get(level, 0), total))
            for level in SATISFACTION_LEVELS), total=("合计", total, "100%" if total else "—"))


def _section_common(document, data: ReportData, tables: _Numbering) -> None:
    _heading(document, "六、企业集中反映的共性问题")
    issues = _common(data)
    if not issues:
        _paragraph(document, f"本期未发现{COMMON_ISSUE_MIN}家及以上企业集中反映的共性问题。")
        return
    _table(document, tables.next("共性问题"), ("问题领域或关键词", "反映企业数", "涉及诉求编号"),
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


def _caption(document, text: str, keep_with_next: bool = False) -> None:
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.keep_with_next = keep_with_next
    set_font(paragraph.add_run(text), HEADING_FONT, 12)


def _table(document, caption: str, headers: tuple[str, ...], rows: Iterable,
           total: tuple | None = None) -> None:
    """A captioned table (caption above, as 公文 tables have it); numbers right-aligned."""
    _caption(document, caption, keep_with_next=True)
    table = document.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, headers):
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        set_font(cell.paragraphs[0].add_run(text), HEADING_FONT, 12)
    count = 0
    for values in rows:
        _cells(table, values)
        count += 1
    if not count:
        _cells(table, ("无",) + ("",) * (len(headers) - 1))
    elif total is not None:
        _cells(table, total)
    document.add_paragraph()


def _cells(table, values) -> None:
    for cell, value in zip(table.add_row().cells, values):
        paragraph = cell.paragraphs[0]
        if _is_number(value):
            paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        set_font(paragraph.add_run(clean_text(value)), "仿宋_GB2312", 12)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) or (isinstance(value, str) and value.endswith("%")
                                                and value[:-1].replace(".", "").isdigit())


def _share(part: int, total: int) -> str:
    return f"{part / total:.1%}" if total else "—"


def _signature(document, data: ReportData) -> None:
    for text in (data.office, cn_date(data.generated)):
        if text:
            paragraph = document.add_paragraph(clean_text(text))
            paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT


# ---------------------------------------------------------------- chart

def field_chart(by_field: Mapping[str, int]) -> io.BytesIO:
    """PNG bar chart of cases by field; DocumentError when no font can draw its Chinese labels."""
    if cjk_font() is None:
        raise DocumentError(NO_FONT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # matplotlib's font notices; the font itself is checked above
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
    font = cjk_font().copy()
    font.set_size(points)
    return font


@lru_cache(maxsize=1)
def cjk_font():
    """FontProperties of a font with Chinese glyphs, or None when the machine has none."""
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
