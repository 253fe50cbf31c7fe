"""Publishing forecasts: ranks, Poisson intervals, drivers, budgets, filters, bytes, ETags."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon, box

from hotspots.errors import ConfigError
from hotspots.features import Panel
from hotspots.forecasters import HistoricalMean, LightGBMForecaster, origin_of
from hotspots.forecasters.explain import describe_feature, target_label
from hotspots.grid import cells_area_km2, cells_to_latlng, grid_disk_cells
from hotspots.publishing import snapshot as snapshot_module
from hotspots.publishing.forecast_document import (
    areas_from_boundary_file,
    poisson_interval,
    publish_forecast,
)

AS_OF = "2024-01-29"
ISSUED = "2024-01-29T08:00:00Z"

# weekly counts of category "A" in the seven cells (sorted ids), four weeks
A_COUNTS = np.array(
    [
        [2, 0, 4, 0, 1, 0, 0],
        [2, 1, 0, 0, 1, 0, 2],
        [2, 0, 4, 0, 1, 0, 0],
        [2, 1, 0, 0, 1, 0, 0],
    ],
    dtype=np.int32,
)
# means 2, 0.5, 2, 0, 1, 0, 0.5 -> ranks by mean then cell id: c0, c2, c4, c1, c6, c3, c5
RANKED_POSITIONS = [0, 2, 4, 1, 6, 3, 5]


@pytest.fixture(scope="module")
def tiny_panel() -> Panel:
    centre = h3.str_to_int(h3.latlng_to_cell(51.5, -0.1, 9))
    cells = grid_disk_cells(np.array([centre], dtype=np.uint64), 1)
    b_counts = np.ones_like(A_COUNTS)
    return Panel(
        counts=np.stack([A_COUNTS, b_counts]),
        cells=cells,
        periods=pd.date_range("2024-01-01", periods=4, freq="W-MON"),
        categories=("A", "B"),
        freq="W",
        resolution=9,
    )


@pytest.fixture(scope="module")
def tiny_model(tiny_panel: Panel) -> HistoricalMean:
    return HistoricalMean(target=("A",)).fit(tiny_panel)


def _publish(model, panel, **kw):  # type: ignore[no-untyped-def]
    opts = {"name": "burglary", "version": "1", "as_of": AS_OF, "issued_at": ISSUED, **kw}
    return publish_forecast(model, panel, **opts)


@pytest.fixture(scope="module")
def tiny(tiny_model: HistoricalMean, tiny_panel: Panel):  # type: ignore[no-untyped-def]
    areas = {"north": np.array([tiny_panel.cells[4], tiny_panel.cells[6], np.uint64(1)])}
    return _publish(tiny_model, tiny_panel, areas=areas, min_events_shown=5)


def test_poisson_interval_of_known_means() -> None:
    # Poisson(2): P(0)=.135 >= .1, P(<=3)=.857 < .9 <= P(<=4)=.947; Poisson(5): P(<=1)=.040,
    # P(<=2)=.125 -> low 2; P(<=7)=.867, P(<=8)=.932 -> high 8
    low, high = poisson_interval([0.0, 0.5, 1.0, 2.0, 5.0])
    assert low.tolist() == [0, 0, 0, 0, 2]
    assert high.tolist() == [0, 1, 2, 4, 8]


def test_ranks_ties_intervals_and_relative_risk(tiny, tiny_panel: Panel) -> None:  # type: ignore[no-untyped-def]
    table = tiny.tables[0]
    assert table.cell.tolist() == tiny_panel.cells[RANKED_POSITIONS].tolist()
    assert table.rank.tolist() == [1, 2, 3, 4, 5, 6, 7]
    assert table.expected_count.tolist() == [2.0, 2.0, 1.0, 0.5, 0.5, 0.0, 0.0]
    assert table.low.tolist() == [0] * 7
    assert table.high.tolist() == [4, 4, 2, 1, 1, 0, 0]
    np.testing.assert_allclose(table.relative_risk, np.array([2, 2, 1, 0.5, 0.5, 0, 0]) * 7 / 6)
    assert table.relative_risk.mean() == pytest.approx(1.0)


def test_document_shape_and_metadata(tiny, tiny_panel: Panel) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(tiny.json_bytes)
    assert list(doc) == [
        "issued_at", "model", "data_through", "as_of", "period", "target", "budget", "hotspots"
    ]  # fmt: skip
    assert doc["issued_at"] == "2024-01-29T08:00:00Z"
    assert doc["model"] == {"name": "burglary", "version": "1"}
    assert doc["data_through"] == "2024-01-22"
    assert (doc["as_of"], doc["period"]) == (AS_OF, {"start": AS_OF, "end": "2024-02-05"})
    assert doc["target"] == ["A"]
    assert doc["budget"]["cells"] == 7 and doc["budget"]["coverage"] == 1.0
    first = doc["hotspots"][0]
    lat, lng = cells_to_latlng(tiny_panel.cells[:1])
    assert first["cell"] == format(int(tiny_panel.cells[0]), "x")
    assert first["interval"] == {"low": 0, "high": 4, "level": 0.8}
    assert first["centroid"] == {"lat": round(lat[0], 6), "lng": round(lng[0], 6)}
    assert first["drivers"] == ["high average of A over the whole history (historical mean)"]
    assert doc["hotspots"][-1]["drivers"][0].startswith("low average of A")
    assert "boundary" not in first
    assert tiny.n_cells == 7 and tiny.target == ("A",)


def test_suppression_below_the_minimum(tiny) -> None:  # type: ignore[no-untyped-def]
    # history events: c0 8, c2 8, c4 4, c1 2, c6 2, c3 0, c5 0 (in rank order); minimum 5
    table = tiny.tables[0]
    assert table.events.tolist() == [8, 8, 4, 2, 2, 0, 0]
    assert table.suppressed.tolist() == [False, False, True, True, True, True, True]
    flags = [h["suppressed"] for h in json.loads(tiny.json_bytes)["hotspots"]]
    assert flags == table.suppressed.tolist()
    assert table.rank.tolist() == [1, 2, 3, 4, 5, 6, 7]  # suppressed cells are still ranked


def test_centroid_inside_closed_lng_lat_ring(tiny) -> None:  # type: ignore[no-untyped-def]
    geo = json.loads(tiny.geojson_bytes)
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == 7
    plain = json.loads(tiny.json_bytes)["hotspots"]
    for feature, item in zip(geo["features"], plain, strict=True):
        assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Polygon"
        ring = feature["geometry"]["coordinates"][0]
        assert len(ring) == 7 and ring[0] == ring[-1]
        c = item["centroid"]
        assert all(abs(x - c["lng"]) < 0.01 and abs(y - c["lat"]) < 0.01 for x, y in ring)
        assert Polygon(ring).contains(Point(c["lng"], c["lat"]))  # shapely: x=lng, y=lat
        assert feature["properties"] == _flat(item)


def _flat(item: dict) -> dict:  # type: ignore[type-arg]
    """The GeoJSON properties of a JSON hotspot: the same values, flat."""
    drivers = item["drivers"] + [None] * (3 - len(item["drivers"]))
    return {
        "rank": item["rank"],
        "cell": item["cell"],
        "expected_count": item["expected_count"],
        "interval_low": item["interval"]["low"],
        "interval_high": item["interval"]["high"],
        "interval_level": item["interval"]["level"],
        "relative_risk": item["relative_risk"],
        "centroid_lat": item["centroid"]["lat"],
        "centroid_lng": item["centroid"]["lng"],
        "driver_1": drivers[0],
        "driver_2": drivers[1],
        "driver_3": drivers[2],
        "suppressed": item["suppressed"],
    }


def test_geojson_properties_are_flat_typed_columns_in_a_geopackage(  # type: ignore[no-untyped-def]
    tiny, tmp_path: Path
) -> None:
    """QGIS styles a column: no property may be an object or a list (a GeoPackage would
    keep its Python repr as text)."""
    geo = json.loads(tiny.geojson_bytes)
    for feature in geo["features"]:
        assert not any(isinstance(v, dict | list) for v in feature["properties"].values())
    path = tmp_path / "plan.geojson"
    path.write_bytes(tiny.geojson_bytes)
    frame = gpd.read_file(path)
    frame.to_file(tmp_path / "plan.gpkg", driver="GPKG")
    back = gpd.read_file(tmp_path / "plan.gpkg")
    assert list(back.columns) == [*_flat(json.loads(tiny.json_bytes)["hotspots"][0]), "geometry"]
    assert str(back["interval_low"].dtype).startswith("int")
    assert back["centroid_lat"].dtype.kind == "f" and back["suppressed"].dtype == bool
    plain = json.loads(tiny.json_bytes)["hotspots"]
    assert back["driver_1"].tolist() == [h["drivers"][0] if h["drivers"] else None for h in plain]


def test_budgets_turn_into_cells(tiny, tiny_panel: Panel) -> None:  # type: ignore[no-untyped-def]
    def ranks(**kw):  # type: ignore[no-untyped-def]
        return [h["rank"] for h in json.loads(tiny.view(**kw).bytes)["hotspots"]]

    assert ranks(top=3) == [1, 2, 3]
    assert ranks() == [1, 2, 3, 4, 5, 6, 7]  # default top=100, capped at the 7 cells
    assert ranks(coverage=0.5) == [1, 2, 3, 4]  # 3.5 cells rounds up
    assert ranks(coverage=0.2) == [1]  # 1.4 rounds down
    areas = cells_area_km2(tiny_panel.cells[RANKED_POSITIONS])
    assert ranks(area_km2=float(areas[:2].sum()) + 1e-9) == [1, 2]
    assert ranks(area_km2=float(areas[:2].sum()) * 0.99) == [1]
    assert ranks(area_km2=1e-6) == [1]  # at least one cell
    budget = json.loads(tiny.view(top=2).bytes)["budget"]
    assert budget["cells"] == 2 and budget["coverage"] == round(2 / 7, 6)
    assert budget["area_km2"] == pytest.approx(float(areas[:2].sum()), abs=1e-4)


def test_bad_views_raise_config_errors(tiny) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=r"top must be between 1 and 7, got 0"):
        tiny.view(top=0)
    with pytest.raises(ConfigError, match=r"top must be between 1 and 7, got 8"):
        tiny.view(top=8)
    with pytest.raises(ConfigError, match="exactly one of top, area_km2 or coverage"):
        tiny.view(top=3, coverage=0.1)
    with pytest.raises(ConfigError, match=r"coverage must be in \(0, 1\], got 1.5"):
        tiny.view(coverage=1.5)
    with pytest.raises(ConfigError, match=r"within 'Nowhere' is not a named area; areas: 'north'"):
        tiny.view(within="Nowhere")
    with pytest.raises(ConfigError, match="fmt must be one of"):
        tiny.view(fmt="csv")
    with pytest.raises(ConfigError, match="bbox must be"):
        tiny.view(bbox=(52, 0, 51, 1))


def test_bbox_and_within_filter_before_the_top(tiny, tiny_panel: Panel) -> None:  # type: ignore[no-untyped-def]
    lat, lng = cells_to_latlng(tiny_panel.cells[2:3])
    around = (lat[0] - 1e-4, lng[0] - 1e-4, lat[0] + 1e-4, lng[0] + 1e-4)
    doc = json.loads(tiny.view(top=5, bbox=around).bytes)
    assert [h["rank"] for h in doc["hotspots"]] == [2]  # global rank kept
    assert doc["budget"]["cells"] == 1
    # "north" holds c4 (rank 3) and c6 (rank 5); the cell 1 is not a study cell
    assert [h["rank"] for h in json.loads(tiny.view(within="north").bytes)["hotspots"]] == [3, 5]
    assert [h["rank"] for h in json.loads(tiny.view(top=1, within="north").bytes)["hotspots"]] == [
        3
    ]


def test_boolean_mask_area_and_boundary_option(tiny_model, tiny_panel: Panel) -> None:  # type: ignore[no-untyped-def]
    mask = np.zeros(7, dtype=bool)
    mask[[1, 3]] = True  # ranks 4 and 6
    snap = _publish(tiny_model, tiny_panel, areas={"south": mask})
    doc = json.loads(snap.view(within="south", boundary=True).bytes)
    assert [h["rank"] for h in doc["hotspots"]] == [4, 6]
    ring = doc["hotspots"][0]["boundary"]["coordinates"][0]
    assert ring[0] == ring[-1] and doc["hotspots"][0]["boundary"]["type"] == "Polygon"
    with pytest.raises(ConfigError, match="area 'bad' is a mask of 3 values; the model has 7"):
        _publish(tiny_model, tiny_panel, areas={"bad": np.ones(3, dtype=bool)})


def test_etag_gzip_and_cache(tiny, tiny_model, tiny_panel: Panel) -> None:  # type: ignore[no-untyped-def]
    assert tiny.etag == '"' + hashlib.sha256(tiny.json_bytes).hexdigest() + '"'
    assert gzip.decompress(tiny.json_gzip) == tiny.json_bytes
    assert gzip.decompress(tiny.geojson_gzip) == tiny.geojson_bytes
    view = tiny.view(top=3, fmt="geojson")
    assert gzip.decompress(view.gzip_bytes) == view.bytes
    assert view.etag == '"' + hashlib.sha256(view.bytes).hexdigest() + '"'
    assert tiny.view(top=3, fmt="geojson") is view
    assert tiny.view(top=3).etag not in (view.etag, tiny.etag)
    again = _publish(tiny_model, tiny_panel, min_events_shown=5)  # areas are not content
    assert again.etag == tiny.etag and again.json_gzip == tiny.json_gzip
    shown = _publish(tiny_model, tiny_panel)  # the suppressed flags differ
    assert shown.etag != tiny.etag
    later = _publish(tiny_model, tiny_panel, issued_at="2024-01-29T09:00:00Z")
    assert later.etag != tiny.etag
    other = _publish(HistoricalMean(target=("A",), window=1).fit(tiny_panel), tiny_panel)
    assert other.etag != tiny.etag


def test_view_cache_is_a_bounded_lru(tiny_model, tiny_panel, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(snapshot_module, "CACHE_SIZE", 2)
    snap = _publish(tiny_model, tiny_panel)
    first = snap.view(top=1)
    assert snap.view(top=1) is first
    snap.view(top=2)
    snap.view(top=3)  # evicts top=1, the least recently used
    rebuilt = snap.view(top=1)
    assert rebuilt is not first and rebuilt == first


def test_horizon_two_periods(tiny_model, tiny_panel: Panel) -> None:  # type: ignore[no-untyped-def]
    snap = _publish(tiny_model, tiny_panel, horizon=2)
    assert [s.date().isoformat() for s, _ in snap.periods] == ["2024-01-29", "2024-02-05"]
    second = json.loads(snap.view(top=2, period=1).bytes)
    assert second["period"] == {"start": "2024-02-05", "end": "2024-02-12"}
    assert json.loads(snap.documents[1].bytes)["period"]["start"] == "2024-02-05"
    with pytest.raises(ConfigError, match="period must be between 0 and 1, got 2"):
        snap.view(period=2)


def test_areas_from_boundary_file(tiny_panel: Panel, tmp_path: Path) -> None:
    import geopandas as gpd

    lat, lng = cells_to_latlng(tiny_panel.cells)
    d = 1e-4

    def around(i: int):  # type: ignore[no-untyped-def]
        return box(lng[i] - d, lat[i] - d, lng[i] + d, lat[i] + d)  # x=lng, y=lat

    frame = gpd.GeoDataFrame(
        {"ward": ["X", "Y", "X"]}, geometry=[around(0), around(4), around(6)], crs="EPSG:4326"
    )
    path = tmp_path / "wards.geojson"
    frame.to_file(path, driver="GeoJSON")
    areas = areas_from_boundary_file(path, "ward", tiny_panel.cells, 9)
    assert sorted(areas) == ["X", "Y"]
    assert np.flatnonzero(areas["X"]).tolist() == [0, 6]
    assert np.flatnonzero(areas["Y"]).tolist() == [4]
    with pytest.raises(ConfigError, match=r"field 'name' not found .*\['ward'\]"):
        areas_from_boundary_file(path, "name", tiny_panel.cells, 9)


# -- LightGBM drivers on the synthetic year ---------------------------------------------------
COUNT_TEXT = re.compile(r"^\d+(\.\d)? |\(\d[\d.]* per ")


@pytest.fixture(scope="module")
def lgbm(year_panel: Panel) -> LightGBMForecaster:
    target = (year_panel.categories[0],)
    return LightGBMForecaster(target=target, n_estimators=20).fit(year_panel, until="2023-11-27")


def test_drivers_follow_the_largest_positive_contributions(lgbm, year_panel: Panel) -> None:  # type: ignore[no-untyped-def]
    snap = publish_forecast(lgbm, year_panel, name="m", version="1", as_of="2023-11-27")
    X, contrib = lgbm.contributions(year_panel, "2023-11-27", 1)
    # the matrix is the one predict scored
    predicted = lgbm.predict(year_panel, "2023-11-27")["expected_count"].to_numpy()
    np.testing.assert_allclose(lgbm.booster_.predict(X), predicted, rtol=1e-9)
    table = snap.tables[0]
    row = int(table.order[0])
    chosen = [j for j in table.driver_features[0].tolist() if j >= 0]
    assert chosen and chosen[0] == int(np.argmax(contrib[row]))
    values = contrib[row, chosen]
    assert (values > 0).all() and (np.diff(values) <= 0).all()
    label = target_label(lgbm.target_, lgbm.categories_)
    name = lgbm.feature_names_[chosen[0]]
    history = origin_of(year_panel.periods, "W", "2023-11-27", 1).history_end  # 47 weeks
    _, sentence = describe_feature(
        name, target=label, unit="week", categories=lgbm.categories_, history=history
    )
    assert table.drivers[0][0] == sentence(float(X[row, chosen[0]]), False)
    for texts in table.drivers[:10]:
        assert texts and all(isinstance(t, str) and t for t in texts)
        assert any(label in t for t in texts)


def test_suppressed_lgbm_drivers_carry_no_counts(lgbm, year_panel: Panel) -> None:  # type: ignore[no-untyped-def]
    shown = publish_forecast(lgbm, year_panel, name="m", version="1", as_of="2023-11-27")
    hidden = publish_forecast(
        lgbm, year_panel, name="m", version="1", as_of="2023-11-27", min_events_shown=10**6
    )
    assert hidden.tables[0].suppressed.all() and not shown.tables[0].suppressed.any()
    shown_texts = [t for row in shown.tables[0].drivers for t in row]
    hidden_texts = [t for row in hidden.tables[0].drivers for t in row]
    assert any(COUNT_TEXT.search(t) for t in shown_texts)
    assert not any(COUNT_TEXT.search(t) for t in hidden_texts)
    assert hidden.tables[0].cell.tolist() == shown.tables[0].cell.tolist()


def test_common_views_are_prebuilt(lgbm, year_panel: Panel) -> None:  # type: ignore[no-untyped-def]
    snap = publish_forecast(lgbm, year_panel, name="m", version="1", as_of="2023-11-27")
    assert snap.n_cells > 250
    cached = {key[0] for key in snap._cache}
    assert cached == {10, 25, 50, 100, 250}
    assert len(json.loads(snap.view(top=25).bytes)["hotspots"]) == 25


def test_publishing_15000_cells_ranks_every_cell() -> None:
    """A city-sized document holds every cell once, ranked by expected count (its time is
    measured by benchmarks/train_speed.py, target <= 10 s, not here)."""
    centre = h3.str_to_int(h3.latlng_to_cell(51.5, -0.1, 9))
    cells = grid_disk_cells(np.array([centre], dtype=np.uint64), 71)
    assert cells.size >= 15_000
    rng = np.random.default_rng(0)
    panel = Panel(
        counts=rng.poisson(0.3, size=(1, 8, cells.size)).astype(np.int32),
        cells=cells,
        periods=pd.date_range("2024-01-01", periods=8, freq="W-MON"),
        categories=("A",),
        freq="W",
        resolution=9,
    )
    model = HistoricalMean().fit(panel)
    snap = publish_forecast(model, panel, name="m", version="1", as_of="2024-02-26")
    spots = json.loads(snap.json_bytes)["hotspots"]
    assert len(spots) == cells.size
    assert len({s["cell"] for s in spots}) == cells.size
    expected = [s["expected_count"] for s in spots]
    assert expected == sorted(expected, reverse=True)
    assert expected[0] == pytest.approx(panel.counts[0, :, :].mean(axis=0).max(), rel=1e-6)
