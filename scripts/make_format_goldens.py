"""Generate the golden files of every format enterprises send, from the golden forms of tests/data/forms.

    .venv/bin/python scripts/make_format_goldens.py [OUTDIR]     (needs LibreOffice: soffice)

Conversions (LibreOffice headless): .xlsx -> .xls, .docx -> .doc and -> PDF; WPS keeps the same
binary formats under .et / .wps. From the PDFs: text PDFs with a red seal stamped over the text,
scanned PDFs (rendered pages, slightly skewed, grey, JPEG), photos (rotation up to 10 degrees,
perspective, JPEG noise, a red seal over the text, uneven light), illegible photos, and archives.
Each NAME.ext gets NAME.json: {"source": the golden form, "kind": ..., "expect": its expected Form}.
The expected values are the source form's hand-written ones; the reader is never run here. The
product does not need LibreOffice: only this generator does.
"""

from __future__ import annotations

import io
import json
import math
import random
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

ROOT = Path(__file__).resolve().parents[1]
FORMS = ROOT / "tests" / "data" / "forms"
OUT = ROOT / "tests" / "data" / "formats"

XLS = ["x01_canonical_two_col", "x02_four_col", "x03_label_value_same_cell", "x04_spaced_labels",
       "x05_traditional_labels", "x06_asterisk_colon_labels", "x07_aliases", "x08_merged_cells",
       "x09_form_on_second_sheet", "x12_checkbox_glyphs_before", "x16_plain_no_words"]
DOC = ["d01_canonical_table", "d02_four_col_table", "d03_paragraphs_no_table", "d04_merged_cells",
       "d06_glyphs_before", "d07_glyphs_after", "d08_traditional_labels", "d09_spaced_labels",
       "d10_aliases", "d13_blocks_below", "d16_label_value_same_cell", "d22_section_rows_inserted"]
PDF = ["d01_canonical_table", "d02_four_col_table", "d04_merged_cells", "d06_glyphs_before",
       "d07_glyphs_after", "d09_spaced_labels", "d10_aliases", "d13_blocks_below",
       "d18_landline_with_space", "d20_credit_code_lower_spaced", "d22_section_rows_inserted",
       "d23_chinese_date_plus86"]
SCANS = PDF[:10]
PHOTOS = PDF + ["d01_canonical_table", "d02_four_col_table", "d07_glyphs_after"]


def main(out: Path = OUT) -> None:
    rng = random.Random(20261203)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        xls = convert([FORMS / f"{n}.xlsx" for n in XLS], "xls", work)
        doc = convert([FORMS / f"{n}.docx" for n in DOC], "doc", work)
        pdf = convert([FORMS / f"{n}.docx" for n in sorted(set(PDF))], "pdf", work)
        for name in XLS:
            emit(out, f"xls_{name}.xls", xls[name].read_bytes(), name + ".xlsx", "xls")
        for name in DOC:
            emit(out, f"doc_{name}.doc", doc[name].read_bytes(), name + ".docx", "doc")
        for name in XLS[:2]:
            emit(out, f"wps_{name}.et", xls[name].read_bytes(), name + ".xlsx", "xls")
        for name in DOC[:2]:
            emit(out, f"wps_{name}.wps", doc[name].read_bytes(), name + ".docx", "doc")
        for i, name in enumerate(PDF):
            data = pdf[name].read_bytes()
            if i % 4 == 0:
                data = stamp_seal(data)  # a seal image drawn over the text layer
            emit(out, f"pdf_{name}.pdf", data, name + ".docx", "pdf-text")
        for name in SCANS:
            emit(out, f"scan_{name}.pdf", scanned_pdf(pdf[name], rng), name + ".docx", "scan")
        for i, name in enumerate(PHOTOS):
            emit(out, f"photo{i:02d}_{name}.jpg", photo(pdf[name], rng, i), name + ".docx", "photo")
        for i, name in enumerate(["d01_canonical_table", "d02_four_col_table", "d04_merged_cells"]):
            emit(out, f"illegible{i}_{name}.jpg", illegible(pdf[name], rng, i), name + ".docx", "illegible")
        archives(out, xls, doc, pdf)


