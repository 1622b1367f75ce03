"""Ledger export of 10,000 cases (quality.md: under 5 s with openpyxl write-only mode).

Run: .venv/bin/python bench/bench_ledger.py [ROWS]. Prints the seconds for the export and for reading
the file back with `ledger import` (no edits), plus the file size.
"""

from __future__ import annotations

import platform
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.documents.ledger import export_ledger, import_ledger  # noqa: E402
from bot.documents.rows import LedgerRow  # noqa: E402

UNITS = [f"乌海市第{i}局" for i in range(1, 31)]


def make_rows(count: int):
    start = date(2026, 1, 5)
    for i in range(count):
        accepted = start + timedelta(days=i % 300)
        assigned = accepted + timedelta(days=20) if i % 2 else None
        yield LedgerRow(
            case_number=f"WHJD-2026-{i + 1:05d}", accepted=accepted, channel="邮件",
            enterprise_name=f"乌海市某某化工有限公司{i}", credit_code="91150300MA0N000000",
            district="海勃湾区", enterprise_types=("规上企业", "高新技术企业"), contact_name="张三",
            contact_phone="13904731234", field_name="工业和信息化", title="关于园区供电扩容的诉求",
            content="基本情况：企业新建生产线需增加用电负荷约5000千伏安。" * 4 + "\n具体请求：协调供电公司加快审批。",
            suggested_departments=(UNITS[i % 30],), decision="已受理", rules=("MATCH-CURRENT",),
            session="2026-12", leader="分管工业的副市长",
            outcome="交办" if assigned else None, lead_unit=UNITS[i % 30] if assigned else None,
            co_units=(UNITS[(i + 1) % 30],) if assigned else (), requirements="请于7个工作日内报送落实情况。",
            assigned=assigned, status_due=assigned and assigned + timedelta(days=9),
            result_due=assigned and assigned + timedelta(days=30), long_term=bool(i % 5 == 0),
            latest_progress="=已报送落实情况" if i % 7 == 0 else "", status="办理中" if assigned else "已受理",
        )


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.xlsx"
        t0 = time.perf_counter()
        written = export_ledger(make_rows(count), path, unit_names=UNITS)
        export_s = time.perf_counter() - t0
        units = {name: f"u{i}" for i, name in enumerate(UNITS)}
        t0 = time.perf_counter()
        result = import_ledger(path, unit_by_name=units.get)
        import_s = time.perf_counter() - t0
        size = path.stat().st_size
    print(f"machine: {platform.machine()} {platform.python_implementation()} {platform.python_version()}")
    print(f"{'rows':>8} {'export s':>9} {'import s':>9} {'size MB':>8} {'edits':>6} {'problems':>8}")
    print(f"{written:>8} {export_s:>9.2f} {import_s:>9.2f} {size / 1e6:>8.2f} "
          f"{len(result.edits):>6} {len(result.problems):>8}")
    print(f"export target < 5 s: {'met' if export_s < 5 else 'NOT met'}")


if __name__ == "__main__":
    main()
