"""The isolated reader process (started by `isolated.py`): a PDF or an image in on stdin, JSON out.

    python -m bot.forms.child '{"kind": "pdf", "inflate_left": ..., "max_pages": ..., ...}' < file

Answers {"pages": [{"via": "pdf-text"|"ocr", "items": [[x0, y0, x1, y1, text, confidence], ...]}],
"inflated": bytes} or {"refused": reason, "what": detail}. Exits non-zero only when it dies.
"""

from __future__ import annotations

import io
import json
import socket
import sys

from bot.errors import FormUnreadable
from bot.forms import pdf
from bot.forms.budget import over_limit
from bot.forms.ocr import recognise
from bot.forms.refusals import unreadable


def _no_network(*_args, **_kwargs):
    raise OSError("network access is disabled in the form reader")


def main() -> int:
    socket.socket = _no_network  # type: ignore[assignment, misc]
    socket.create_connection = _no_network  # type: ignore[assignment]
    request = json.loads(sys.argv[1])
    data = sys.stdin.buffer.read()

    try:
        answer = _read(request, data)
    except FormUnreadable as exc:
        answer = {"refused": exc.reason, "what": _what(exc)}
    except MemoryError:
        answer = {"refused": "over-limits", "what": "处理所需内存超限"}
    sys.stdout.write(json.dumps(answer, ensure_ascii=False))
    return 0


def _what(exc) -> str:
    detail = exc.detail or ""
    return detail[detail.find("（") + 1:detail.find("）")] if "（" in detail else ""


def _read(request: dict, data: bytes) -> dict:
    if request["kind"] == "pdf":
        return _read_pdf(request, data)
    return {"pages": [_ocr_page(image) for image in _images(request, data)], "inflated": 0}


def _read_pdf(request: dict, data: bytes) -> dict:
    inflated = pdf.precheck(data, request["inflate_left"], request["max_pixels"])
    document = pdf.open_pdf(data, request["max_pages"])
    pages, scans = [], 0
    for index in range(len(document)):
        page = document[index]
        items = pdf.text_items(page)
        if pdf.page_text_size(items) >= pdf.MIN_TEXT_CHARS:
            pages.append({"via": "pdf-text", "items": [_row(item) for item in items]})
            continue
        scans += 1
        if scans > request["max_images"]:
            raise over_limit("图片数量过多")
        pages.append(_ocr_page(pdf.render(page, request["max_pixels"])))
    return {"pages": pages, "inflated": inflated}


def _images(request: dict, data: bytes):
    """The frames of an image file (a multi-page TIFF scan has several), checked before decoding."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = request["max_pixels"]
    _register_heif()
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise over_limit("图片像素过大") from None
    except Exception:  # PIL raises UnidentifiedImageError, OSError, SyntaxError...
        raise unreadable("corrupt") from None
    frames = getattr(image, "n_frames", 1)
    if frames > request["max_images"]:
        raise over_limit("图片数量过多")
    for index in range(frames):
        try:
            image.seek(index)
            if image.width * image.height > request["max_pixels"]:
                raise over_limit("图片像素过大")  # refused from the header, before decoding
            image.load()
        except FormUnreadable_():
            raise
        except Exception:
            raise unreadable("corrupt") from None
        yield image.copy()


def FormUnreadable_():  # noqa: N802 - the class, imported late like everything in the child

    return FormUnreadable


def _register_heif() -> None:
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return
    register_heif_opener()


def _ocr_page(image) -> dict:
    try:
        items = recognise(image)
    except (ImportError, OSError):  # the OCR packages (or OpenCV's libGL) are not installed
        raise unreadable("image") from None
    return {"via": "ocr", "items": [_row(item) for item in items]}


def _row(item) -> list:
    return [round(item.x0, 1), round(item.y0, 1), round(item.x1, 1), round(item.y1, 1), item.text,
            round(item.confidence, 4)]


if __name__ == "__main__":
    sys.exit(main())
