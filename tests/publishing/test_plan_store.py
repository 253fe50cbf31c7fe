"""The served plans' store: one small record per plan, named by its JSON document's ETag,
written durably once, read back by period."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hotspots.publishing.plan_store import PlanStore, plan_record, record_name
from hotspots.publishing.snapshot import strong_etag

DOCUMENT = {
    "as_of": "2024-01-08",
    "period_start": "2024-01-08",
    "freq": "W",
    "resolution": 8,
    "types": {"burglary": {"weight": 1.0, "categories": ["Burglary"]}},
    "summary": {"areas": 1, "area_km2": 0.7},
    "areas": [
        {
            "rank": 1,
            "area_km2": 0.7,
            "expected_count": 2.5,
            "cells": ["88195da49bfffff"],
            "boundary": {"type": "Polygon", "coordinates": []},
            "reasons": ["r"],
            "when": "unknown",
        }
    ],
}


def record(period: str = "2024-01-08", areas: int = 1) -> dict:  # type: ignore[type-arg]
    doc = {**DOCUMENT, "period_start": period, "as_of": period}
    etag = strong_etag(json.dumps([doc, areas]).encode())
    params = {"areas": areas, "max_area_km2": 1.0, "total_km2": None, "types": ["burglary"],
              "weights": {}, "horizon": 1, "stop": "cap"}  # fmt: skip
    return plan_record(doc, etag, versions={"burglary": "v2"}, params=params, first="requested")


def test_a_plan_is_stored_once_and_read_back(tmp_path: Path) -> None:
    store = PlanStore(tmp_path / "plans")
    one = record()
    assert store.record(one) is True
    assert store.record(one) is False  # the same plan again: nothing written
    # another process (a fresh store on the same folder) finds it stored too
    assert PlanStore(tmp_path / "plans").record(one) is False
    [path] = store.batches()
    assert path.name == record_name(one["etag"]) == f"plan-{one['etag'].strip(chr(34))}.json"
    [back] = store.read()
    assert back["recorded_at"].endswith("Z")
    assert {k: v for k, v in back.items() if k != "recorded_at"} == one
    # what effectiveness needs, and nothing an officer reads (boundaries, hours, reasons)
    assert back["areas"] == [
        {"rank": 1, "area_km2": 0.7, "expected_count": 2.5, "cells": ["88195da49bfffff"]}
    ]
    assert back["models"] == {"burglary": "v2"} and back["params"]["stop"] == "cap"


def test_records_are_read_by_period_and_leftovers_are_not_read(tmp_path: Path) -> None:
    store = PlanStore(tmp_path / "plans")
    later, earlier, other = record("2024-01-15"), record("2024-01-08"), record("2024-01-08", 3)
    for r in (later, earlier, other):
        store.record(r)
    (store.folder / ".plan-x.json.abc.tmp").write_text("{half", encoding="utf-8")  # a crash
    got = store.read()
    assert [r["period_start"] for r in got] == ["2024-01-08", "2024-01-08", "2024-01-15"]
    assert {r["etag"] for r in got[:2]} == {earlier["etag"], other["etag"]}
    assert len(store.generation()) == 3


def test_a_record_is_named_by_a_sha256_etag_only(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"named by a sha256 ETag, got '\"\.\./x\"'"):
        PlanStore(tmp_path).record({**record(), "etag": '"../x"'})
    assert not list(tmp_path.iterdir())