def convert(sources: list[Path], target: str, work: Path) -> dict[str, Path]:
    folder = work / target
    folder.mkdir(exist_ok=True)
    subprocess.run(["soffice", "--headless", "--convert-to", target, "--outdir", str(folder),
                    *map(str, sources)], check=True, capture_output=True, timeout=600)
    return {path.stem: path for path in folder.iterdir()}


def emit(out: Path, name: str, data: bytes, source: str, kind: str) -> None:
    (out / name).write_bytes(data)
    expect = json.loads((FORMS / source).with_suffix(".json").read_text(encoding="utf-8"))
    meta = {"source": source, "kind": kind, "expect": expect}
    (out / name).with_suffix(".json").write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n",
                                                 encoding="utf-8")


# ------------------------------------------------------------------ images

def pages(pdf_path: Path, dpi: int = 150) -> list[Image.Image]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf_path.read_bytes())
    return [document[i].render(scale=dpi / 72).to_pil().convert("RGB") for i in range(len(document))]


def one_sheet(pdf_path: Path) -> Image.Image:
    """Both pages' content stacked on one sheet, as a form printed to fit one page."""
    crops = []
    for page in pages(pdf_path):
        gray = np.asarray(page.convert("L"))
        rows = np.where((gray < 200).any(axis=1))[0]
        cols = np.where((gray < 200).any(axis=0))[0]
        if len(rows):
            crops.append(page.crop((cols[0] - 20, rows[0] - 20, cols[-1] + 20, rows[-1] + 20)))
    width = max(c.width for c in crops) + 120
    height = sum(c.height for c in crops) + 160
    sheet = Image.new("RGB", (width, height), "white")
    y = 80
    for crop in crops:
        sheet.paste(crop, (60, y))
        y += crop.height
    return sheet


