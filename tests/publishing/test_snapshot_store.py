"""The snapshot store replays exactly the bytes (and ETag) published at a time."""

from __future__ import annotations

from pathlib import Path

import h3
import numpy as np
import pandas as pd
import pytest

from hotspots.errors import ConfigError, IntegrityError, ModelNotFoundError
from hotspots.features import Panel
from hotspots.forecasters import HistoricalMean
from hotspots.grid import grid_disk_cells
from hotspots.publishing.forecast_document import publish_forecast
from hotspots.publishing.snapshot import Snapshot
from hotspots.publishing.snapshot_store import SnapshotStore, as_of_key, issued_key

AS_OF = "2024-01-29"


@pytest.fixture(scope="module")
def panel() -> Panel:
    centre = h3.str_to_int(h3.latlng_to_cell(51.5, -0.1, 9))
    cells = grid_disk_cells(np.array([centre], dtype=np.uint64), 1)
    counts = np.arange(2 * 4 * 7, dtype=np.int32).reshape(2, 4, 7) % 5
    periods = pd.date_range("2024-01-01", periods=4, freq="W-MON")
    return Panel(counts, cells, periods, ("A", "B"), "W", 9)


def _snap(panel: Panel, issued_at: str, window: int | None = None, horizon: int = 1) -> Snapshot:
    model = HistoricalMean(target=("A",), window=window).fit(panel)
    return publish_forecast(
        model, panel, name="burglary", version="2", as_of=AS_OF, issued_at=issued_at,
        horizon=horizon,
    )  # fmt: skip


def test_keys_sort_as_time() -> None:
    assert as_of_key("2024-01-29") == "2024-01-29"
    assert as_of_key("2024-01-29 12:30") == "2024-01-29T12-30-00"
    assert issued_key("2024-01-29T08:00:00Z") == "20240129T080000000000Z"
    assert issued_key("2024-01-29T09:00:00+01:00") == "20240129T080000000000Z"
    assert issued_key("2024-01-29T08:00:00.5Z") > issued_key("2024-01-29T08:00:00Z")


def test_round_trip_is_byte_exact(panel: Panel, tmp_path: Path) -> None:
    snap = _snap(panel, "2024-01-29T08:00:00Z")
    store = SnapshotStore(tmp_path)
    meta = store.save(snap)
    assert (tmp_path / "burglary" / AS_OF / "20240129T080000000000Z.json.gz").is_file()
    got = store.load("burglary", AS_OF)
    assert got.bytes == snap.json_bytes and got.gzip_bytes == snap.json_gzip
    assert got.etag == snap.etag == meta["etag"]
    assert got.metadata["version"] == "2" and got.metadata["data_through"] == "2024-01-22"
    assert got.metadata["issued_at"] == "2024-01-29T08:00:00Z" and got.metadata["n_cells"] == 7
    assert store.save(snap) == meta  # saving again is a no-op


def test_load_picks_the_latest_at_or_before(panel: Panel, tmp_path: Path) -> None:
    early = _snap(panel, "2024-01-29T08:00:00Z")
    late = _snap(panel, "2024-01-29T12:00:00Z", window=2)
    store = SnapshotStore(tmp_path)
    store.save(late)
    store.save(early)
    assert early.etag != late.etag
    assert store.load("burglary", AS_OF).etag == late.etag
    assert store.load("burglary", AS_OF, issued_before="2024-01-29T10:00:00Z").etag == early.etag
    assert store.load("burglary", AS_OF, issued_before="2024-01-29T12:00:00Z").etag == late.etag
    with pytest.raises(ModelNotFoundError, match="issued at or before 2024-01-29T07:00"):
        store.load("burglary", AS_OF, issued_before="2024-01-29T07:00:00Z")
    with pytest.raises(ModelNotFoundError, match="no snapshot of 'burglary' as of 2024-02-05"):
        store.load("burglary", "2024-02-05")
    listed = store.list("burglary")
    assert [m["issued_at"] for m in listed] == ["2024-01-29T08:00:00Z", "2024-01-29T12:00:00Z"]


def test_later_periods_are_replayed(panel: Panel, tmp_path: Path) -> None:
    snap = _snap(panel, "2024-01-29T08:00:00Z", horizon=2)
    store = SnapshotStore(tmp_path)
    store.save(snap)
    second = store.load("burglary", AS_OF, period=1)
    assert second.bytes == snap.documents[1].bytes and second.etag == snap.documents[1].etag
    with pytest.raises(ConfigError, match="period must be between 0 and 1, got 2"):
        store.load("burglary", AS_OF, period=2)


def test_damage_conflicts_and_bad_names(panel: Panel, tmp_path: Path) -> None:
    snap = _snap(panel, "2024-01-29T08:00:00Z")
    store = SnapshotStore(tmp_path)
    store.save(snap)
    with pytest.raises(ConfigError, match="a different snapshot 'burglary'"):
        store.save(_snap(panel, "2024-01-29T08:00:00Z", window=1))
    path = tmp_path / "burglary" / AS_OF / "20240129T080000000000Z.json.gz"
    path.write_bytes(snap.view(top=2).gzip_bytes)  # valid gzip, other content
    with pytest.raises(IntegrityError, match="does not match its ETag"):
        store.load("burglary", AS_OF)
    path.write_bytes(b"not gzip")
    with pytest.raises(IntegrityError, match="missing or damaged"):
        store.load("burglary", AS_OF)
    with pytest.raises(ConfigError, match=r"snapshot name must be .* got '../x'"):
        store.load("../x", AS_OF)


@pytest.mark.parametrize("text", ["{", "[]", '{"as_of": "2024-01-29"}'])
def test_damaged_metadata_is_an_integrity_error_naming_the_file(
    panel: Panel, tmp_path: Path, text: str
) -> None:
    """Not a JSONDecodeError (or a KeyError later): the report says which file of which
    model, and goes on with the other models."""
    store = SnapshotStore(tmp_path)
    store.save(_snap(panel, "2024-01-29T08:00:00Z"))
    meta = tmp_path / "burglary" / AS_OF / "20240129T080000000000Z.meta.json"
    meta.write_text(text, encoding="utf-8")
    with pytest.raises(IntegrityError, match=r"snapshot metadata .*\.meta\.json is .*damaged"):
        store.list("burglary")
    with pytest.raises(IntegrityError, match=r"20240129T080000000000Z\.meta\.json"):
        store.load("burglary", AS_OF)
