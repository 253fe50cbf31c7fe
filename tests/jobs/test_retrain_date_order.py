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


def options_read(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    row: str,
    champions: list[dict[str, object]],
    period: str = "W",
) -> list[IngestOptions]:
    """The options ``_prepare`` reads a one-row export with, once per champion manifest."""
    export = tmp_path / "export.csv"
    export.write_text(f"date,lat,lng,cat\n{row}\n")
    spec = spec_from_dict(
        {
            "name": "burglary",
            "data": {"events": str(export), "map": "time=date,lat=lat,lng=lng,category=cat"},
            "target": {"categories": ["burglary"]},
            "grid": {"period": period},
        }
    )
    seen: list[IngestOptions] = []

    def load_events(path: Path, options: IngestOptions) -> None:
        seen.append(options)
        raise Read

    monkeypatch.setattr(retrain_job, "load_events", load_events)
    for champion in champions:
        with pytest.raises(Read):
            retrain_job._prepare(spec, None, event_options(champion))
    return seen


def test_the_export_is_read_in_the_champions_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    champion = {"spec": {"data": {}}, "data": {"time_format": "%d/%m/%Y %H:%M"}}
    # the second: a champion from before the record, where the values decide alone
    seen = options_read(
        tmp_path, monkeypatch, "01/12/2026 10:00,51.5,-0.12,burglary", [champion, {"data": {}}]
    )
    assert [o.date_order for o in seen] == ["day-first", None]
    assert all(o.time_format is None for o in seen)


def test_the_export_is_read_as_months_where_the_champions_events_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    champions = [{"data": d} for d in ({"month_precision": True}, {"month_precision": False}, {})]
    seen = options_read(tmp_path, monkeypatch, "2026-11-01,51.5,-0.12,burglary", champions, "M")
    assert [o.months for o in seen] == [True, False, False]


def test_the_export_is_read_with_the_champions_placeholder_minutes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded = ({"placeholder_times": {"00:01": 21794}}, {"placeholder_times": {}}, {})
    champions = [{"data": d} for d in recorded]
    seen = options_read(tmp_path, monkeypatch, "2026-11-02 00:01,37.77,-122.42,burglary", champions)
    assert [o.placeholders for o in seen] == [("00:01",), (), ()]