def seal(size: int) -> Image.Image:
    """A round red company seal (RGBA), as stamped over the signature and date."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    red = (215, 30, 35, 170)
    draw.ellipse((4, 4, size - 4, size - 4), outline=red, width=max(4, size // 40))
    cx = size // 2
    draw.polygon(star(cx, cx, size * 0.16), fill=red)
    font = cjk_font(size // 9)
    text = "乌海市某某有限公司"
    for i, ch in enumerate(text):
        angle = math.radians(210 + i * (120 / (len(text) - 1)))
        x = cx + math.cos(angle) * size * 0.34
        y = cx + math.sin(angle) * size * 0.34
        draw.text((x, y), ch, fill=red, font=font, anchor="mm")
    return image


def star(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    points = []
    for i in range(10):
        radius = r if i % 2 == 0 else r * 0.4
        angle = math.radians(-90 + i * 36)
        points.append((cx + math.cos(angle) * radius, cy + math.sin(angle) * radius))
    return points


def cjk_font(size: int):
    for path in ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                 "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"):
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default()


def stamp(image: Image.Image, rng: random.Random) -> Image.Image:
    size = image.width // 4
    x = rng.randint(image.width // 2, image.width - size - 20)
    y = rng.randint(image.height // 8, image.height // 3)
    image.paste(seal(size), (x, y), seal(size))
    return image


def photo(pdf_path: Path, rng: random.Random, index: int) -> bytes:
    image = stamp(one_sheet(pdf_path), rng)
    angle = rng.uniform(-10, 10) if index % 3 else rng.uniform(-4, 4)
    image = image.rotate(angle, expand=True, fillcolor=(90, 80, 70), resample=Image.BICUBIC)
    image = perspective(image, rng, 0.04 if index % 2 else 0.015)
    image = uneven_light(image, rng)
    image = image.resize((round(image.width * 0.72), round(image.height * 0.72)), Image.LANCZOS)
    noisy = np.asarray(image).astype(np.int16) + np.random.default_rng(index).normal(0, 6, (image.height, image.width, 3)).astype(np.int16)
    image = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    return jpeg(image, rng.randint(55, 75))


def perspective(image: Image.Image, rng: random.Random, amount: float) -> Image.Image:
    w, h = image.size
    d = [rng.uniform(0, amount) for _ in range(8)]
    quad = (w * d[0], h * d[1], w * d[2], h * (1 - d[3]), w * (1 - d[4]), h * (1 - d[5]), w * (1 - d[6]), h * d[7])
    return image.transform((w, h), Image.QUAD, quad, resample=Image.BICUBIC, fillcolor=(90, 80, 70))


def uneven_light(image: Image.Image, rng: random.Random) -> Image.Image:
    w, h = image.size
    yy, xx = np.mgrid[0:h, 0:w]
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    dist = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2) / math.hypot(w, h)
    light = (1.0 - 0.45 * dist)[:, :, None] * rng.uniform(0.8, 1.0)
    return Image.fromarray(np.clip(np.asarray(image) * light, 0, 255).astype(np.uint8))


def scanned_pdf(pdf_path: Path, rng: random.Random) -> bytes:
    frames = []
    for page in pages(pdf_path, dpi=110):
        page = page.rotate(rng.uniform(-1.5, 1.5), expand=False, fillcolor="white", resample=Image.BICUBIC)
        frames.append(Image.open(io.BytesIO(jpeg(page.convert("L"), 50))))
    buffer = io.BytesIO()
    frames[0].save(buffer, "PDF", resolution=110, save_all=True, append_images=frames[1:])
    return buffer.getvalue()


def illegible(pdf_path: Path, rng: random.Random, index: int) -> bytes:
    """Unreadable photos: out of focus, tiny, or scrawled over (standing in for handwriting)."""
    image = one_sheet(pdf_path)
    if index == 0:
        image = image.filter(ImageFilter.GaussianBlur(6))
    elif index == 1:
        image = image.resize((image.width // 7, image.height // 7), Image.BILINEAR)
    else:
        draw = ImageDraw.Draw(image)
        for _ in range(400):
            x, y = rng.uniform(0, image.width), rng.uniform(0, image.height)
            draw.line((x, y, x + rng.uniform(-80, 80), y + rng.uniform(-15, 15)), fill=(20, 20, 60), width=3)
        image = image.filter(ImageFilter.GaussianBlur(2.5))
    return jpeg(image, 60)


def jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


def stamp_seal(data: bytes) -> bytes:
    """The PDF with a seal image placed over its first page's text (the text layer stays)."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    page = document[0]
    image = pdfium.PdfImage.new(document)
    seal_png = Image.new("RGB", (300, 300), "white")
    mark = seal(300)
    seal_png.paste(mark, (0, 0), mark)
    image.load_jpeg(io.BytesIO(jpeg(seal_png, 80)), inline=True)
    width, height = page.get_size()
    image.set_matrix(pdfium.PdfMatrix().scale(130, 130).translate(width * 0.55, height * 0.62))
    page.insert_obj(image)
    page.gen_content()
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# ------------------------------------------------------------------ archives

def archives(out: Path, xls: dict, doc: dict, pdf: dict) -> None:
    def zipped(members: dict[str, bytes]) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in members.items():
                archive.writestr(name, data)
        return buffer.getvalue()

    x01 = (FORMS / "x01_canonical_two_col.xlsx").read_bytes()
    emit(out, "zip_x01_canonical_two_col.zip", zipped({"来访企业预约登记表.xlsx": x01,
                                                       "营业执照说明.txt": "营业执照复印件另行提交。".encode()}),
         "x01_canonical_two_col.xlsx", "zip")
    emit(out, "zip_d02_four_col_table.zip", zipped({"登记表/登记表.docx": (FORMS / "d02_four_col_table.docx").read_bytes()}),
         "d02_four_col_table.docx", "zip")
    emit(out, "zip_d01_canonical_table_doc.zip", zipped({"登记表.doc": doc["d01_canonical_table"].read_bytes()}),
         "d01_canonical_table.docx", "zip")
    emit(out, "zip_d04_merged_cells_pdf.zip", zipped({"登记表.pdf": pdf["d04_merged_cells"].read_bytes()}),
         "d04_merged_cells.docx", "zip")
    import py7zr

    buffer = io.BytesIO()
    with py7zr.SevenZipFile(buffer, "w") as archive:
        archive.writestr(xls["x07_aliases"].read_bytes(), "登记表.xls")
    emit(out, "7z_x07_aliases.7z", buffer.getvalue(), "x07_aliases.xlsx", "7z")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
