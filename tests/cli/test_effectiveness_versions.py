"""A retrain promoted mid-week: the plan served before it is compared with the forecast of
the model version it was built from, not with the last one issued for its week."""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h3
import numpy as np
import pandas as pd
import pytest

from hotspots.config import Settings
from hotspots.features import Panel
from hotspots.forecasters import make_forecaster
from hotspots.grid import cells_area_km2, strings_to_cells
from hotspots.grid.regions import top_cells_sum_at_area
from hotspots.ingest import write_events
from hotspots.publishing.plan_store import PlanStore
from hotspots.publishing.snapshot_store import SnapshotStore
from hotspots.registry import Registry
from hotspots.serving.realised import realised_from_records
from hotspots.serving.state import ServiceState
from hotspots.synthetic import COLUMN_MAP, TIMEZONE

TARGET = "Burglary Residential"
WEEK = pd.Timestamp("2023-12-04")
SPEC = {
    "data": {"map": COLUMN_MAP, "timezone": TIMEZONE},
    "model": {"kind": "historical_mean", "baselines": ["last_period"]},
    "backtest": {"coverages": [0.01], "select_coverage": 0.01},
}


def settings_of(root: Path) -> Settings:
    return Settings(
        models_dir=root / "models", state_dir=root / "state", events_path=root / "events.parquet"
    )


@pytest.fixture(scope="module")
def promoted(
    tmp_path_factory: pytest.TempPathFactory, year_city_events: pd.DataFrame, year_panel: Panel
) -> Path:
    """v1 (a historical mean) served the week of 2023-12-04 and its default plan; then v2
    (last period) was promoted and served for the same week, with a plan of its own; then
    the rest of the year's events arrived."""
    root = tmp_path_factory.mktemp("promoted")
    settings = settings_of(root)
    registry = Registry(settings.models_dir)
    local = year_city_events["occurred_at"].dt.tz_localize(None)
    early = year_city_events.loc[local < WEEK].reset_index(drop=True)
    write_events(early, settings.events_path, {"timezone": TIMEZONE})
    for kind in ("historical_mean", "last_period"):
        model = make_forecaster(kind, target=(TARGET,)).fit(year_panel, WEEK)
        registry.publish("burglary", model, spec=SPEC, data={"timezone": TIMEZONE}, backtest={})
        ServiceState(settings).load_all()
    write_events(year_city_events, settings.events_path, {"timezone": TIMEZONE})
    return root


def plan_records(root: Path) -> dict[str, dict[str, Any]]:
    """The recorded plans by the version they were built from."""
    return {r["models"]["burglary"]: r for r in PlanStore(root / "state" / "plans").read()}


def test_a_plan_is_compared_with_the_forecast_of_its_version(
    promoted: Path, year_city_events: pd.DataFrame
) -> None:
    settings = settings_of(promoted)
    local = year_city_events["occurred_at"].dt.tz_localize(None)
    metas = SnapshotStore(settings.state_dir / "snapshots").list("burglary")
    assert [(m["as_of"], m["version"]) for m in metas] == [
        ("2023-12-04", "v1"),
        ("2023-12-04", "v2"),
    ]
    records = plan_records(promoted)
    assert set(records) == {"v1", "v2"}
    realised = realised_from_records(settings)
    served = realised.periods.query("source == 'served' and horizon == 1")
    assert served["version"].tolist() == ["v2"]  # the forecast scored: the last issued
    rows = realised.plans.query("source == 'served' and horizon == 1").set_index("etag")
    # by hand: the week's burglaries on the study cells, and each version's expected counts
    # as its snapshot served them
    snapshots = SnapshotStore(settings.state_dir / "snapshots")
    expected = {}
    for meta in metas:
        stored = snapshots.load("burglary", WEEK, meta["issued_at"])
        doc = json.loads(stored.bytes)["hotspots"]
        expected[meta["version"]] = pd.Series(
            [float(h["expected_count"]) for h in doc], index=[h["cell"] for h in doc]
        )
    cells = np.sort(strings_to_cells(expected["v1"].index))
    names = [h3.int_to_str(int(c)) for c in cells]
    week = year_city_events.loc[(local >= WEEK) & (local < WEEK + pd.Timedelta(days=7))]
    week = week.loc[week["category"] == TARGET]
    found = pd.Series(
        [h3.latlng_to_cell(a, b, 8) for a, b in zip(week["lat"], week["lng"], strict=True)]
    ).value_counts()
    actual = found.reindex(names, fill_value=0).to_numpy(float)
    km2 = cells_area_km2(cells)
    tops = {}
    for version, record in records.items():
        row = rows.loc[record["etag"]]
        score = expected[version].reindex(names, fill_value=0.0).to_numpy(float)
        tops[version] = top_cells_sum_at_area(actual, score, km2, float(row["area_km2"]))
        assert row["top_hits"] == pytest.approx(tops[version]), version
        in_plan = np.isin(names, [c for a in record["areas"] for c in a["cells"]])
        assert row["plan_hits"] == int(actual[in_plan].sum())
    # the two versions' top cells differ, so comparing v1's plan with v2's would be wrong
    v1_area = float(rows.loc[records["v1"]["etag"], "area_km2"])
    score_v2 = expected["v2"].reindex(names, fill_value=0.0).to_numpy(float)
    assert tops["v1"] != pytest.approx(top_cells_sum_at_area(actual, score_v2, km2, v1_area))


