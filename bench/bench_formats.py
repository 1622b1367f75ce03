"""Per-format parse time, and OCR time and peak memory of the isolated reader.

    .venv/bin/python bench/bench_formats.py [--rounds N]

Reads the golden files of tests/data/formats (one of each kind, N rounds) through read_attachment,
as the mail workers do, and prints a table: format, median ms per file. For OCR it also times the
recognition alone inside one warm process (what "one A4 photo" costs once the child has started)
and reports the child's peak RSS (ru_maxrss of the finished children). It runs itself under the
isolated reader's malloc settings (bot.forms.isolated), so the warm process measures like the child.
Not a test: numbers only.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.forms.isolated import MALLOC_VARS  # noqa: E402
from bot.forms.reader import read_attachment  # noqa: E402
from tests.support.formats import DISTRICTS, goldens, meta  # noqa: E402

SAMPLES = {"xlsx": ROOT / "tests/data/forms/x01_canonical_two_col.xlsx",
           "docx": ROOT / "tests/data/forms/d01_canonical_table.docx"}


def pick() -> dict[str, Path]:
    chosen = dict(SAMPLES)
    for path in goldens():
        kind = meta(path)["kind"]
        label = {"xls": path.suffix.lstrip("."), "doc": path.suffix.lstrip(".")}.get(kind, kind)
        chosen.setdefault(label, path)
    return chosen


def parse_times(rounds: int) -> list[tuple[str, str, float]]:
    rows = []
    for label, path in pick().items():
        data = path.read_bytes()
        times = []
        for _ in range(rounds if label not in ("photo", "scan", "illegible") else 1):
            started = time.perf_counter()
            try:
                read_attachment(data, path.name, districts=DISTRICTS, city="乌海市")
            except Exception:  # noqa: BLE001 - illegible photos are refused: still timed
                pass
            times.append(time.perf_counter() - started)
        rows.append((label, path.name, statistics.median(times) * 1000))
    return rows


def ocr_alone(path: Path) -> tuple[float, float, float]:
    """(model load s, recognition s, peak RSS MB) in this process, one thread."""
    from PIL import Image

    from bot.forms import ocr

    started = time.perf_counter()
    ocr.engine()
    loaded = time.perf_counter() - started
    image = Image.open(path)
    image.load()
    started = time.perf_counter()
    ocr.recognise(image)
    recognised = time.perf_counter() - started
    return loaded, recognised, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    if any(os.environ.get(name) != value for name, value in MALLOC_VARS.items()):
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **MALLOC_VARS})
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"{'format':<10} {'file':<44} {'ms/file':>9}")
    for label, name, ms in parse_times(args.rounds):
        print(f"{label:<10} {name:<44} {ms:>9.1f}")
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS of an isolated reader (PDF/OCR child): {children:.0f} MB")
    photo = next(p for p in goldens("photo"))
    loaded, recognised, rss = ocr_alone(photo)
    print(f"OCR of one A4 photo ({photo.name}), one core: model load {loaded:.2f} s, "
          f"recognition {recognised:.2f} s, peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
