"""Documents: the notice (附件1), the slip (附件3), the demand ledger, the public progress export and
the leaders' report. Pure rendering from the plain values in rows.py; no database access here.

The names below are loaded on first use (PEP 562), not when the package is imported: every import
of a light submodule (cn.py, rows.py: the rule texts and the mail workers use them) runs this file
first, and loading the renderers here would put python-docx, docxtpl, openpyxl (with numpy and PIL)
and lxml into every such process: ~32 MB of resident memory.
"""

from __future__ import annotations

import importlib

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


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
