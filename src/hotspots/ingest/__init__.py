"""Incident ingest: readers, presets, time parsing, validation, the event table."""

from hotspots.ingest.events_io import is_event_table, read_events, write_events
from hotspots.ingest.mapping import PRESETS, ColumnMap, Preset, get_preset
from hotspots.ingest.pipeline import IngestOptions, IngestResult, ingest_file
from hotspots.ingest.schema import EVENT_COLUMNS, PRECISIONS
from hotspots.ingest.validate import REASONS, ValidationReport

__all__ = [
    "EVENT_COLUMNS",
    "PRECISIONS",
    "PRESETS",
    "REASONS",
    "ColumnMap",
    "IngestOptions",
    "IngestResult",
    "Preset",
    "ValidationReport",
    "get_preset",
    "ingest_file",
    "is_event_table",
    "read_events",
    "write_events",
]
