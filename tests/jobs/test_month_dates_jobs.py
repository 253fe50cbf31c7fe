"""Training, backtesting and forecasting on monthly exports written as first-of-month dates:
a monthly spec trains on them as on police.uk's months (the same panel), a weekly or daily one
is refused (exit 2), and the model records that its events were months, so batches read alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hotspots.errors import DataValidationError
from hotspots.jobs.data import LoadedEvents, event_options
from hotspots.jobs.spec import spec_from_dict
from hotspots.jobs.train import prepare
from hotspots.registry import Registry

RunCli = Any
MAP = "time=date,lat=lat,lng=lng,category=cat"
TZ = "Europe/London"
MONTHS = pd.date_range("2021-01-01", periods=24, freq="MS")


def export(path: Path, written: str) -> Path:
    """24 months of burglaries and thefts around central London, 2 to 9 a month, seeded."""
    rng = np.random.default_rng(7)
    rows = ["date,lat,lng,cat"]
    for month in MONTHS:
        for _ in range(int(rng.integers(2, 10))):
            lat, lng = 51.5 + rng.normal(0, 0.01), -0.12 + rng.normal(0, 0.015)
            cat = "burglary" if rng.random() < 0.6 else "theft"
            rows.append(f"{month.strftime(written)},{lat:.5f},{lng:.5f},{cat}")
    path.write_text("\n".join(rows) + "\n")
    return path


def spec(events: Path, period: str) -> Any:
    return spec_from_dict(
        {
            "name": "m",
            "data": {"events": str(events), "map": MAP, "timezone": TZ},
            "target": {"categories": ["burglary"]},
            "grid": {"resolution": 8, "period": period},
            "backtest": {"folds": 2},
        }
    )


def test_a_monthly_spec_counts_first_of_month_dates_as_police_uk_months(tmp_path: Path) -> None:
    dates = prepare(spec(export(tmp_path / "dates.csv", "%Y-%m-%d"), "M"))
    months = prepare(spec(export(tmp_path / "months.csv", "%Y-%m"), "M"))
    for p in (dates, months):
        assert set(p.loaded.events["time_precision"].astype(str)) == {"month"}
    a, b = dates.panel, months.panel
    assert a.periods.equals(b.periods) and len(a.periods) == 24  # every month whole
    assert (a.periods[0], a.periods[-1]) == (pd.Timestamp("2021-01-01"), pd.Timestamp("2022-12-01"))
    assert np.array_equal(a.cells, b.cells) and a.categories == b.categories
    assert np.array_equal(a.counts, b.counts) and int(a.counts.sum()) == len(dates.loaded.events)
    assert dates.until == months.until == pd.Timestamp("2023-01-01")


@pytest.mark.parametrize(("period", "word"), [("W", "weekly"), ("D", "daily")])
def test_a_weekly_or_daily_spec_is_refused(tmp_path: Path, period: str, word: str) -> None:
    path = export(tmp_path / "dates.csv", "%Y-%m-%d")
    n = len(path.read_text().splitlines()) - 1
    with pytest.raises(DataValidationError) as err:
        prepare(spec(path, period))
    assert str(err.value).startswith(
        f"{n} events have month precision: their dates are all the first of a month ({n} "
        "events over 24 months, 2021-01 to 2022-12), read as months"
    )
    assert f"they cannot go into a {word} panel without inventing days" in str(err.value)


def flags(path: Path, period: str) -> list[str | Path]:
    return [
        "--events", path, "--map", MAP, "--tz", TZ, "--category", "burglary",
        "--resolution", "8", "--period", period, "--model", "historical_mean", "--folds", "2",
    ]  # fmt: skip


@pytest.mark.parametrize("command", ["train", "backtest"])
def test_cli_train_and_backtest_refuse_a_weekly_period_with_exit_2(
    run_cli: RunCli, tmp_path: Path, command: str
) -> None:
    path = export(tmp_path / "dates.csv", "%Y-%m-%d")
    where = ["--models-dir", tmp_path / "m", "--name", "w"] if command == "train" else []
    where = where or ["--out", tmp_path / "r"]
    res = run_cli(command, *flags(path, "w"), *where)
    assert res.code == 2
    line = res.err.replace("\n", " ")
    assert "dates are all the first of a month (" in line and "events over 24 months" in line
    assert "count them in monthly periods (--period M; a spec's grid.period)" in line


def test_a_model_of_months_records_it_and_reads_its_batches_as_months(
    run_cli: RunCli, tmp_path: Path
) -> None:
    path = export(tmp_path / "dates.csv", "%Y-%m-%d")
    models = tmp_path / "m"
    res = run_cli("train", *flags(path, "m"), "--models-dir", models, "--name", "monthly")
    assert res.code == 0, res.err
    manifest = Registry(models).load("monthly").manifest
    assert manifest["data"]["month_precision"] is True
    assert event_options(manifest)["months"] is True
    # a batch of three dates on one 1st: days on their own, months to this model
    batch = tmp_path / "batch.csv"
    batch.write_text("date,lat,lng,cat\n" + "2023-01-01,51.5,-0.12,burglary\n" * 3)
    out = tmp_path / "f.csv"
    res = run_cli("forecast", "--model", "monthly", "--models-dir", models, "--events", batch,
                  "--output", out)  # fmt: skip
    assert res.code == 0, res.err
    assert (
        "dates read as months (time_precision month): every one of the 3 located events' dates "
        "is the first of a month with no time of day, over 1 month (2023-01); as the model's "
        "training events were months"
    ) in res.err.replace("\n", " ")
    assert pd.read_csv(out)["as_of"].unique().tolist() == ["2023-02-01"]


def test_a_fingerprint_says_whether_every_event_is_a_month() -> None:
    def loaded(*precisions: str) -> LoadedEvents:
        times = pd.Series(pd.to_datetime(["2021-03-01"] * len(precisions)).tz_localize(TZ))
        events = pd.DataFrame({"occurred_at": times, "time_precision": list(precisions)})
        return LoadedEvents(events, TZ, Path("x.csv"), "")

    assert loaded("month", "month").fingerprint()["month_precision"] is True
    assert loaded("month", "day").fingerprint()["month_precision"] is False
    assert loaded().fingerprint()["month_precision"] is False
    assert "months" not in event_options({"data": {"month_precision": False}})
