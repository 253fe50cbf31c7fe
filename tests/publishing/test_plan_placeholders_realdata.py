"""San Francisco's placeholder 00:01 (SFPD writes it for an unknown time of day): on the
extract's first 130,000 rows (2007), ingest reads those rows as dates, and the plans' when no
longer names midnight, which the same events read as times make a busy hour. Its 12:00, a
smaller heap that keeps its times, counts in the plans' hours only what the hours around
predict, so noon is no busy hour either."""

from __future__ import annotations

import gzip
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hotspots.grid import points_to_cells
from hotspots.ingest import ColumnMap, IngestOptions, IngestResult, ingest_file
from hotspots.publishing import PlanBudget, build_plan
from hotspots.publishing.plan_heaps import NO_HEAPS, MinuteWeights, heaped_minutes

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SF = DATA / "sf_sfpd_2007_2013" / "sfpd_incidents_2007_2013.csv.gz"
pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(not SF.is_file(), reason=f"real data file {SF} is absent"),
]
ROWS = 130_000  # the first rows are 2007's (shuffled within the year): 0.5 s to ingest
AS_OF = pd.Timestamp("2008-01-07")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    with gzip.open(SF, "rt", encoding="utf-8") as fh:
        lines = list(itertools.islice(fh, ROWS + 1))
    path = tmp_path_factory.mktemp("sf") / "sf_2007_sample.csv"
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def ingested(sample: Path) -> IngestResult:
    cmap = ColumnMap.parse(
        "time=datetime,lat=Y,lng=X,category=Category,offence=Descript,id=IncidntNum"
    )
    return ingest_file(sample, IngestOptions(column_map=cmap, timezone="America/Los_Angeles",
                                             now=AS_OF))  # fmt: skip


def plan(events: pd.DataFrame, heaps: MinuteWeights | None = None) -> list[dict]:
    """5 areas of up to 1 km2 on a forecast of each cell's 2007 events a week."""
    where = points_to_cells(events["lat"].to_numpy(), events["lng"].to_numpy(), 9)
    cells, counts = np.unique(where, return_counts=True)
    frame = pd.DataFrame({"as_of": AS_OF, "period_start": AS_OF, "cell": cells,
                          "expected_count": counts / 52})  # fmt: skip
    document = build_plan({"all": frame}, cells, 9, events, as_of=AS_OF, freq="W",
                          budget=PlanBudget(areas=5, max_area_km2=1.0), heaps=heaps)  # fmt: skip
    return [area["when"] for area in document["areas"]]


def named(when: dict) -> list[str]:
    return [h["label"] for key in ("top_hours", "top_hours_of_day") for h in when[key]]


def test_sf_0001_rows_are_dates_and_midnight_is_no_busy_hour(
    sample: Path, ingested: IngestResult
) -> None:
    result = ingested
    events = result.events
    # exactly the accepted rows whose Time column says 00:01 became dates
    written = pd.read_csv(sample, usecols=["Time"])["Time"].to_numpy()
    at_0001 = written[events["source_row"].to_numpy() - 1] == "00:01"
    assert result.report.placeholder_times == {"00:01": int(at_0001.sum())} == {"00:01": 3_125}
    assert ((events["time_precision"] == "day").to_numpy() == at_0001).all()

    whens = plan(events)
    assert [w["events_without_time"] for w in whens] == [542, 160, 92, 116, 95]
    assert not [label for w in whens for label in named(w) if "00:00-01:00" in label]
    # read as times and counted whole, the same rows make midnight one of area 4's busiest
    # hours (the plan's own weights would count 00:01 at 1/158: test_plan_heaps)
    as_times = events.assign(time_precision=events["time_precision"].where(~at_0001, "minute"))
    assert "00:00-01:00" in named(plan(as_times, NO_HEAPS)[3])


def test_sf_noon_counts_what_the_hours_around_predict_and_is_no_busy_hour(
    ingested: IngestResult,
) -> None:
    events = ingested.events
    heaps = heaped_minutes(events, AS_OF)
    # 2007's 12:00: 3,300 timed events where the hours around predict 1,849 (1.8x, as the
    # whole extract's 21,250 of 11,969); each counts 0.56 in the hours
    assert [(m.label, m.events, round(m.expected)) for m in heaps.minutes] == [
        ("12:00", 3_300, 1_849)
    ]
    assert heaps.minutes[0].weight == pytest.approx(0.56, abs=0.005)

    def noon(whens: list[dict]) -> list[int]:
        return [i for i, w in enumerate(whens) if any("12:00-13:00" in n for n in named(w))]

    whole, weighed = plan(events, NO_HEAPS), plan(events)
    # counted whole, noon is named in 4 of the 5 areas (by index; the busiest hour of the day
    # of the first and the fourth); weighed, in none: each area's noon was only the heap
    assert noon(whole) == [0, 2, 3, 4]
    assert whole[0]["top_hours_of_day"][0]["label"] == "12:00-13:00"
    assert noon(weighed) == []
    assert [w["placeholder_excess"] for w in weighed] == [
        {"12:00": n} for n in (200, 83, 47, 53, 36)
    ]
    assert [w["events_with_time"] for w in weighed] == [w["events_with_time"] for w in whole]
    # the afternoon shift (12:00-18:00) stays named where it was: it is more than the heap
    assert [("12:00-18:00" in named(w)) for w in weighed] == [
        ("12:00-18:00" in named(w)) for w in whole
    ]
