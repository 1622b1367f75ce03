"""One budget per mail for everything form reading produces: inflated bytes, cells, text, pixels.

A hostile mail can carry several small attachments (or an archive of them) that each stay under a
per-file limit; the budget is created once per mail by the caller and passed to every reader, so
all attachments and archive members draw from the same account. Running out raises FormUnreadable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.errors import FormUnreadable

LIMIT_DETAIL = ("附件内容超出系统的安全处理限制（{what}），系统未予读取。"
                "请只附上填写好的《来访企业预约登记表》（.xlsx、.docx、.xls、.doc、PDF 或清晰的照片）重新发送。")


@dataclass(frozen=True)
class FormLimits:
    max_uncompressed: int = 100 * 2**20  # bytes inflated for one mail: zips, archives, PDF streams
    max_ratio: int = 100  # inflated / compressed, per member and for the small members together
    max_rows: int = 20000  # rows read per sheet (or table rows + paragraphs of a document)
    max_cells: int = 200_000  # spreadsheet / table cells looked at, for the whole mail
    max_text: int = 4_000_000  # characters of cell and line text produced, for the whole mail
    max_xml_elements: int = 500_000  # elements of one XML part (a real form has a few thousand)
    max_pages: int = 10  # PDF pages (the form has two)
    max_pixels: int = 60_000_000  # pixels of one image before it is decoded (a 48 MP photo fits)
    max_images: int = 6  # images (photos, scanned pages) put through OCR for one mail
    max_archive_members: int = 50  # files looked at inside one .zip / .7z
    subprocess_seconds: float = 60.0  # wall time of one isolated reader (PDF, OCR)
    subprocess_memory: int = 2 * 2**30  # address space of one isolated reader


DEFAULT_LIMITS = FormLimits()


def over_limit(what: str) -> FormUnreadable:
    return FormUnreadable("over-limits", LIMIT_DETAIL.format(what=what))


@dataclass
class FormBudget:
    """What is left to spend for one mail; every reader takes from it and raises when it runs out."""

    limits: FormLimits = DEFAULT_LIMITS
    inflated: int = 0
    cells: int = 0
    text: int = 0
    images: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def inflate_left(self) -> int:
        return max(0, self.limits.max_uncompressed - self.inflated)

    def spend_inflated(self, size: int) -> None:
        self.inflated += size
        if self.inflated > self.limits.max_uncompressed:
            raise over_limit("解压后总大小超限")

    def spend_cells(self, count: int = 1) -> None:
        self.cells += count
        if self.cells > self.limits.max_cells:
            raise over_limit("单元格数量过多")

    def spend_text(self, chars: int) -> None:
        self.text += chars
        if self.text > self.limits.max_text:
            raise over_limit("文字内容过多")

    def spend_image(self) -> None:
        self.images += 1
        if self.images > self.limits.max_images:
            raise over_limit("图片数量过多")


def budget_for(budget: FormBudget | None, limits: FormLimits | None = None) -> FormBudget:
    """The caller's budget, or a fresh one (a single file read on its own, e.g. `parse FILE`)."""
    if budget is not None:
        return budget
    return FormBudget(limits or DEFAULT_LIMITS)
