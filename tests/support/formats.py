"""Judging a form read from a golden file of tests/data/formats against its expected values."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from bot.forms.confidence import checked_keys
from bot.forms.model import DECLARATION_KEYS, Form
from bot.forms.validate import credit_code_problem, district_problem, phone_problem

DATA = Path(__file__).resolve().parents[1] / "data" / "formats"
DISTRICTS = ("海勃湾区", "乌达区", "海南区")
MANDATORY = ("enterprise_name", "credit_code", "district", "contact_name", "contact_phone",
             *(f"declarations.{key}" for key in DECLARATION_KEYS))
OCR_KINDS = ("scan", "photo", "illegible")


def goldens(*kinds: str) -> list[Path]:
    paths = sorted(p for p in DATA.iterdir() if p.suffix != ".json")
    return [p for p in paths if not kinds or meta(p)["kind"] in kinds]


def meta(path: Path) -> dict:
    return json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))


def value(data: dict, key: str):
    head, _, sub = key.partition(".")
    return data[head][sub] if sub else data[head]


@dataclass
class Judgement:
    right: list[str] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)  # wrong or missing, but flagged and asked back
    wrong: list[str] = field(default_factory=list)  # wrong and accepted silently: never allowed


def judge(form: Form, expect: dict) -> Judgement:
    """Every mandatory value is right, or asked back: doubtful (FORM-INVALID), invalid or empty, or
    a name read from the image, which the admin is told to compare (OCR-CHECK) and the reply asks
    the enterprise to confirm. Anything else read wrong would be accepted silently."""
    doubtful = set(checked_keys(form))
    read = form.to_json()
    result = Judgement()
    for key in MANDATORY:
        if value(read, key) == value(expect, key):
            result.right.append(key)
        elif key in doubtful or _invalid_or_empty(key, value(read, key)):
            result.asked.append(key)
        else:
            result.wrong.append(f"{key}: read {value(read, key)!r}, expected {value(expect, key)!r}")
    return result


def _invalid_or_empty(key: str, read) -> bool:
    if read in (None, "", []):
        return True
    check = {"credit_code": credit_code_problem, "contact_phone": phone_problem,
             "district": lambda v: district_problem(v, DISTRICTS)}.get(key)
    return bool(check and check(read))


def form_photo(values, angle: float = 4.0) -> bytes:
    """A phone photo of a printed form holding `values` (bot.samples.FormValues): one A4 sheet at
    ~120 dpi, a few degrees off, grey light, JPEG. Made with PIL, so tests need no office suite."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    font = _font(ImageFont, 19)
    sheet = Image.new("RGB", (1000, 1414), (250, 249, 245))
    draw = ImageDraw.Draw(sheet)
    draw.text((380, 40), "来访企业预约登记表", font=_font(ImageFont, 28), fill=(20, 20, 20))
    y = 110
    for label, text in values.pairs():
        lines = _wrap(text or "", 30) or [""]
        for i, line in enumerate(lines):
            if i == 0:
                draw.text((60, y), label if len(label) <= 12 else label[:12], font=font, fill=(25, 25, 25))
            draw.text((420, y), line, font=font, fill=(25, 25, 25))
            y += 30
        if len(label) > 12:
            draw.text((60, y), label[12:], font=font, fill=(25, 25, 25))
            y += 30
        y += 16
    photo = sheet.rotate(angle, expand=True, fillcolor=(70, 65, 60), resample=Image.BICUBIC)
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def _wrap(text: str, width: int) -> list[str]:
    return [text[i:i + width] for i in range(0, len(text), width)]


def _font(image_font, size: int):
    for path in ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
                 "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"):
        if Path(path).exists():
            return image_font.truetype(path, size)
    raise RuntimeError("no CJK font: scripts/install-test-deps.sh installs fonts-wqy-zenhei")
