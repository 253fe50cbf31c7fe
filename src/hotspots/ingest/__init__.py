"""Incident ingest: readers, presets, time parsing, validation, the event table.

The names below load their modules on first use (PEP 562), so ``hotspots --help`` and code
that needs only the presets (``hotspots.ingest.mapping``) do not import pandas and pyarrow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hotspots.ingest.events_io import is_event_table, read_events, write_events
    from hotspots.ingest.mapping import PRESETS, ColumnMap, Preset, get_preset
    from hotspots.ingest.pipeline import IngestOptions, IngestResult, ingest_file
    from hotspots.ingest.schema import EVENT_COLUMNS, PRECISIONS
    from hotspots.ingest.validate import REASONS, ValidationReport

_WHERE = {
    "is_event_table": "events_io",
    "read_events": "events_io",
    "write_events": "events_io",
    "PRESETS": "mapping",
    "ColumnMap": "mapping",
    "Preset": "mapping",
    "get_preset": "mapping",
    "IngestOptions": "pipeline",
    "IngestResult": "pipeline",
    "ingest_file": "pipeline",
    "EVENT_COLUMNS": "schema",
    "PRECISIONS": "schema",
    "REASONS": "validate",
    "ValidationReport": "validate",
}
__all__ = [
    "ColumnMap",
    "EVENT_COLUMNS",
    "IngestOptions",
    "IngestResult",
    "PRECISIONS",
    "PRESETS",
    "Preset",
    "REASONS",
    "ValidationReport",
    "get_preset",
    "ingest_file",
    "is_event_table",
    "read_events",
    "write_events",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value
