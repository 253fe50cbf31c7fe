"""events_to_panel: exact counts per category, local period and study cell."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import h3
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hotspots.errors import (
    ConfigError,
    DataValidationError,
    InputFileError,
    UnknownCategoryError,
)
from hotspots.features import (
    FREQS,
    TOTAL,
    Panel,
    events_to_panel,
    period_floor,
    period_range,
)
from hotspots.grid import StudyArea, cells_to_strings, points_to_cells
from hotspots.ingest.schema import EVENT_COLUMNS, PRECISION_DTYPE, empty_events

TZ = "America/Chicago"
# (lat, lng) of three points in different res-9 cells, more than two rings apart
A = (41.88, -87.63)
B = (41.95, -87.70)
C = (41.80, -87.60)


def make_events(
    rows: Sequence[tuple[str | pd.Timestamp, tuple[float, float], str]],
    precision: str | Sequence[str] = "minute",
) -> pd.DataFrame:
    """An event table in the ingest schema; naive times are local Chicago wall time."""
    times = pd.DatetimeIndex([pd.Timestamp(t) for t, _, _ in rows])
    times = times.tz_convert(TZ) if times.tz is not None else times.tz_localize(TZ)
    n = len(rows)
    precisions = [precision] * n if isinstance(precision, str) else list(precision)
    frame = pd.DataFrame(
        {
            "event_id": pd.Series([f"e{i}" for i in range(n)], dtype="string"),
            "occurred_at": pd.Series(times.as_unit("ns")),
            "time_precision": pd.Series(pd.Categorical(precisions, dtype=PRECISION_DTYPE)),
            "lat": np.array([p[0] for _, p, _ in rows], dtype=np.float64),
            "lng": np.array([p[1] for _, p, _ in rows], dtype=np.float64),
            "category": pd.Series([c for _, _, c in rows], dtype="string"),
            "origin": pd.Series([None] * n, dtype="string"),
            "source_row": np.arange(1, n + 1, dtype=np.int64),
        }
    )
    return frame[list(EVENT_COLUMNS)]


def cell_of(point: tuple[float, float], res: int = 9) -> int:
    return int(points_to_cells([point[0]], [point[1]], res)[0])


def col(panel: Panel, point: tuple[float, float]) -> int:
    """Panel column of the cell holding ``point``."""
    return int(panel.study_area.index_of([cell_of(point, panel.resolution)])[0])


def test_make_events_follows_the_schema() -> None:
    events = make_events([("2024-01-01 10:00", A, "theft")])
    pd.testing.assert_series_equal(events.dtypes, empty_events(TZ).dtypes)


def test_weekly_counts_are_exact() -> None:
    events = make_events(
        [
            ("2024-01-01 00:00", A, "theft"),  # Monday
            ("2024-01-07 23:59", A, "theft"),  # Sunday: still the week of Monday 1 January
            ("2024-01-08 00:00", A, "battery"),  # next Monday
            ("2024-01-10 12:00", B, "theft"),
            ("2024-01-21 18:30", B, "battery"),  # Sunday of the third week
            ("2024-01-21 19:00", B, "battery"),
        ]
    )
    panel = events_to_panel(events, 9, "W")
    assert panel.categories == ("battery", "theft")
    assert panel.freq == "W" and panel.resolution == 9
    assert list(panel.periods) == list(pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-15"]))
    assert panel.periods.freqstr == "W-MON"
    assert panel.cells.tolist() == sorted([cell_of(A), cell_of(B)])
    assert panel.counts.dtype == np.int32 and panel.counts.shape == (2, 3, 2)
    a, b = col(panel, A), col(panel, B)
    theft, battery = panel.of("theft"), panel.of("battery")
    assert theft[:, a].tolist() == [2, 0, 0] and theft[:, b].tolist() == [0, 1, 0]
    assert battery[:, a].tolist() == [0, 1, 0] and battery[:, b].tolist() == [0, 0, 2]
    np.testing.assert_array_equal(panel.total(), theft + battery)
    np.testing.assert_array_equal(panel.of(TOTAL), panel.total())
    assert (panel.n_outside, panel.n_out_of_range, panel.n_other_category) == (0, 0, 0)


def test_weeks_start_monday() -> None:
    days = pd.date_range("2024-01-01", "2024-01-14 23:00", freq="11h", tz=TZ)  # Mon 1 .. Sun 14
    floors = period_floor(days, "W")
    expected = np.where(days.day <= 7, np.datetime64("2024-01-01"), np.datetime64("2024-01-08"))
    np.testing.assert_array_equal(floors, expected.astype("datetime64[ns]"))
    assert pd.DatetimeIndex(floors).day_of_week.unique().tolist() == [0]
    # before 1970 too (floor division, not truncation)
    assert period_floor(["1969-12-31 12:00"], "W")[0] == np.datetime64("1969-12-29", "ns")
    assert period_floor(["1969-12-31 12:00"], "M")[0] == np.datetime64("1969-12-01", "ns")


def test_period_floor_keeps_local_days_across_dst() -> None:
    # Chicago springs forward on 2024-03-10 and falls back on 2024-11-03
    utc = pd.DatetimeIndex(
        [
            "2024-03-10 06:30",  # 00:30 CST
            "2024-03-11 04:30",  # 23:30 CDT, still 10 March locally (11 March in UTC)
            "2024-11-03 06:30",  # 01:30 CDT, first pass
            "2024-11-03 07:30",  # 01:30 CST, second pass
            "2024-11-04 05:30",  # 23:30 CST on 3 November
        ]
    ).tz_localize("UTC")
    local = utc.tz_convert(TZ)
    expected = pd.to_datetime(["2024-03-10"] * 2 + ["2024-11-03"] * 3).values
    np.testing.assert_array_equal(period_floor(local, "D"), expected)
    panel = events_to_panel(make_events([(t, A, "theft") for t in utc]), freq="D")
    assert panel.periods[0] == pd.Timestamp("2024-03-10")
    row = panel.total()[:, 0]
    assert row[0] == 2 and row[panel.periods.get_loc(pd.Timestamp("2024-11-03"))] == 3
    assert row.sum() == 5


def test_period_floor_day_month_and_nat() -> None:
    times = pd.Series(np.array(["2024-02-29T23:59:59", "NaT", "2024-12-31"], "datetime64[ns]"))
    days = np.array(["2024-02-29", "NaT", "2024-12-31"], "datetime64[ns]")
    months = np.array(["2024-02-01", "NaT", "2024-12-01"], "datetime64[ns]")
    np.testing.assert_array_equal(period_floor(times, "D"), days)
    np.testing.assert_array_equal(period_floor(times, "M"), months)
    weeks = period_floor(times, "W")
    assert weeks.dtype == np.dtype("datetime64[ns]") and np.isnat(weeks[1])
    assert weeks[0] == np.datetime64("2024-02-26") and weeks[2] == np.datetime64("2024-12-30")


def test_period_range() -> None:
    weeks = period_range("2024-01-03", "2024-01-29", "W")  # from a Wednesday
    assert weeks.strftime("%Y-%m-%d").tolist() == [
        "2024-01-01",
        "2024-01-08",
        "2024-01-15",
        "2024-01-22",
    ]
    assert period_range("2024-01-03", "2024-01-29 00:01", "W")[-1] == pd.Timestamp("2024-01-29")
    months = period_range("2024-01-15", "2024-04-01", "M")
    assert months.strftime("%Y-%m-%d").tolist() == ["2024-01-01", "2024-02-01", "2024-03-01"]
    assert months.freqstr == "MS"
    assert len(period_range("2024-01-01", "2025-01-01", "D")) == 366
    assert len(period_range("2024-01-02", "2024-01-01", "D")) == 0
    with pytest.raises(ConfigError, match=r"one of \['D', 'W', 'M'\], got 'Q'"):
        period_range("2024-01-01", "2024-02-01", "Q")


def test_month_panel_takes_month_precision_events() -> None:
    events = make_events(
        [
            ("2024-01-01", A, "burglary"),
            ("2024-01-01", A, "burglary"),
            ("2024-03-01", B, "burglary"),
            ("2024-01-31 23:59", B, "robbery"),
        ],
        precision=["month", "month", "month", "minute"],
    )
    panel = events_to_panel(events, freq="M")
    assert panel.periods.strftime("%Y-%m").tolist() == ["2024-01", "2024-02", "2024-03"]
    a, b = col(panel, A), col(panel, B)
    assert panel.of("burglary")[:, a].tolist() == [2, 0, 0]
    assert panel.of("burglary")[:, b].tolist() == [0, 0, 1]
    assert panel.of("robbery")[:, b].tolist() == [1, 0, 0]


@pytest.mark.parametrize(("freq", "word"), [("W", "weekly"), ("D", "daily")])
def test_month_precision_cannot_go_into_finer_panels(freq: str, word: str) -> None:
    rows = [("2024-01-01", A, "theft")] * 3 + [("2024-01-05 10:00", A, "theft")]
    events = make_events(rows, precision=["month"] * 3 + ["day"])
    with pytest.raises(DataValidationError) as err:
        events_to_panel(events, freq=freq)
    assert str(err.value) == (
        "3 events have month precision: their dates are all the first of a month (3 events "
        "over 1 month, 2024-01), read as months, or months alone (as data.police.uk writes "
        f"them: 2021-03); they cannot go into a {word} panel without inventing days: count "
        "them in monthly periods (--period M; a spec's grid.period)"
    )


def test_day_precision_goes_into_weekly_panels() -> None:
    events = make_events([("2024-01-07", A, "theft")], precision="day")
    assert events_to_panel(events, freq="W").periods[0] == pd.Timestamp("2024-01-01")


def test_zeros_for_study_cells_without_events() -> None:
    events = make_events([("2024-01-02 10:00", A, "theft"), ("2024-01-16 10:00", A, "theft")])
    area = StudyArea.from_points([A[0], B[0], C[0]], [A[1], B[1], C[1]], 9)
    panel = events_to_panel(events, study_area=area)
    assert panel.counts.shape == (1, 3, 3)
    assert panel.total().tolist() == [
        [1 if i == col(panel, A) else 0 for i in range(3)],
        [0, 0, 0],
        [1 if i == col(panel, A) else 0 for i in range(3)],
    ]
    grown = events_to_panel(events, k=1)  # default area: the event cell and its 6 neighbours
    assert len(grown.cells) == 7 and grown.total().sum() == 2
    assert grown.total()[:, col(grown, A)].tolist() == [1, 0, 1]


def test_events_outside_a_given_study_area_are_counted_apart() -> None:
    events = make_events(
        [("2024-01-02", A, "theft"), ("2024-01-02", B, "theft"), ("2024-01-03", C, "arson")]
    )
    area = StudyArea.from_points([A[0]], [A[1]], 9)
    panel = events_to_panel(events, study_area=area)
    assert panel.cells.tolist() == [cell_of(A)]
    assert panel.counts.sum() == 1 and panel.n_outside == 2
    assert panel.of("arson").sum() == 0
    with pytest.raises(ConfigError, match="resolution 8 differs .* 9"):
        events_to_panel(events, 8, study_area=area)
    assert events_to_panel(events, 9, study_area=area).resolution == 9


def test_start_end_and_categories() -> None:
    events = make_events(
        [
            ("2023-12-31 23:59", A, "theft"),  # before start
            ("2024-01-01 00:00", A, "theft"),
            ("2024-01-09 08:00", B, "theft"),
            ("2024-01-10 08:00", B, "arson"),  # not asked for
            ("2024-01-15 00:00", A, "theft"),  # at end: excluded
        ]
    )
    panel = events_to_panel(
        events, start="2024-01-01", end="2024-01-15", categories=["theft", "robbery"]
    )
    assert panel.categories == ("theft", "robbery")
    assert panel.periods.strftime("%m-%d").tolist() == ["01-01", "01-08"]
    assert panel.n_out_of_range == 2 and panel.n_other_category == 1
    assert panel.of("theft").sum() == 2 and panel.of("robbery").sum() == 0
    # the default study area is the cells with any event in the window
    assert panel.cells.tolist() == sorted([cell_of(A), cell_of(B)])
    # a tz-aware bound is read in the events' zone: 06:00 UTC is midnight in Chicago
    utc = events_to_panel(events, start=pd.Timestamp("2024-01-01 06:00", tz="UTC"))
    assert utc.n_out_of_range == 1 and utc.periods[0] == pd.Timestamp("2024-01-01")


def test_to_frame_shapes_and_values() -> None:
    events = make_events(
        [("2024-01-01", A, "theft"), ("2024-01-09", B, "theft"), ("2024-01-09", B, "arson")]
    )
    panel = events_to_panel(events)
    n_cat, n_per, n_cells = panel.counts.shape
    frame = panel.to_frame()
    assert list(frame.columns) == ["cell", "period_start", "category", "count"]
    assert len(frame) == (n_cat + 1) * n_per * n_cells
    assert frame["cell"].dtype == np.uint64
    assert frame["period_start"].dtype == np.dtype("datetime64[ns]")
    assert list(frame["category"].cat.categories) == ["arson", "theft", TOTAL]
    wide = frame.pivot_table(
        index=["category", "period_start"], columns="cell", values="count", observed=True
    )
    for name in [*panel.categories, TOTAL]:
        np.testing.assert_array_equal(wide.loc[name][panel.cells].to_numpy(), panel.of(name))
    bare = panel.to_frame(include_total=False)
    assert len(bare) == n_cat * n_per * n_cells and TOTAL not in set(bare["category"])
    nonzero = panel.to_frame(nonzero_only=True)
    assert (nonzero["count"] > 0).all() and nonzero["count"].sum() == 2 * 3
    b_rows = nonzero[nonzero["cell"] == cell_of(B)]
    assert list(zip(b_rows["category"], b_rows["count"], strict=True)) == [
        ("arson", 1),
        ("theft", 1),
        (TOTAL, 2),
    ]
    assert (b_rows["period_start"] == pd.Timestamp("2024-01-08")).all()


def test_parquet_round_trip_is_exact(tmp_path: Path) -> None:
    events = make_events(
        [("2024-01-01", A, "theft"), ("2024-01-20", A, "arson"), ("2024-02-01", B, "theft")]
    )
    area = StudyArea.from_points([A[0], B[0], C[0]], [A[1], B[1], C[1]], 9, k=1)
    panel = events_to_panel(events, study_area=area, start="2023-12-25", end="2024-02-01")
    path = tmp_path / "panel.parquet"
    path.write_text("an older file to replace")
    panel.to_parquet(path)
    assert [p.name for p in tmp_path.iterdir()] == ["panel.parquet"]  # no temp file left
    back = Panel.from_parquet(path)
    np.testing.assert_array_equal(back.counts, panel.counts)
    assert back.counts.dtype == np.int32 and back.counts.shape == (2, 6, 21)
    np.testing.assert_array_equal(back.cells, panel.cells)
    assert back.cells.dtype == np.uint64
    pd.testing.assert_index_equal(back.periods, panel.periods, exact=True)
    assert back.periods.freq == panel.periods.freq
    assert (back.categories, back.freq, back.resolution) == (("arson", "theft"), "W", 9)
    assert (back.n_outside, back.n_out_of_range, back.n_other_category) == (0, 1, 0)
    stored = pq.read_table(path)
    assert stored.num_rows == 2  # only the non-zero counts are rows
    assert cells_to_strings(back.cells).tolist() == sorted(cells_to_strings(area.cells))


def test_from_parquet_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"missing\.parquet"):
        Panel.from_parquet(tmp_path / "missing.parquet")
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), other)
    with pytest.raises(InputFileError, match=r"other\.parquet is not a hotspots panel"):
        Panel.from_parquet(other)


def test_errors() -> None:
    events = make_events([("2024-01-01", A, "theft")])
    with pytest.raises(ConfigError, match=r"one of \['D', 'W', 'M'\], got 'weekly'"):
        events_to_panel(events, freq="weekly")
    with pytest.raises(DataValidationError, match="empty"):
        events_to_panel(empty_events(TZ))
    with pytest.raises(DataValidationError, match=r"lacks \['lat'\]"):
        events_to_panel(events.drop(columns="lat"))
    bad = events.assign(lat=np.nan)
    with pytest.raises(DataValidationError, match="1 events have a missing or invalid lat/lng"):
        events_to_panel(bad)
    with pytest.raises(ConfigError, match="must be after start"):
        events_to_panel(events, start="2024-02-01", end="2024-01-01")
    with pytest.raises(ConfigError, match="end must be a date or time, got 'soon'"):
        events_to_panel(events, end="soon")
    with pytest.raises(DataValidationError, match="no event between"):
        events_to_panel(events, start="2025-01-01", end="2025-02-01")
    with pytest.raises(ConfigError, match="unique names"):
        events_to_panel(events, categories=["theft", "theft"])
    panel = events_to_panel(events)
    with pytest.raises(UnknownCategoryError, match=r"'arson' is not in the panel.*\['theft'\]"):
        panel.of("arson")
    with pytest.raises(KeyError):
        panel.of("arson")
    with pytest.raises(DataValidationError, match="shape"):
        Panel(panel.counts[:, :0], panel.cells, panel.periods, panel.categories, "W", 9)


# --- property: every event is counted exactly once, where an independent reference puts it

POOL = [A, B, C, (41.881, -87.631), (41.7, -87.7)]
BASE = pd.Timestamp("2024-02-20", tz=TZ)  # the window spans the March DST change


def _reference_period(wall: pd.Timestamp, freq: str) -> pd.Timestamp:
    period = {"D": "D", "W": "W-SUN", "M": "M"}[freq]  # pandas W-SUN weeks run Monday..Sunday
    return wall.to_period(period).start_time


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 60 * 24 * 70),  # minutes after BASE
            st.integers(0, len(POOL) - 1),
            st.sampled_from(["a", "b", "c"]),
        ),
        min_size=1,
        max_size=40,
    ),
    freq=st.sampled_from(FREQS),
    start_day=st.none() | st.integers(0, 30),
    span=st.none() | st.integers(1, 60),
    categories=st.none() | st.lists(st.sampled_from(["a", "b", "x"]), min_size=1, unique=True),
    area_points=st.none() | st.sets(st.integers(0, len(POOL) - 1), min_size=1),
)
def test_panel_counts_every_event_once(
    rows: list[tuple[int, int, str]],
    freq: str,
    start_day: int | None,
    span: int | None,
    categories: list[str] | None,
    area_points: set[int] | None,
) -> None:
    events = make_events([(BASE + pd.Timedelta(minutes=m), POOL[p], c) for m, p, c in rows])
    first = pd.Timestamp("2024-02-20") + pd.Timedelta(days=start_day or 0)
    start = None if start_day is None else first
    end = None if span is None else first + pd.Timedelta(days=span)
    area = None
    if area_points is not None:
        pts = [POOL[i] for i in sorted(area_points)]
        area = StudyArea.from_points([p[0] for p in pts], [p[1] for p in pts], 9)
    try:
        panel = events_to_panel(
            events, freq=freq, study_area=area, start=start, end=end, categories=categories
        )
    except DataValidationError as err:  # only when no event is left to define the area
        assert area is None and "no event between" in str(err)
        event("no event in the window")
        return
    except ConfigError as err:  # only when a default bound falls on the wrong side of a given one
        assert (start is None) != (end is None) and "end must be after start" in str(err)
        event("empty window")
        return
    event(f"outside={panel.n_outside > 0} late={panel.n_out_of_range > 0}")

    # an independent reference, one event at a time with plain h3 and pandas periods
    wall = [t.tz_localize(None) for t in events["occurred_at"]]
    cats = list(events["category"])
    cells = [h3.latlng_to_cell(lat, lng, 9) for lat, lng in events[["lat", "lng"]].to_numpy()]
    in_window = [(start is None or w >= start) and (end is None or w < end) for w in wall]
    wanted = categories if categories is not None else sorted(set(cats))
    if area is None:
        study = {c for c, ok in zip(cells, in_window, strict=True) if ok}
    else:
        study = set(cells_to_strings(area.cells))
    expected: Counter[tuple[str, pd.Timestamp, str]] = Counter()
    outside = other = 0
    for w, cat, cell, ok in zip(wall, cats, cells, in_window, strict=True):
        if not ok:
            continue
        if cat not in wanted:
            other += 1
        elif cell not in study:
            outside += 1
        else:
            expected[(cat, _reference_period(w, freq), cell)] += 1

    assert panel.categories == tuple(wanted)
    assert set(cells_to_strings(panel.cells)) == study
    assert (panel.n_out_of_range, panel.n_other_category) == (in_window.count(False), other)
    assert panel.n_outside == outside
    assert panel.counts.sum() + outside + other + in_window.count(False) == len(events)
    got = panel.to_frame(include_total=False, nonzero_only=True)
    keys = zip(got["category"], got["period_start"], cells_to_strings(got["cell"]), strict=True)
    assert Counter(dict(zip(keys, got["count"].astype(int), strict=True))) == expected
    for i, name in enumerate(panel.categories):
        assert panel.counts[i].sum() == sum(n for (c, _, _), n in expected.items() if c == name)
