"""The feedback-loop monitor's figures on hand-made cases, and its flags."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hotspots.errors import DataValidationError, InputFileError
from hotspots.feedback.monitor import dosage_to_array, monitor, ranked_to_flags, top_share_flags
from hotspots.feedback.monitor_groups import GroupLayer, read_area_layer
from hotspots.feedback.monitor_reference import (
    NO_CONCENTRATION_REFERENCE,
    Reference,
    Thresholds,
    reference_from_frame,
    why_no_reference,
)
from hotspots.grid import grid_disk_cells, points_to_cells

CENTRE = int(points_to_cells([40.0], [-100.0], 9)[0])
CELLS = np.sort(grid_disk_cells([CENTRE], 1))  # 7 cells of near-equal area
PERIODS = pd.date_range("2024-01-01", periods=4, freq="W-MON")
TH = Thresholds(window=2, repeat=2, coverage=1 / 7, pool=2, min_events=1, min_lookback=1)


def _flags(*positions: int) -> np.ndarray:
    out = np.zeros((len(positions), CELLS.size), dtype=bool)
    out[np.arange(len(positions)), positions] = True
    return out


def test_figures_by_hand() -> None:
    flagged = _flags(0, 0, 1, 1)
    recorded = np.zeros((4, 7))
    recorded[:, 0] = [2, 4, 3, 0]
    recorded[:, 1] = [0, 0, 1, 6]
    recorded[:, 2] = [2, 4, 6, 6]
    m = monitor(CELLS, PERIODS, flagged, recorded, thresholds=TH)
    p = m.periods
    assert p["events"].tolist() == [4, 8, 10, 12]
    # flagged in both of the last 2 periods: period 2 (cell 0 twice), period 4 (cell 1 twice)
    assert p["repeat_share"].iloc[1:].tolist() == [1.0, 0.0, 1.0]
    # prior cells: flagged in the 2 periods before; period 3 -> {0}, period 4 -> {0, 1}
    assert p["prior_event_share"].iloc[1:].tolist() == pytest.approx([0.5, 0.3, 0.5])
    area = p["prior_area_share"].iloc[1:].to_numpy()
    assert area == pytest.approx([1 / 7, 1 / 7, 2 / 7], rel=0.02)  # H3 areas differ a little
    assert p["concentration"].iloc[2] == pytest.approx(0.3 / area[1])
    # pooled over periods 3 and 4: (3 + 6) / (10 + 12) events over the mean prior area
    assert p["pooled_concentration"].iloc[3] == pytest.approx((9 / 22) / area[1:].mean())
    assert p["turnover"].tolist() == [1.0, 1.0, 2.0, 1.0]
    dist = m.distribution.set_index("times_flagged")["cells"].to_dict()
    assert dist == {0: 6, 1: 0, 2: 1}


def test_concentration_flag_against_the_reference() -> None:
    flagged = _flags(0, 0, 0, 0)
    recorded = np.ones((4, 7)) * 5
    recorded[:, 0] = [5, 5, 20, 20]
    # 1.0 counting back P = 2 periods and counting back 1 (01-15's window: 01-08 has 1 before)
    ref = Reference(1.0, 1.0, "by hand", by_lookback=((1, 1.0, 0, 0),))
    m = monitor(CELLS, PERIODS, flagged, recorded, reference=ref, thresholds=TH)
    flags = [(f["figure"], f["period"]) for f in m.flags]
    # pooled over 01-08 (5 of 35 events, 1x) and 01-15 (20 of 50): 2.06x the area share
    assert flags == [("concentration", "2024-01-15"), ("concentration", "2024-01-22")]
    assert m.flagged
    # without a reference at look-back 1, 01-15 (whose 01-08 counts back 1 period) is not
    # compared with one measured at 2
    full_only = monitor(
        CELLS, PERIODS, flagged, recorded, reference=Reference(1.0, 1.0, "by hand"), thresholds=TH
    )
    assert [f["period"] for f in full_only.flags] == ["2024-01-22"]
    quiet = monitor(CELLS, PERIODS, flagged, np.ones((4, 7)) * 5, reference=ref, thresholds=TH)
    assert not [f for f in quiet.flags if f["figure"] == "concentration"]


def test_a_reference_without_a_repeat_share_keeps_the_floor_and_says_so() -> None:
    # a backtest shorter than P measured no repeat share: the bar is the floor alone (90%),
    # and the message says the reference was not measured (it said 0%)
    # when the series has no full window of its own yet (3 periods, P = 2, pool = 2)
    ref = Reference(concentration=1.0, repeat_share=None, source="backtest")
    recorded = np.ones((3, 7)) * 5
    m = monitor(CELLS, PERIODS[:3], _flags(0, 0, 0), recorded, reference=ref, thresholds=TH)
    repeat = [f for f in m.flags if f["figure"] == "repeat"]
    assert [f["period"] for f in repeat] == ["2024-01-15"]  # 100% pooled
    assert {f["threshold"] for f in repeat} == {0.9}
    assert repeat[0]["message"].endswith("the reference was not measured")
    # once it has one, its repeat share is the reference's (100%: a stable map, no flag)
    four = np.ones((4, 7)) * 5
    m = monitor(CELLS, PERIODS, _flags(0, 0, 0, 0), four, reference=ref, thresholds=TH)
    assert [f for f in m.flags if f["figure"] == "repeat"] == []
    assert m.notes[0] == (
        "the reference (backtest) has no repeat share: compared with the first full window "
        "(period 2024-01-22)"
    )


def test_too_few_events_raise_no_flag() -> None:
    recorded = np.zeros((4, 7))
    recorded[2:, 0] = 1
    th = Thresholds(window=2, repeat=2, coverage=1 / 7, pool=2, min_events=30)
    ref = Reference(concentration=1.0, repeat_share=1.0, source="by hand")
    m = monitor(CELLS, PERIODS, _flags(0, 0, 0, 0), recorded, reference=ref, thresholds=th)
    assert [f for f in m.flags if f["figure"] == "concentration"] == []


def test_a_reference_with_no_concentration_raises_no_concentration_flag() -> None:
    # a small force's backtest: one cell flagged a fold and no event in it, so the reference
    # concentration is 0; 1.15 x 0 flagged every period and the message divided by 0
    recorded = np.ones((4, 7)) * 5
    recorded[:, 0] = [5, 5, 20, 20]
    ref = Reference(concentration=0.0, repeat_share=0.0, source="backtest")
    m = monitor(CELLS, PERIODS, _flags(0, 0, 0, 0), recorded, reference=ref, thresholds=TH)
    assert [f for f in m.flags if f["figure"] == "concentration"] == []
    assert m.notes == [NO_CONCENTRATION_REFERENCE]
    assert m.periods["pooled_concentration"].iloc[-1] == pytest.approx(2.8, rel=0.02)  # 40 of 100


def test_dosage_marks_patrolled_cells_as_prior() -> None:
    dosage = pd.DataFrame({"period_start": [PERIODS[1]], "cell": [CELLS[3]], "minutes": [90.0]})
    dose = dosage_to_array(dosage, PERIODS, CELLS)
    assert dose is not None and dose.sum() == 90.0 and dose[1, 3] == 90.0
    recorded = np.ones((4, 7))
    m = monitor(CELLS, PERIODS, _flags(0, 0, 0, 0), recorded, dosage=dose, thresholds=TH)
    # period 3: prior = flagged cell 0 plus patrolled cell 3
    assert m.periods["prior_event_share"].iloc[2] == pytest.approx(2 / 7)
    assert m.periods["patrol_minutes"].tolist() == [0.0, 90.0, 0.0, 0.0]
    assert m.periods["dosage_in_flagged_share"].iloc[1] == 0.0
    with pytest.raises(DataValidationError, match="minutes"):
        dosage_to_array(dosage.drop(columns="minutes"), PERIODS, CELLS)


def test_groups_against_population_and_crime() -> None:
    layer = GroupLayer(
        code=np.array([0, 0, 0, 1, 1, 1, -1]),
        names=("north", "south"),
        population=np.array([100.0, 300.0]),
    )
    recorded = np.zeros((4, 7))
    recorded[:, 0] = 1  # north: 4 events, south: 4 events
    recorded[:, 3] = 1
    m = monitor(CELLS, PERIODS, _flags(0, 0, 0, 0), recorded, groups=layer, thresholds=TH)
    g = m.groups.set_index("group")
    assert g.loc["north", "population_share"] == 0.25
    assert g.loc["north", "crime_share"] == 0.5
    assert g.loc["north", "flagged_share"] == 1.0
    assert g.loc["north", "flagged_vs_crime"] == 2.0
    assert g.loc["north", "flagged_vs_population"] == 4.0
    [flag] = m.flags
    assert flag["figure"] == "group" and flag["period"] == "2024-01-22"
    # the shares are over the window (P = 2 periods), not the last period alone: it says so
    assert flag["message"] == (
        "group 'north' holds 100% of the area flagged from 2024-01-15 to 2024-01-22 (2 flagged "
        "cell-periods) but 50% of the crime reported then (2 of 4 events) (2.0x)"
    )
    # the bases of the shares: cell 0 flagged in both periods of the window, 2 + 2 events
    assert g.loc["north", "flagged_cell_periods"] == 2 and g.loc["south", "events"] == 2
    assert "north" in m.flags[0]["message"]


def test_flags_from_forecasts_and_rankings_agree() -> None:
    mu = np.arange(7, dtype=float)[None, :]
    by_forecast = top_share_flags(mu, CELLS, 2 / 7)
    by_rank = ranked_to_flags([CELLS[::-1]], CELLS, 2 / 7)
    assert by_forecast.tolist() == by_rank.tolist() == [[False] * 5 + [True] * 2]


def test_shapes_are_checked() -> None:
    with pytest.raises(DataValidationError, match="periods, cells"):
        monitor(CELLS, PERIODS, _flags(0, 0, 0, 0), np.zeros((3, 7)))


def test_to_dict_is_json() -> None:
    import json

    m = monitor(CELLS, PERIODS, _flags(0, 0, 1, 1), np.ones((4, 7)), thresholds=TH)
    data = json.loads(json.dumps(m.to_dict(), allow_nan=False))
    assert data["thresholds"]["window"] == 2
    assert len(data["periods"]) == 4


def test_a_period_served_nothing_has_no_repeat_share_and_is_no_reference() -> None:
    """Periods the model served nothing for (the service was down, the model not loaded)
    flag no cell: their repeat share (of a flagged area of zero) was 0.0, a figure of
    nothing, and the series' own reference was taken from a window of them (0% repeat,
    against which later periods were judged). Now the share is null and the reference is
    the first full window whose pooled figures exist."""
    import json

    periods = pd.date_range("2024-01-01", periods=6, freq="W-MON")
    flagged = np.zeros((6, CELLS.size), dtype=bool)
    flagged[[0, 1, 4, 5], 0] = True  # nothing served for periods 2 and 3
    m = monitor(CELLS, periods, flagged, np.ones((6, 7)), thresholds=TH)
    p = m.periods
    assert p["flagged_cells"].tolist() == [1, 1, 0, 0, 1, 1]
    assert p["repeat_share"].isna().tolist() == [True, False, True, True, False, False]
    assert p["repeat_share"].iloc[[1, 4, 5]].tolist() == [1.0, 0.0, 1.0]
    assert m.reference is not None
    assert m.reference.source == "the first full window (period 2024-02-05)"
    assert m.reference.repeat_share == pytest.approx(0.5)  # periods 5 and 6: 0 and 1
    assert m.reference.concentration == pytest.approx(1.0, rel=0.02)
    data = json.loads(json.dumps(m.to_dict(), allow_nan=False))
    assert [row["repeat_share"] for row in data["periods"]][2:4] == [None, None]


def test_a_reference_rests_on_as_many_events_as_a_flag_needs() -> None:
    # Vancouver's two neighbourhoods: 11-19 events in a pooled window, a few of them in the one
    # cell flagged, made a training-time reference of 4.55x that later periods of 30 events
    # or more would be judged against; a window under min_events is no reference
    frame = pd.DataFrame(
        {
            "pooled_events": [12.0, 16.0, 40.0],
            "pooled_concentration": [6.0, 4.5, 2.0],
            "repeat_share": [1.0, 1.0, 0.5],
        }
    )
    assert reference_from_frame(frame, "bt", 30) == Reference(2.0, 0.5, "bt")
    assert reference_from_frame(frame.iloc[:2], "bt", 30) is None
    assert reference_from_frame(frame, "bt").concentration == pytest.approx(12.5 / 3)
    # the series' own first full window too: 6 events a period, 12 pooled, under 30
    th = Thresholds(window=2, repeat=2, coverage=1 / 7, pool=2, min_events=30)
    quiet = monitor(CELLS, PERIODS, _flags(0, 0, 0, 0), np.ones((4, 7)) * 6 / 7, thresholds=th)
    assert quiet.reference is None
    busy = monitor(CELLS, PERIODS, _flags(0, 0, 0, 0), np.ones((4, 7)) * 3, thresholds=th)
    assert busy.reference is not None and busy.reference.concentration == pytest.approx(
        1.0, rel=0.02
    )


def test_no_full_window_with_figures_is_no_reference() -> None:
    flagged = np.zeros((4, CELLS.size), dtype=bool)
    flagged[0, 0] = True  # served once, then nothing
    m = monitor(CELLS, PERIODS, flagged, np.ones((4, 7)), thresholds=TH)
    assert m.reference is None and m.flags == []
    # the report said "4 periods are monitored, fewer than the 4 the series needs" (on one
    # SF district served 17 weeks: "17 ..., fewer than the 12"): it names the real reason
    assert why_no_reference(m.periods, TH) == (
        "every window of 2 periods after the first 2 holds a period the model served nothing for"
    )
    short = monitor(CELLS, PERIODS[:3], flagged[:3], np.ones((3, 7)), thresholds=TH)
    assert why_no_reference(short.periods, TH) == (
        "3 periods are monitored, fewer than the 4 the series needs to be its own reference "
        "(P = 2 plus 2 pooled)"
    )
    th = Thresholds(window=2, repeat=2, coverage=1 / 7, pool=2, min_events=30)
    six = np.zeros((4, 7))
    six[:, 1] = 6
    quiet = monitor(CELLS, PERIODS, _flags(0, 0, 0, 0), six, thresholds=th)
    assert why_no_reference(quiet.periods, th) == (
        "no full window held the 30 events a flag needs (most were 12)"
    )


def test_turnover_counts_the_periods_that_flagged_cells() -> None:
    """Turnover is distinct cells flagged over the cells flagged per period: a period served
    nothing flagged none, and counting it halved the per-period figure (turnover 2 for the
    same cell flagged twice); a window served nothing at all has no turnover (was 0)."""
    periods = pd.date_range("2024-01-01", periods=4, freq="W-MON")
    flagged = np.zeros((4, CELLS.size), dtype=bool)
    flagged[[0, 2], 0] = True  # the same cell, with nothing served in between
    m = monitor(
        CELLS,
        periods,
        flagged,
        np.ones((4, 7)),
        thresholds=Thresholds(window=3, repeat=2, coverage=1 / 7, pool=2, min_events=1),
    )
    assert m.periods["turnover"].tolist() == [1.0, 1.0, 1.0, 1.0]
    none = monitor(
        CELLS, periods, np.zeros((4, CELLS.size), dtype=bool), np.ones((4, 7)), thresholds=TH
    )
    assert none.periods["turnover"].isna().all()


def _layer(path: Path, people: list[object]) -> Path:
    """Two squares (groups 'a' and 'b') with ``people`` as their population field."""
    squares = [
        [[w, 39.9], [w + 0.1, 39.9], [w + 0.1, 40.1], [w, 40.1], [w, 39.9]]
        for w in (-100.1, -100.0)
    ]
    features = [
        {
            "type": "Feature",
            "properties": {"side": side, "people": n},
            "geometry": {"type": "Polygon", "coordinates": [ring]},  # (lng, lat)
        }
        for side, n, ring in zip("ab", people, squares, strict=True)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_population_is_read_as_numbers(tmp_path: Path) -> None:
    layer = read_area_layer(
        _layer(tmp_path / "ok.geojson", [1000, "3000"]),
        group_field="side",
        population_field="people",
    )
    assert layer.population.tolist() == [1000.0, 3000.0]
    empty = read_area_layer(
        _layer(tmp_path / "empty.geojson", [1000, None]), population_field="people"
    )
    assert empty.population.tolist() == [1000.0, 0.0]  # an empty value counts none


@pytest.mark.parametrize("bad", ["1,234", "n/a", -5])
def test_a_population_that_is_not_a_number_is_refused(tmp_path: Path, bad: object) -> None:
    # coerced, it counted 0 people and every group's population share was silently wrong
    path = _layer(tmp_path / "bad.geojson", [1000, bad])
    with pytest.raises(InputFileError) as err:
        read_area_layer(path, group_field="side", population_field="people")
    assert str(err.value) == (
        f"population field 'people' of area layer {path}: 1 of 2 values are not a number of "
        f"people >= 0, e.g. {bad!r} (row 2)"
    )
