"""企业诉求台账: the one place callers import the demand ledger's export and import from.

The office fills five columns after the reception (现场结果, 承办单位, 协办单位, 办理要求, 长期整改); every
other column belongs to the bot. The export (ledger_export.py, openpyxl write-only, streamed) hides a
very-hidden sheet with, per case number, a digest of each exported cell: the import (ledger_import.py)
compares against it to know which rows the clerk changed and which bot-owned cells were edited (those
are reported and ignored). Keyed by case number, so sorting, hiding columns and adding columns do not
matter; cells are found by header name, never by position. This module only re-exports their names.
"""

from __future__ import annotations

from .lazy import lazy_names

# Loaded on first use (PEP 562): both halves import openpyxl, which brings numpy and PIL, ~18 MB of
# resident memory that a run of the bot needs only when the ledger or the progress export is
# written or an admin mails the filled ledger back. Callers that are imported on every run keep
# the module (`from bot.documents import ledger`) and look the name up when they call it.
_EXPORT = ("BASELINE_SHEET", "CO_SEPARATOR", "LISTS_SHEET", "OUTCOMES", "SHEET_TITLE", "export_ledger",
           "fast_sheet", "place_cells", "quoted", "set_properties", "style_of", "text_cell")
_IMPORT = ("import_ledger",)
_MODULE = {**dict.fromkeys(_EXPORT, "ledger_export"), **dict.fromkeys(_IMPORT, "ledger_import")}

__all__ = [*_EXPORT, *_IMPORT]

__getattr__, __dir__ = lazy_names(__package__, _MODULE, globals())
