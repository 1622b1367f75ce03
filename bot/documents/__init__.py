"""Documents: the notice (附件1), the slip (附件3), the demand ledger, the public progress export and
the leaders' report. Pure rendering from the plain values in rows.py; no database access here.

The names below are loaded on first use (PEP 562), not when the package is imported: every import
of a light submodule (cn.py, rows.py: the rule texts and the mail workers use them) runs this file
first, and loading the renderers here would put python-docx, docxtpl, openpyxl (with numpy and PIL)
and lxml into every such process: ~32 MB of resident memory.
"""

from __future__ import annotations

from .lazy import lazy_names

_EXPORTS = {
    "export_ledger": "ledger", "import_ledger": "ledger",
    "render_notice": "notice",
    "publish": "publish",
    "render_report": "report",
    "LedgerEdit": "rows", "LedgerImportResult": "rows", "LedgerRow": "rows", "PublicRow": "rows",
    "ReportData": "rows", "SlipData": "rows",
    "blank_slip": "slip", "render_slip": "slip",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_names(__name__, _EXPORTS, globals())
