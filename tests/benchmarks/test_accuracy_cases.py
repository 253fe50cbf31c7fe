"""The accuracy suite's case table: every case's spec, data path and column map parse.

Fast: nothing is ingested or backtested (the suite itself is benchmarks/accuracy.py). Real
sources skip when ../shared/data is absent.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import accuracy_cases as ac
from hotspots.errors import ConfigError
from hotspots.synthetic import CATEGORIES


def _need(source: ac.Source) -> None:
    if not source.path.is_file():
        pytest.skip(f"{source.path} is absent (the real extracts live in ../shared/data)")


@pytest.mark.parametrize("name", list(ac.CASES))
def test_every_case_makes_a_valid_spec(name: str) -> None:
    case = ac.CASES[name]
    if case.synthetic:
        assert case.seed is not None
        assert set(case.categories) <= set(CATEGORIES)
        events = Path("city/events.csv.gz")
        spec = ac.case_spec(case, events, kind="lightgbm", params={}, truth=Path("t.parquet"))
        assert spec.backtest.truth == Path("t.parquet")
    else:
        source = ac.SOURCES[case.source]
        _need(source)
        spec = ac.case_spec(case, source.path, kind="lightgbm", params={}, data=source.data)
        assert spec.data.events == source.path and spec.backtest.truth is None
    assert spec.name == name
    assert (spec.grid.resolution, spec.grid.period) == (case.resolution, case.period)
    assert spec.backtest.folds == case.folds and 0.01 in spec.backtest.coverages
    assert spec.target.categories == case.categories


@pytest.mark.parametrize("name", list(ac.SOURCES))
def test_every_source_map_names_columns_of_its_file(name: str) -> None:
    source = ac.SOURCES[name]
    _need(source)
    columns = ac.source_columns(source)
    header = {c.lower() for c in pd.read_csv(source.path, nrows=0).columns}
    assert columns and {c.lower() for c in columns} <= header


def test_a_wrong_map_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("when,lat,lng,kind\n2024-01-01,1,2,a\n")
    good = ac.Source(path, {"map": "time=when,lat=lat,lng=lng,category=kind"})
    assert ac.source_columns(good) == ["when", "lat", "lng", "kind"]
    with pytest.raises(KeyError, match=r"lacks mapped columns \['type'\]"):
        ac.source_columns(ac.Source(path, {"map": "time=when,lat=lat,lng=lng,category=type"}))
    with pytest.raises(ConfigError):
        ac.source_columns(ac.Source(path, {"map": "lat=lat,lng=lng,category=kind"}))


def test_a_case_whose_data_is_absent_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = ac.Source(tmp_path / "nope" / "x.csv.gz", {})
    monkeypatch.setitem(ac.SOURCES, "chicago", gone)
    reason = ac.missing_data(ac.CASES["chicago-r9-2018"])
    assert reason is not None and re.search(r"nope is absent", reason)
    assert ac.missing_data(ac.CASES["synthetic-s0-assault"]) is None


def test_quick_is_a_smaller_subset_of_the_cases() -> None:
    quick = ac.selected(None, quick=True)
    assert [c.name for c in quick] == list(ac.QUICK)
    for case in quick:
        assert case.folds <= ac.CASES[case.name].folds
    assert len(ac.selected(None, quick=False)) == len(ac.CASES)
    one = ac.selected(["gmp-burglary"], quick=False)
    assert one == [ac.CASES["gmp-burglary"]]
    with pytest.raises(SystemExit, match="unknown cases"):
        ac.selected(["nope"], quick=False)


def test_test_years_are_52_monday_weeks() -> None:
    # ISO week 1 of 2011 starts Monday 2011-01-03; of 2013, Monday 2012-12-31
    assert ac.iso_year_end(2011) == "2012-01-02"
    assert ac.iso_year_end(2013) == "2013-12-30"
    for year in (2017, 2018, 2019):
        end = pd.Timestamp(ac.iso_year_end(year))
        first = end - pd.Timedelta(weeks=52)
        assert end.day_of_week == 0 and first.isocalendar().week == 1
