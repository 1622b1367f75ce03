"""OCR of a form photo or scan, in the isolated child process only (the daemon never loads it).

The engine is RapidOCR 1.4 on ONNX Runtime with the PP-OCRv4 Chinese detection and recognition
models that ship inside the `rapidocr-onnxruntime` wheel: nothing is downloaded, one CPU thread.
Before recognition the image is prepared for what phones and scanners do to a printed form:
- EXIF orientation applied, and a sideways page (most text boxes tall) turned upright;
- the red channel only, which makes a red company seal over the text nearly vanish;
- uneven light flattened by dividing by a blurred background;
- at most OCR_AREA pixels (speed and memory; an A4 page at ~115 dpi reads well).
The detected boxes may be tilted (a photo rotated by a few degrees, perspective): their median
slope is measured and the box coordinates are turned back by it before rows are formed.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from statistics import median

from bot.forms.layout import Item

OCR_AREA = 1_300_000  # pixels handed to the recogniser (an A4 page at ~115 dpi; a long page the same)


@lru_cache(maxsize=1)
def engine():
    from rapidocr_onnxruntime import RapidOCR
    from rapidocr_onnxruntime.utils import infer_engine

    _lean_sessions(infer_engine)
    return RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1, rec_batch_num=1, print_verbose=False)


def _lean_sessions(infer_engine) -> None:
    """ONNX Runtime's memory pattern keeps the largest activations of the detector allocated;
    without it a worker stays far under 500 MB. RapidOCR 1.4 has no option for it, so its session
    options are wrapped."""
    original = infer_engine.OrtInferSession._init_sess_opts
    if getattr(original, "lean", False):
        return

    def lean(config):
        options = original(config)
        options.enable_mem_pattern = False
        return options

    lean.lean = True
    infer_engine.OrtInferSession._init_sess_opts = staticmethod(lean)


def prepare(image):
    """EXIF-upright, seal-suppressed, light-flattened BGR array at OCR size, and its scale."""
    import numpy as np
    from PIL import Image, ImageOps

    image = ImageOps.exif_transpose(image)
    scale = min(1.0, math.sqrt(OCR_AREA / max(image.width * image.height, 1)))
    if scale < 1.0:
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.BILINEAR)
    rgb = np.asarray(image.convert("RGB")).astype(np.int16)
    red = rgb[:, :, 0].copy()
    seal = rgb[:, :, 0] - np.maximum(rgb[:, :, 1], rgb[:, :, 2]) > 50  # red ink, not black text
    red[seal] = 255
    flat = _flatten_light(red.astype(np.uint8))
    return np.repeat(flat[:, :, None], 3, axis=2)


def _flatten_light(gray):
    import cv2
    import numpy as np

    background = cv2.GaussianBlur(gray, (0, 0), sigmaX=max(gray.shape) / 30)
    background = np.maximum(background, 1).astype(np.float32)
    flat = np.clip(gray.astype(np.float32) / background * 235.0, 0, 255)
    return flat.astype(np.uint8)


def recognise(image) -> list[Item]:
    """Text items of the image, with confidence, in upright page coordinates."""
    import numpy as np

    array = prepare(image)
    boxes = _run(array)
    if _sideways(boxes):
        array = np.ascontiguousarray(np.rot90(array, 3))  # a page photographed sideways
        boxes = _run(array)
    return _deskewed(boxes, array.shape[1] / 2, array.shape[0] / 2)


def _run(array) -> list:
    """(box, text, score) per line, the text and score refined from the per-character boxes."""
    result, _elapsed = engine()(array, return_word_box=True)
    lines = []
    for entry in result or []:
        box, text, score = entry[0], entry[1], float(entry[2])
        words = entry[3] if len(entry) > 3 else None
        text, score = refine_line(array, box, text, score, words)
        lines.append((box, text, score))
    return lines


def refine_line(array, box, text: str, score: float, words) -> tuple[str, float]:
    """Find the characters the recogniser left out, by the gaps between its character boxes.

    A gap as wide as a character inside a line is a glyph it could not read: a rare character in a
    name (then the line's score is halved, so the value is asked back) or a ticked box (☑, ☒, a
    hand-drawn tick), which has ink in it; then the tick is written back in, and the empty boxes the
    recogniser reads as 口 become □, so the checkbox reader sees `□是 ☑否`.
    """
    width, height = _extent(box)
    chars = [ch for ch in text if not ch.isspace()]
    spaced = {i for i, _ in enumerate(chars) if _space_before(text, i)}
    if not words or len(words) != len(chars):
        return text, score * (0.5 if _too_wide(text, width, height) else 1.0)
    spans = [(min(p[0] for p in w), max(p[0] for p in w), min(p[1] for p in w), max(p[1] for p in w))
             for w in words]
    # narrow Latin letters make a small pitch: never measure gaps against less than 0.6 line heights
    pitch = max(median(x1 - x0 for x0, x1, _, _ in spans), 0.6 * height, 1.0)
    line_x0 = min(p[0] for p in box)
    out, missing = [], False
    for i in range(len(chars)):
        gap = spans[i][0] - (spans[i - 1][1] if i else line_x0)
        if gap > 0.6 * pitch:
            region = (spans[i][0] - gap, spans[i][2], spans[i][0], spans[i][3])
            if _inked(array, region) and _is_option(chars, i):
                out.append("\u2611")
            elif i in spaced or gap > 1.2 * pitch and not (_cjk(chars[i]) and i and _cjk(chars[i - 1])):
                out.append(" ")
            elif i:
                missing = True  # a character-wide hole between two characters: one was not read
        out.append(chars[i])
    refined = "".join(out)
    if len(refined) <= 30:
        refined = _BOX_BEFORE_OPTION.sub("□", refined)
    penalty = 0.5 if missing or _too_wide(text, width, height) else 1.0
    return refined.replace("\ufffd", ""), score * penalty


_OPTION_WORDS = "是否有无规上高其座现早走"
_BOX_BEFORE_OPTION = re.compile(f"口(?=[{_OPTION_WORDS}])")  # an empty box read as the character 口


def _is_option(chars: list[str], at: int) -> bool:
    """A gap right before an option word of a checkbox list (是/否, 规上企业 …) in a line with boxes."""
    return chars[at] in _OPTION_WORDS and any(ch in "口□" for ch in chars)


def _space_before(text: str, index: int) -> bool:
    """True when the recognised text has a space before its index-th non-space character."""
    seen = -1
    for at, ch in enumerate(text):
        if not ch.isspace():
            seen += 1
            if seen == index:
                return at > 0 and text[at - 1].isspace()
    return False


def _cjk(ch: str) -> bool:
    return ord(ch) > 0x2E80


def _inked(array, region) -> bool:
    x0, y0, x1, y1 = (int(round(v)) for v in region)
    patch = array[max(0, y0):max(0, y1), max(0, x0):max(0, x1), 0]
    return patch.size > 0 and float((patch < 128).mean()) > 0.08


def _too_wide(text: str, width: float, height: float) -> bool:
    """A line much wider than its characters need: characters were dropped (王镕 read as 王)."""
    if not text or height < 1 or len(text) > 6:
        return False  # longer lines are judged by the gaps between their characters
    # a CJK glyph is ~0.75 box heights wide (the detector's box is taller than the glyph)
    expected = (sum(0.8 if _cjk(ch) else 0.5 for ch in text) + 0.5) * height
    return width > expected


def _sideways(boxes) -> bool:
    if len(boxes) < 4:
        return False
    tall = sum(1 for box, text, _ in boxes if len(text) >= 3 and _extent(box)[1] > 1.5 * _extent(box)[0])
    return tall > len(boxes) / 2


def _extent(box) -> tuple[float, float]:
    xs = [p[0] for p in box]
    ys = [p[1] for p in box]
    return max(xs) - min(xs), max(ys) - min(ys)


def skew_angle(boxes) -> float:
    """Median slope (radians) of the top edges of long text boxes."""
    slopes = []
    for box, text, _score in boxes:
        (x0, y0), (x1, y1) = box[0], box[1]
        if len(text) >= 4 and x1 - x0 > 40:
            slopes.append(math.atan2(y1 - y0, x1 - x0))
    return median(slopes) if slopes else 0.0


def _deskewed(boxes, cx: float, cy: float) -> list[Item]:
    angle = skew_angle(boxes)
    cos, sin = math.cos(-angle), math.sin(-angle)
    items = []
    for box, text, score in boxes:
        points = [((x - cx) * cos - (y - cy) * sin + cx, (x - cx) * sin + (y - cy) * cos + cy)
                  for x, y in box]
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        items.append(Item(min(xs), min(ys), max(xs), max(ys), text, float(score)))
    return items
