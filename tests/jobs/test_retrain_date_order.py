"""Retraining reads the spec's export in the day/month order the champion's export was read
in, where the spec gives no format: an export grown since, or cut to recent weeks, whose
dates alone do not tell is not read in the other order."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotspots.ingest import IngestOptions
from hotspots.jobs import retrain as retrain_job
from hotspots.jobs.data import event_options
from hotspots.jobs.spec import spec_from_dict


class Read(Exception):
    """Stops ``_prepare`` once it has said how it reads the export."""


def test_the_export_is_read_in_the_champions_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = tmp_path / "week.csv"
    export.write_text("date,lat,lng,cat\n01/12/2026 10:00,51.5,-0.12,burglary\n")
    spec = spec_from_dict(
        {
            "name": "burglary",
            "data": {"events": str(export), "map": "time=date,lat=lat,lng=lng,category=cat"},
            "target": {"categories": ["burglary"]},
        }
    )
    seen: list[IngestOptions] = []

    def load_events(path: Path, options: IngestOptions) -> None:
        seen.append(options)
        raise Read

    monkeypatch.setattr(retrain_job, "load_events", load_events)
    champion = {"spec": {"data": {}}, "data": {"time_format": "%d/%m/%Y %H:%M"}}
    with pytest.raises(Read):
        retrain_job._prepare(spec, None, event_options(champion))
    with pytest.raises(Read):  # a champion from before the record: the values decide alone
        retrain_job._prepare(spec, None, event_options({"data": {}}))
    assert [o.date_order for o in seen] == ["day-first", None]
    assert all(o.time_format is None for o in seen)


def test_the_export_is_read_as_months_where_the_champions_events_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = tmp_path / "months.csv"
    export.write_text("date,lat,lng,cat\n2026-11-01,51.5,-0.12,burglary\n")
    spec = spec_from_dict(
        {
            "name": "burglary",
            "data": {"events": str(export), "map": "time=date,lat=lat,lng=lng,category=cat"},
            "target": {"categories": ["burglary"]},
            "grid": {"period": "M"},
        }
    )
    seen: list[IngestOptions] = []

    def load_events(path: Path, options: IngestOptions) -> None:
        seen.append(options)
        raise Read

    monkeypatch.setattr(retrain_job, "load_events", load_events)
    for data in ({"month_precision": True}, {"month_precision": False}, {}):
        with pytest.raises(Read):
            retrain_job._prepare(spec, None, event_options({"data": data}))
    assert [o.months for o in seen] == [True, False, False]


def test_the_export_is_read_with_the_champions_placeholder_minutes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = tmp_path / "grown.csv"
    export.write_text("date,lat,lng,cat\n2026-11-02 00:01,37.77,-122.42,burglary\n")
    spec = spec_from_dict(
        {
            "name": "burglary",
            "data": {"events": str(export), "map": "time=date,lat=lat,lng=lng,category=cat"},
            "target": {"categories": ["burglary"]},
        }
    )
    seen: list[IngestOptions] = []

    def load_events(path: Path, options: IngestOptions) -> None:
        seen.append(options)
        raise Read

    monkeypatch.setattr(retrain_job, "load_events", load_events)
    for data in ({"placeholder_times": {"00:01": 21794}}, {"placeholder_times": {}}, {}):
        with pytest.raises(Read):
            retrain_job._prepare(spec, None, event_options({"data": data}))
    assert [o.placeholders for o in seen] == [("00:01",), (), ()]
