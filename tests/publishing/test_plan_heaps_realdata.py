"""Which clock minutes of each real extract a plan weighs down (``plan_heaps``), and with what
weight: SF's 12:00 and Vancouver's 00:00 and 12:00; Chicago and Houston none, nor any round
hour such as 18:00 (the figures in plan_heaps' docstring and the README)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hotspots.ingest import ingest_file
from hotspots.jobs.data import ingest_options
from hotspots.publishing.plan_heaps import heaped_minutes

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
pytestmark = pytest.mark.realdata

CASES: dict[str, tuple[str, dict[str, Any], dict[str, tuple[int, int, float]]]] = {
    "chicago": (
        "chicago_aggravated_assaults/chicago_aggravated_assaults_2010-2019.csv.gz",
        {"map": "time=date,lat=latitude,lng=longitude", "category_name": "aggravated assault",
         "timezone": "America/Chicago"},
        {},
    ),
    "houston": (  # whole hours (written in UTC): no share to predict a heap by
        "houston_hpd_ggmap/houston_crime_2010-01_2010-08.csv.gz",
        {"map": "time=time,lat=lat,lng=lon,category=offense", "timezone": "America/Chicago",
         "source_timezone": "UTC"},
        {},
    ),
    "vancouver": (
        "vancouver_vpd_2020/vancouver_vpd_crimes_2020.csv.gz",
        {"map": "year=YEAR,month=MONTH,day=DAY,hour=HOUR,minute=MINUTE,x=X,y=Y,category=TYPE",
         "crs": "EPSG:26910", "timezone": "America/Vancouver", "max_reject_fraction": 0.15},
        {"00:00": (1_688, 594, 0.35), "12:00": (715, 331, 0.46)},
    ),
    "sf": (  # its 00:01 (158x) is read as dates at ingest
        "sf_sfpd_2007_2013/sfpd_incidents_2007_2013.csv.gz",
        {"map": "time=datetime,lat=Y,lng=X,category=Category,offence=Descript,id=IncidntNum",
         "timezone": "America/Los_Angeles"},
        {"12:00": (21_250, 11_969, 0.56)},
    ),
}  # fmt: skip


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=[pytest.mark.slow] if n == "sf" else []) for n in CASES]
)
def test_the_minutes_weighed_down_in_each_real_extract(name: str) -> None:
    path, flags, weighed = CASES[name]
    if not (DATA / path).is_file():
        pytest.skip(f"real data file {DATA / path} is absent")
    events = ingest_file(DATA / path, ingest_options(**flags, now="2026-01-01")).events
    heaps = heaped_minutes(events)
    found = {m.label: (m.events, round(m.expected), round(m.weight, 2)) for m in heaps.minutes}
    assert found == weighed
