"""Text placed on a page (PDF text runs, OCR lines) turned into the rows of cells the label reader
walks, so that a table's label and value pair up as they do in a .docx.

Items on one visual line form a row, left to right. A line that continues the cell above it (the
next line of a wrapped value: a small vertical gap, starting under that cell) is joined to it, so a
value wrapped over four lines is one value. Labels are never joined: the rows under a block label
(基本情况) stay rows, and the label reader takes them as the block.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median

from bot.forms.labels import Grid, find_values, split_label

JOIN_GAP = 0.45  # a gap under this many line heights continues the cell above
SAME_ROW = 0.5  # centres closer than this many line heights are on one row


@dataclass
class Item:
    x0: float
    y0: float  # top
    x1: float
    y1: float  # bottom
    text: str
    confidence: float = 1.0

    @property
    def height(self) -> float:
        return max(self.y1 - self.y0, 1.0)

    @property
    def middle(self) -> float:
        return (self.y0 + self.y1) / 2


def rows_of(items: list[Item]) -> list[list[Item]]:
    """Items grouped into visual rows (top to bottom), each row left to right; an item that is only
    punctuation (the colon of 企业名称：) belongs to the item on its left."""
    return [_attach_punctuation(row) for row in _rows(items)]


def _attach_punctuation(row: list[Item]) -> list[Item]:
    out: list[Item] = []
    for item in row:
        if out and all(ch in _PUNCTUATION for ch in item.text.strip()):
            out[-1].text += item.text.strip()
            out[-1].x1 = max(out[-1].x1, item.x1)
        else:
            out.append(item)
    return out


_PUNCTUATION = ":：;；,，.。、*＊"


def _rows(items: list[Item]) -> list[list[Item]]:
    items = [item for item in items if item.text.strip()]
    if not items:
        return []
    line = median(item.height for item in items)
    rows: list[list[Item]] = []
    for item in sorted(items, key=lambda it: it.middle):
        if rows and abs(item.middle - _middle(rows[-1])) < SAME_ROW * line:
            rows[-1].append(item)
        else:
            rows.append([item])
    return [sorted(row, key=lambda it: it.x0) for row in rows]


def join_wrapped(rows: list[list[Item]]) -> list[list[Item]]:
    """Rows whose every item continues a (non-label) item of the row above are joined into it."""
    if not rows:
        return rows
    line = median(item.height for row in rows for item in row)
    out: list[list[Item]] = [rows[0]]
    for row in rows[1:]:
        above = out[-1]
        gap = min(it.y0 for it in row) - max(it.y1 for it in above)
        targets = [_cell_above(item, above, line) for item in row] if gap < JOIN_GAP * line else [None]
        if all(target is not None for target in targets):
            for item, target in zip(row, targets):
                _append(target, item)
        else:
            out.append(row)
    return out


def _cell_above(item: Item, above: list[Item], line: float) -> Item | None:
    if split_label(item.text):
        return None
    for candidate in above:
        if abs(candidate.height - item.height) > 0.35 * candidate.height:
            continue  # another size of type (a seal's lettering) is not the next line of this cell
        if abs(candidate.x0 - item.x0) <= line * 1.2 and not _is_label_only(candidate.text):
            return candidate
    return None


def _is_label_only(text: str) -> bool:
    hit = split_label(text)
    return hit is not None and not hit[1]


def _append(target: Item, item: Item) -> None:
    ascii_edge = (target.text[-1:].isascii() and item.text[:1].isascii() and target.text[-1:].isalnum()
                  and item.text[:1].isalnum())
    target.text = target.text + (" " if ascii_edge else "") + item.text
    target.x1 = max(target.x1, item.x1)
    target.y1 = max(target.y1, item.y1)
    target.confidence = min(target.confidence, item.confidence)


def _middle(row: list[Item]) -> float:
    return sum(item.middle for item in row) / len(row)


def values_with_confidence(pages: list[list[Item]]) -> tuple[dict[str, str], dict[str, float]]:
    """Label values of positioned pages, and per value the lowest confidence of its pieces."""
    grid: Grid = []
    scores: list[list[float]] = []
    for items in pages:
        for row in join_wrapped(rows_of(items)):
            grid.append([item.text for item in row])
            scores.append([item.confidence for item in row])
    origins: dict[str, list[tuple[int, int]]] = {}
    values = find_values(grid, origins=origins)
    confidence = {key: min((scores[r][c] for r, c in cells if 0 <= c < len(scores[r])), default=0.0)
                  for key, cells in origins.items()}
    return values, confidence