def _truncated(path: Path) -> str:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return "is missing or damaged: Compressed file ended before the end-of-stream marker"


def _garbled(path: Path) -> str:
    path.write_bytes(gzip.compress(b'{"hotspots": [{"rank": 1, "cell": "not a forecast"}]}'))
    return "does not match its ETag"


@pytest.mark.parametrize("damage", [_truncated, _garbled], ids=["truncated", "garbled"])
def test_a_damaged_built_from_snapshot_fails_its_plan_alone(
    promoted: Path, tmp_path: Path, damage: Callable[[Path], str]
) -> None:
    # v1's snapshot is read only for the plan built from it (v2's is the week's last issued):
    # damaged, that plan fails with the file and why; the forecasts and v2's plan stand
    root = Path(shutil.copytree(promoted, tmp_path / "copy"))
    whole = realised_from_records(settings_of(root))
    assert whole.failures.empty
    records = plan_records(root)
    v1 = next(m for m in SnapshotStore(root / "state" / "snapshots").list("burglary")
              if m["version"] == "v1")  # fmt: skip
    path = root / "state" / "snapshots" / "burglary" / "2023-12-04" / v1["documents"][0]["file"]
    said = damage(path)

    after = realised_from_records(settings_of(root))
    [failure] = after.failures.to_dict("records")
    assert (failure["model"], failure["part"]) == ("burglary", "plans")
    reason = failure["reason"]
    assert reason.startswith(
        "1 served plan for 2023-12-04 (horizon 1) not scored: the forecast of 'burglary' v1 it "
        f"was built from: snapshot file {path} "
    )
    assert said in reason
    pd.testing.assert_frame_equal(after.periods, whole.periods)  # every forecast still scored
    pd.testing.assert_frame_equal(after.pending, whole.pending)
    lost = records["v1"]["etag"]
    kept = whole.plans.loc[whole.plans["etag"] != lost].reset_index(drop=True)
    assert (whole.plans["etag"] == lost).any() and len(kept) < len(whole.plans)
    pd.testing.assert_frame_equal(after.plans.reset_index(drop=True), kept)  # none rebuilt
    assert records["v2"]["etag"] in set(after.plans["etag"])
    unscored = after.unscored_plans.set_index("etag")
    assert (
        unscored.loc[lost, "why"] == f"see failures: served plans not computed: {failure['reason']}"
    )
    assert set(unscored.index) == {lost, *whole.unscored_plans["etag"]}


def _report(run_cli: Any, root: Path, out: Path) -> Any:
    return run_cli(
        "report", "effectiveness", "--out", out, "--state-dir", root / "state",
        "--models-dir", root / "models", "--events", root / "events.parquet",
    )  # fmt: skip


def test_the_report_of_one_model_with_only_a_plan_lost_is_written_and_exits_0(
    promoted: Path, tmp_path: Path, run_cli: Any
) -> None:
    # the one model's forecasts and monitor are reported: exit 0, the plan's failure said;
    # its scored week's own snapshot damaged, nothing of its forecasts is: exit 2
    root = Path(shutil.copytree(promoted, tmp_path / "copy"))
    whole = _report(run_cli, root, tmp_path / "whole")
    assert whole.code == 0, whole.err
    assert "1 of 1 models reported in full" in whole.err
    metas = SnapshotStore(root / "state" / "snapshots").list("burglary")
    files = {m["version"]: m["documents"][0]["file"] for m in metas}
    folder = root / "state" / "snapshots" / "burglary" / "2023-12-04"
    said = _truncated(folder / files["v1"])

    res = _report(run_cli, root, tmp_path / "out")
    assert res.code == 0, res.err
    assert "not reported: burglary: served plans not computed: 1 served plan for 2023-12-04" in (
        res.err
    )
    assert said in res.err
    assert "0 of 1 models reported in full (burglary: all but some served plans)" in res.err
    [failure] = pd.read_csv(tmp_path / "out" / "failures.csv").to_dict("records")
    assert (failure["model"], failure["part"]) == ("burglary", "plans")
    for name in ("periods.csv", "monitor_periods.csv", "flags.csv", "pending.csv"):
        pd.testing.assert_frame_equal(
            pd.read_csv(tmp_path / "out" / name), pd.read_csv(tmp_path / "whole" / name)
        )

    _truncated(folder / files["v2"])
    broken = _report(run_cli, root, tmp_path / "broken")
    assert broken.code == 2, broken.err
    assert "0 of 1 models reported in full;" in broken.err
    parts = set(pd.read_csv(tmp_path / "broken" / "failures.csv")["part"])
    assert "realised" in parts
