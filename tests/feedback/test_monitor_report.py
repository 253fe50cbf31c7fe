"""The training-time monitor: recorded in the manifest, shown in the model card; the report
section and its plot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hotspots.errors import ConfigError
from hotspots.evaluation import backtest, rolling_origin_folds
from hotspots.features import Panel
from hotspots.feedback.monitor import top_share_flags
from hotspots.feedback.monitor_reference import Reference, Thresholds
from hotspots.feedback.monitor_report import (
    MANIFEST_KEY,
    backtest_monitor,
    monitor_png,
    served_monitor,
    training_record,
)
from hotspots.feedback.monitor_served import ModelMonitor
from hotspots.feedback.report_monitor import monitor_frames
from hotspots.forecasters import make_forecaster
from hotspots.grid import cells_area_km2
from hotspots.registry import model_card


@pytest.fixture(scope="module")
def result(year_panel: Panel):  # type: ignore[no-untyped-def]
    models = {k: make_forecaster(k) for k in ("historical_mean", "rolling_mean")}
    folds = rolling_origin_folds(year_panel.periods, 12, min_train_periods=8)
    return backtest(models, year_panel, folds, coverages=(0.01,))


def test_backtest_monitor_reads_the_model_flags(result) -> None:  # type: ignore[no-untyped-def]
    found = backtest_monitor(result, "rolling_mean")
    assert found is not None and found.reference is not None
    flags = top_share_flags(result.forecasts["rolling_mean"], result.last_fold.cells, 0.01)
    assert found.periods["flagged_cells"].tolist() == flags.sum(axis=1).tolist()
    assert found.periods["events"].tolist() == result.actual.sum(axis=1).tolist()
    # the reference counts back P = 8 folds, over the windows with 8 before every fold (12
    # folds: the last one), and C < 8 folds over those with C, as served windows alike
    p = found.periods
    full = p.loc[p["pooled_lookback"] == 8, "pooled_concentration"]
    assert len(full) == 1 and found.reference.lookback == 8
    assert found.reference.concentration == pytest.approx(full.mean())
    by = {c: p.loc[p["pooled_lookback"] >= c, f"pooled_concentration_{c}"] for c in range(1, 8)}
    assert [e[0] for e in found.reference.by_lookback] == list(range(1, 8))
    assert [e[1] for e in found.reference.by_lookback] == pytest.approx(
        [by[c].mean() for c in range(1, 8)]
    )
    assert [len(by[c]) for c in range(1, 8)] == list(range(8, 1, -1))  # 12 - 3 - C windows
    assert found.flags == []  # a series is never far from its own mean by 1.15x here
    assert backtest_monitor(result, "no-such-model") is None


def test_training_record_goes_into_the_card(result) -> None:  # type: ignore[no-untyped-def]
    record = training_record(result, "historical_mean")
    assert record["model"] == "historical_mean" and record["periods"] == 12
    assert record["reference"]["concentration"] > 1  # flagged cells hold more than their area
    card = model_card({"name": "m", "version": "v1", "notes": {MANIFEST_KEY: record}})
    section = card.split("## Feedback-loop monitor")[1]
    conc = record["reference"]["concentration"]
    assert f"{conc:.2f}x their share of the area" in section
    assert "1.15x the reference" in section
    bare = model_card({"name": "m", "version": "v1"})
    assert "No training-time reference was recorded" in bare


def test_too_short_a_backtest_records_nothing(year_panel: Panel) -> None:
    folds = rolling_origin_folds(year_panel.periods, 3, min_train_periods=8)
    short = backtest({"rolling_mean": make_forecaster("rolling_mean")}, year_panel, folds)
    assert training_record(short, "rolling_mean") == {}


def test_a_backtest_shorter_than_p_has_no_repeat_share_not_0(year_panel: Panel) -> None:
    """6 folds hold a concentration (4 pooled) but no repeat share (a cell's count needs
    P = 8 periods): the reference says it was not measured, never 0% (which reads as a map
    that never flags a cell twice), and the flags keep the floor (90%) as the bar."""
    folds = rolling_origin_folds(year_panel.periods, 6, min_train_periods=8)
    six = backtest({"rolling_mean": make_forecaster("rolling_mean")}, year_panel, folds)
    record = training_record(six, "rolling_mean")
    assert record["reference"]["concentration"] > 1
    assert record["reference"]["repeat_share"] is None
    assert Reference.from_dict(record["reference"]).repeat_share is None  # type: ignore[union-attr]
    card = model_card({"name": "m", "version": "v1", "notes": {MANIFEST_KEY: record}})
    line = next(x for x in card.splitlines() if "flagged in at least 6 of the last 8" in x)
    assert line.endswith("not measured (6 folds, fewer than the 8 periods it counts back)")
    # its concentration counts back 2 folds (the most every fold of a window has), and says so
    assert record["reference"]["lookback"] == 2
    said = "flagged in the 2 (not 8: too few folds; served periods are compared alike) periods"
    assert said in card
    found = backtest_monitor(six, "rolling_mean")
    assert found is not None and monitor_png(found)[:4] == b"\x89PNG"


def test_report_section_and_plot(result) -> None:  # type: ignore[no-untyped-def]
    found = backtest_monitor(
        result, "rolling_mean", Thresholds(concentration_rise=1.0, concentration_z=0.0)
    )
    assert found is not None
    assert monitor_png(found)[:8] == b"\x89PNG\r\n\x1a\n"
    mine = ModelMonitor("m", "v1", pd.Timestamp("2024-01-01"), len(found.periods), found)
    frames = monitor_frames({"m": mine})
    flags = frames["monitor_flags.csv"]
    assert list(flags.columns) == ["model", "version", "figure", "period", "value", "threshold",
                                   "message"]  # fmt: skip
    assert len(flags) == len(found.flags) > 0  # at 1.0x and no noise margin, the above-mean periods
    assert np.isclose(frames["monitor_distribution.csv"]["area_share"].sum(), 1.0)
    assert "monitor_groups.csv" not in frames  # no area layer
    [summary] = frames["monitor_summary.csv"].to_dict("records")
    assert summary["reference_concentration"] == found.reference.concentration  # type: ignore[union-attr]


def test_asked_thresholds_drop_the_training_reference(result) -> None:  # type: ignore[no-untyped-def]
    record = training_record(result, "rolling_mean")
    manifest = {"notes": {MANIFEST_KEY: record}}
    cells = result.last_fold.cells
    periods = pd.DatetimeIndex([f.as_of for f in result.folds])
    flags = top_share_flags(result.forecasts["rolling_mean"], cells, 0.01)
    ranked = {p: cells[np.flatnonzero(f)] for p, f in zip(periods, flags, strict=True)}

    def served(**asked: int | None):  # type: ignore[no-untyped-def]
        return served_monitor(cells, periods, result.actual, ranked, manifest, overrides=asked)

    recorded = Reference.from_dict(record["reference"])
    for same in (served(), served(window=None, repeat=6), served(window=8)):
        assert same.reference == recorded and same.notes == []
    other = served(window=4, repeat=3)
    assert (other.thresholds.window, other.thresholds.repeat) == (4, 3)
    assert other.notes[0] == (
        "window 4 and repeat 3 asked for, not the model's 8 and 6: its training-time "
        "reference does not apply"
    )
    assert other.reference is not None and other.reference.source.startswith(
        "the first full window"
    )
    # a window asked for alone keeps the model's repeat where it fits, else takes the window
    assert served(window=7).thresholds.repeat == 6
    shorter = served(window=2)
    assert (shorter.thresholds.window, shorter.thresholds.repeat) == (2, 2)
    # P = 1 asked for: compared counting back 1 period (min_lookback 2 would not fit)
    assert served(window=1).thresholds.min_lookback == 1
    assert shorter.notes[0].startswith("window 2 and repeat 2 asked for")
    with pytest.raises(ConfigError, match="monitor repeat 3 must be between 1 and window 2"):
        served(window=2, repeat=3)  # asked for both: said, not changed
    # P = 4: a cell counts in the distribution by the last 4 periods, X = 3 in the repeat share
    assert other.distribution["times_flagged"].tolist() == [0, 1, 2, 3, 4]
    area = cells_area_km2(cells)
    times, now = flags[-4:].sum(axis=0), flags[-1]
    repeat = area[now & (times >= 3)].sum() / area[now].sum()
    assert other.periods["repeat_share"].iloc[-1] == pytest.approx(repeat)


def test_a_report_section_with_an_area_layer_and_no_period_served_yet() -> None:
    """Right after a first publish nothing served has ended: with an area layer the page's
    group heading read the periods' dates from an empty table, and ``hotspots report
    effectiveness --monitor-areas ... --monitor-group-field ...`` ended in an internal
    error (KeyError: 'period') after ``make demo``."""
    import h3

    from hotspots.feedback.monitor import monitor
    from hotspots.feedback.monitor_groups import GroupLayer
    from hotspots.feedback.report_monitor import monitor_html

    cells = np.array([h3.str_to_int(c) for c in h3.grid_disk("89261b5aac7ffff", 1)], np.uint64)
    layer = GroupLayer(np.zeros(cells.size, np.int64), ("A",), np.array([np.nan]))
    empty = np.zeros((0, cells.size))
    found = monitor(cells, pd.DatetimeIndex([]), empty.astype(bool), empty, groups=layer)
    assert found.groups is not None and found.periods.empty
    html = "".join(monitor_html(ModelMonitor("m", "v1", pd.Timestamp("2024-12-30"), 0, found)))
    assert "<h3>Per group of the area layer</h3>" in html
