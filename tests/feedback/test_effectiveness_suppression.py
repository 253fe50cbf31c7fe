"""Small counts of the realised effectiveness withheld (HOTSPOTS_MIN_EVENTS_SHOWN), in the
API's document and the report's CSVs alike, on the hand-computed case; the ratios stay."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from effectiveness_case import (
    HAND_EVENTS,
    STUDY,
    TZ,
    WEEK3,
    A,
    C,
    events_at,
    served,
    served_ranking,
)
from hotspots.errors import ConfigError
from hotspots.feedback.effectiveness import Realised, realised_effectiveness
from hotspots.feedback.monitor import monitor
from hotspots.feedback.monitor_served import ModelMonitor
from hotspots.feedback.realised_io import realised_to_dict
from hotspots.feedback.realised_shown import suppress_monitor, suppress_realised
from hotspots.feedback.report import write_effectiveness_report

COUNTS = ["events_patrolled", "events_ring", "events_rest"]
BEFORE = ["before_patrolled", "before_ring", "before_rest"]


def patrolled_a() -> Realised:
    """An hour on A alone in week 3, which held 1 burglary there (the ring B, C, D: 0 + 3 +
    1 = 4, the rest of the disk none; weeks 1-2: A 3, the ring 4, the rest none)."""
    start = pd.Timestamp("2024-01-16 10:00", tz=TZ).tz_convert("UTC")
    patrols = pd.DataFrame(
        {
            "patrol_id": ["p1"],
            "start": [start],
            "end": [start + pd.Timedelta(hours=1)],
            "cells": [np.array([A], np.uint64)],
            "resolution": [8],
        }
    )
    return realised_effectiveness(
        [served(WEEK3, served_ranking([C, A]))],
        events_at(HAND_EVENTS),
        freq="W",
        baselines=("last_period",),
        coverages=(0.1,),
        patrols=patrols,
    )


def test_the_hand_case_as_computed_shows_every_count_at_zero() -> None:
    shown = suppress_realised(patrolled_a(), 0)
    dose = shown.dosage.iloc[0]
    assert dose[COUNTS].tolist() == [1, 4, 0] and dose["periods_before"] == 2
    assert dose[BEFORE].tolist() == [1.5, 2.0, 0.0] and not dose["suppressed"]
    assert shown.cells[["events", "events_before"]].values.tolist() == [[1.0, 1.5]]


def test_a_patrolled_cell_with_one_event_is_withheld_and_what_gives_it_away() -> None:
    raw = patrolled_a()
    shown = suppress_realised(raw, 3)
    dose = shown.dosage.iloc[0]
    # week 3: A's 1 withheld, the rest (0) too; those two add up to 5 - 4 = 1 event, which
    # would say A held at most 1: the ring's 4 is withheld as well. n_events 5 stays.
    assert dose[COUNTS].isna().all() and bool(dose["suppressed"])
    # weeks 1-2: the rest's 0 (under 3) withheld, and the smallest count shown beside it,
    # A's 3 (mean 1.5); the ring's 4 (mean 2.0) is shown
    assert dose[BEFORE].isna().tolist() == [True, False, True] and dose["before_ring"] == 2.0
    assert (dose["patrolled_cells"], dose["patrol_minutes"]) == (1, 60.0)
    cell = shown.cells.iloc[0]
    assert np.isnan(cell["events"]) and np.isnan(cell["events_before"]) and cell["suppressed"]
    assert cell["minutes"] == 60.0
    # the ratios and totals, from the counts as they were, are the same
    pd.testing.assert_frame_equal(shown.periods, raw.periods)
    pd.testing.assert_frame_equal(shown.flags, raw.flags)
    served_row = shown.periods.loc[shown.periods["source"] == "served"].iloc[0]
    assert (served_row["n_events"], served_row["hits"], served_row["hit_rate"]) == (5, 4, 0.8)
    # the API's document: null where withheld, and suppressed true
    [period] = realised_to_dict(shown)["models"][0]["periods"]
    assert period["dosage"] == {
        "patrolled_cells": 1, "patrol_minutes": 60,
        "events_patrolled": None, "events_ring": None, "events_rest": None,
        "before_patrolled": None, "before_ring": 2, "before_rest": None,
        "periods_before": 2, "suppressed": True,
    }  # fmt: skip
    assert period["cutoffs"] == realised_to_dict(raw)["models"][0]["periods"][0]["cutoffs"]


def test_the_report_csvs_do_not_show_the_count(tmp_path: Path) -> None:
    shown = suppress_realised(patrolled_a(), 3)
    paths = write_effectiveness_report(shown, tmp_path, title="t")
    dosage = pd.read_csv(paths["dosage.csv"])
    assert dosage[COUNTS].isna().all(axis=None) and dosage["suppressed"].tolist() == [True]
    cells = pd.read_csv(paths["cells.csv"])
    assert cells[["events", "events_before"]].isna().all(axis=None)
    assert cells["minutes"].tolist() == [60.0] and cells["suppressed"].tolist() == [True]
    periods = pd.read_csv(paths["periods.csv"])
    assert periods.loc[periods["source"] == "served", "pai"].tolist() == [pytest.approx(7.6)]


def frames(cells: list[float], total_shown: bool = True) -> Realised:
    """A hand-made period of patrolled cells with these counts (no periods before)."""
    key = {"model": "m", "as_of": WEEK3}
    total = float(sum(cells)) if total_shown else 100.0
    dosage = pd.DataFrame(
        [key | {"patrolled_cells": len(cells), "patrol_minutes": 60.0, "events_patrolled": total,
                "events_ring": 50.0, "events_rest": 500.0, "before_patrolled": np.nan,
                "before_ring": np.nan, "before_rest": np.nan, "periods_before": 0}]
    )  # fmt: skip
    table = pd.DataFrame(
        {"model": "m", "as_of": WEEK3, "cell": [f"c{i}" for i in range(len(cells))],
         "minutes": 10.0, "events": cells, "events_before": np.nan, "in_served_top": False}
    )  # fmt: skip
    empty = patrolled_a()
    return Realised(empty.periods, dosage, table, empty.flags, empty.pending)


@pytest.mark.parametrize(
    ("counts", "hidden"),
    [
        ([1.0, 7.0, 9.0], [True, True, False]),  # 1 = total - 7 - 9: the 7 goes too
        ([2.0, 2.0, 5.0], [True, True, True]),  # two withheld, each 2 at most, adding to 4
        ([0.0, 1.0, 4.0, 6.0], [True, True, True, False]),  # 0 + 1 under 3: the 4 too
        ([3.0, 4.0], [False, False]),  # nothing under 3
    ],
)
def test_a_withheld_cell_is_not_told_by_subtraction(
    counts: list[float], hidden: list[bool]
) -> None:
    shown = suppress_realised(frames(counts), 3)
    assert shown.cells["events"].isna().tolist() == hidden
    assert shown.cells["suppressed"].tolist() == hidden
    assert shown.dosage["events_patrolled"].tolist() == [sum(counts)]  # 9 or more: shown


def test_a_withheld_total_is_not_the_sum_of_the_cells_shown() -> None:
    realised = frames([3.0, 4.0])
    # a tiny study area: the rest's 1 is withheld, and beside it the smallest count shown,
    # the patrolled 7 (the ring's 50 stays); 7 + 1 = 557 - 50 tells neither
    dosage = realised.dosage.assign(events_rest=1.0)
    shown = suppress_realised(dataclasses.replace(realised, dosage=dosage), 3)
    assert shown.dosage[COUNTS].isna().values.tolist() == [[True, False, True]]
    # both cells are over 3, but shown they would add up to the 7: the smaller goes
    assert shown.cells["events"].isna().tolist() == [True, False]
    # the ring withheld: the rest beside it (the patrolled 7 is told by neither)
    dosage = realised.dosage.assign(events_ring=1.0)
    shown = suppress_realised(dataclasses.replace(realised, dosage=dosage), 3)
    assert shown.dosage[COUNTS].isna().values.tolist() == [[False, True, True]]
    assert shown.cells["events"].isna().tolist() == [False, False]


def test_a_threshold_that_is_no_whole_number_is_refused() -> None:
    with pytest.raises(ConfigError, match="min_events_shown must be a whole number, got 2.5"):
        suppress_realised(patrolled_a(), 2.5)  # type: ignore[arg-type]


def test_the_monitors_patrolled_share_is_withheld_with_the_count_it_gives() -> None:
    # 19 cells, 3 weeks of 10 events each; week 3: an hour on A, which held 1 of them
    # (share 0.1 of 10 shown events: 1 event). Week 2: an hour on C, which held 4.
    cells = STUDY
    a, c = (int(np.searchsorted(cells, x)) for x in (A, C))
    other = next(i for i in range(cells.size) if i not in (a, c))
    recorded = np.zeros((3, cells.size))
    recorded[0, other] = 10.0
    recorded[1, c], recorded[1, other] = 4.0, 6.0
    recorded[2, a], recorded[2, other] = 1.0, 9.0
    dosage = np.zeros_like(recorded)
    dosage[2, a], dosage[1, c] = 60.0, 60.0
    flagged = np.zeros_like(recorded, dtype=bool)
    flagged[:, :2] = True
    weeks = pd.date_range("2024-01-01", periods=3, freq="7D")
    found = ModelMonitor(
        "m", "v1", weeks[-1], 3, monitor(cells, weeks, flagged, recorded, dosage=dosage)
    )
    assert found.monitor.periods["events"].tolist() == [10, 10, 10]
    shares = found.monitor.periods["patrolled_event_share"].tolist()
    assert np.isnan(shares[0]) or shares[0] == 0.0  # nobody patrolled week 1
    assert shares[1:] == [pytest.approx(0.4), pytest.approx(0.1)]
    shown = suppress_monitor(found, 3)
    after = shown.monitor.periods["patrolled_event_share"].tolist()
    assert after[1] == pytest.approx(0.4) and np.isnan(after[2])  # 4 shown, 1 withheld
    assert shown.monitor.flags == found.monitor.flags
    assert shown.to_dict()["periods"][2]["patrolled_event_share"] is None
    assert suppress_monitor(found, 0).monitor.periods.equals(found.monitor.periods)
