"""Incident ingest: readers, presets, time parsing, validation, the event table."""
