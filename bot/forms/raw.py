"""What a format reader hands back: raw label values and where they came from."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RawValues:
    values: dict[str, str]  # JSON key -> the text as written ("" for a label left blank)
    via: str  # xlsx, docx, xls, doc, pdf-text, ocr, body
    confidence: dict[str, float] = field(default_factory=dict)  # OCR: JSON key -> lowest score

    def labels(self) -> int:
        return len(self.values)
