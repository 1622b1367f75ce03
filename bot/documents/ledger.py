"""企业诉求台账: the one place callers import the demand ledger's export and import from.

The office fills five columns after the reception (现场结果, 承办单位, 协办单位, 办理要求, 长期整改); every
other column belongs to the bot. The export (ledger_export.py, openpyxl write-only, streamed) hides a
very-hidden sheet with, per case number, a digest of each exported cell: the import (ledger_import.py)
compares against it to know which rows the clerk changed and which bot-owned cells were edited (those
are reported and ignored). Keyed by case number, so sorting, hiding columns and adding columns do not
matter; cells are found by header name, never by position. This module only re-exports their names.
"""

from __future__ import annotations

from .ledger_export import (
    BASELINE_SHEET,
    CO_SEPARATOR,
    LISTS_SHEET,
    OUTCOMES,
    SHEET_TITLE,
    export_ledger,
    fast_sheet,
    place_cells,
    quoted,
    set_properties,
    style_of,
    text_cell,
)
from .ledger_import import import_ledger

__all__ = [
    "BASELINE_SHEET", "CO_SEPARATOR", "LISTS_SHEET", "OUTCOMES", "SHEET_TITLE", "export_ledger", "fast_sheet",
    "import_ledger", "place_cells", "quoted", "set_properties", "style_of", "text_cell",
]
