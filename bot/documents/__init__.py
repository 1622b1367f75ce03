"""Documents: the notice (附件1), the slip (附件3), the demand ledger, the public progress export and
the leaders' report. Pure rendering from the plain values in rows.py; no database access here."""

from .ledger import export_ledger, import_ledger
from .notice import render_notice
from .publish import publish
from .report import render_report
from .rows import (
    LedgerEdit,
    LedgerImportResult,
    LedgerRow,
    PublicRow,
    ReportData,
    SlipData,
)
from .slip import blank_slip, render_slip

__all__ = [
    "LedgerEdit", "LedgerImportResult", "LedgerRow", "PublicRow", "ReportData", "SlipData",
    "blank_slip", "export_ledger", "import_ledger", "publish", "render_notice", "render_report",
    "render_slip",
]
