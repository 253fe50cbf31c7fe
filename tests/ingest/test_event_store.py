"""EventStore: batches written durably, ids recognised on a retry, generated ids made unique,
and a crash's leftovers never read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hotspots import atomic
from hotspots.ingest import IngestResult, read_events
from hotspots.ingest.event_store import EventStore
from hotspots.ingest.schema import PRECISION_DTYPE
from hotspots.ingest.validate import ValidationReport

TZ = "America/Chicago"


def result(ids: list[str], day: str = "2024-01-03") -> IngestResult:
    n = len(ids)
    events = pd.DataFrame(
        {
            "event_id": pd.array(ids, dtype="string"),
            "occurred_at": pd.to_datetime([f"{day} 10:00"] * n).tz_localize(TZ).as_unit("ns"),
            "time_precision": pd.Categorical(["minute"] * n, dtype=PRECISION_DTYPE),
            "lat": np.full(n, 40.0),
            "lng": np.full(n, -100.0),
            "category": pd.array(["Burglary"] * n, dtype="string"),
            "origin": pd.array([None] * n, dtype="string"),
            "source_row": np.arange(1, n + 1, dtype=np.int64),
        }
    )
    return IngestResult(events, ValidationReport("x", rows_read=n, rows_accepted=n), TZ)


def test_known_ids_come_from_the_base_events_and_earlier_batches(tmp_path: Path) -> None:
    calls = []

    def base() -> pd.Series:
        calls.append(1)
        return pd.Series(["OLD-1", "r7"], dtype="string")

    store = EventStore(tmp_path / "events", base)
    assert store.generation() == () and store.read(TZ) is None and calls == []
    first = store.append(result(["OLD-1", "A", "B"]), {"timezone": TZ})
    assert (first.stored, first.already_stored) == (2, 1)
    second = store.append(result(["B", "C"]), {"timezone": TZ})
    assert (second.stored, second.already_stored) == (1, 1)
    assert calls == [1]  # the base ids are read once
    assert store.append(result(["A", "C"]), {}).batch is None  # nothing new: no batch
    assert len(store.generation()) == 2
    both = store.read("UTC")
    assert both is not None and sorted(both["event_id"]) == ["A", "B", "C"]
    assert str(both["occurred_at"].dt.tz) == "UTC"
    assert both["occurred_at"].iloc[0] == pd.Timestamp("2024-01-03 16:00", tz="UTC")
    # a new store (a restart) knows the batches' ids from disk
    again = EventStore(tmp_path / "events", base)
    assert again.append(result(["C", "D"]), {}).stored == 1


def test_rows_ingest_gave_no_id_get_batch_unique_ids_and_never_match(tmp_path: Path) -> None:
    base = lambda: pd.Series(["r1", "r2"], dtype="string")  # noqa: E731
    store = EventStore(tmp_path / "events", base)
    made = result(["r1", "r2", "X"])  # rows 1 and 2 had no id; "X" had one
    first = store.append(made, {})
    second = store.append(made, {})
    assert (first.stored, second.stored, second.already_stored) == (3, 2, 1)
    ids = [read_events(p)[0]["event_id"].tolist() for p in store.batches()]
    assert ids == [
        [f"{first.batch}:r1", f"{first.batch}:r2", "X"],
        [f"{second.batch}:r1", f"{second.batch}:r2"],
    ]


def test_a_write_that_fails_leaves_no_batch_and_no_known_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = EventStore(tmp_path / "events")

    def crash(src: object, dst: object) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(atomic.os, "replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        store.append(result(["A"]), {})
    monkeypatch.undo()
    assert store.batches() == [] and list((tmp_path / "events").iterdir()) == []
    assert store.append(result(["A"]), {}).stored == 1  # not wrongly "already stored"


def test_batches_are_fsynced_before_append_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real = atomic._fsync
    monkeypatch.setattr(atomic, "_fsync", lambda p: (synced.append(Path(p).name), real(p)))
    store = EventStore(tmp_path / "events")
    done = store.append(result(["A"]), {})
    assert len(synced) == 2
    assert synced[0].startswith(".batch-") and synced[0].endswith(".tmp")  # the file ...
    assert synced[1] == "events"  # ... then the folder that now names it
    assert store.batches()[0].name == f"batch-{done.batch}.parquet"


def test_leftovers_of_a_crash_mid_write_are_never_read(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "events")
    store.append(result(["A"]), {})
    (tmp_path / "events" / ".batch-x.parquet.abc.tmp").write_bytes(b"PAR1 half a file")
    assert len(store.batches()) == 1
    read = store.read(TZ)
    assert read is not None and read["event_id"].tolist() == ["A"]
