"""Plans of several crime types fail per combination: when one of three served models is
broken (its served forecasts damaged, or scoring its part of a plan raises), the plans that
need it are one ``failures.csv`` row per combination naming the plans and why, and every
other combination's plans are scored as if nothing were broken, in ``hotspots report
effectiveness`` and ``GET /v1/effectiveness`` alike."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hotspots.access.keys import KEYS_FILE, KeyStore
from hotspots.errors import RecordUnreadableError
from hotspots.features import Panel
from hotspots.feedback import plans_combined
from hotspots.feedback.served import ServedForecast
from hotspots.publishing.plan_store import PlanStore
from hotspots.service.app import create_app
from served_state import served_root, settings_of

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

TARGET = "Burglary Residential"
PAIRS = ("category=burglary&category=other", "category=other&category=third")
"""Plans of two types asked of the first service, beside its default plan of all three."""
WHY_SNAPSHOT = "realised effectiveness not computed: snapshot file"
WHY_RAISED = "third's expected counts unreadable"


@pytest.fixture(scope="module")
def three(
    tmp_path_factory: pytest.TempPathFactory, year_city_events: pd.DataFrame, year_panel: Panel
) -> Path:
    """Three models served for two weeks; as of 2023-12-04 the plans of all three types
    (the default), of burglary and other, and of other and third were recorded."""
    others = [c for c in year_panel.categories if c != TARGET][:2]
    targets = {"burglary": TARGET, "other": others[0], "third": others[1]}
    root = tmp_path_factory.mktemp("three_types")
    return served_root(root, year_city_events, year_panel, targets, PAIRS)


@pytest.fixture
def copy(three: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(three, tmp_path / "state_copy"))


def _report(run_cli: Any, root: Path, out: Path) -> Any:
    return run_cli(
        "report", "effectiveness", "--out", out, "--state-dir", root / "state",
        "--models-dir", root / "models", "--events", root / "events.parquet",
    )  # fmt: skip


def _damage_third(root: Path) -> None:
    """Third's last served snapshot for 2023-12-04 (the plans' as_of) is not gzip."""
    last = sorted((root / "state" / "snapshots" / "third").glob("2023-12-04/*.json.gz"))[-1]
    last.write_bytes(b"xx")


def _unreadable_third(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scoring third's part of a combined plan raises, as a damaged record does."""
    real = plans_combined.expected_on

    def expected_on(forecast: ServedForecast, cells: np.ndarray) -> np.ndarray:
        if forecast.name == "third":
            raise RecordUnreadableError(WHY_RAISED)
        return real(forecast, cells)

    monkeypatch.setattr(plans_combined, "expected_on", expected_on)


def _plans_of(frame: pd.DataFrame, model: str) -> pd.DataFrame:
    return frame.loc[frame["model"] == model].reset_index(drop=True)


@pytest.mark.parametrize("broken", ["snapshot", "scoring"])
def test_one_broken_model_fails_only_the_combinations_that_need_it(
    copy: Path,
    tmp_path: Path,
    run_cli: Any,
    monkeypatch: pytest.MonkeyPatch,
    broken: str,
) -> None:
    plans = PlanStore(copy / "state" / "plans").read()
    records = {tuple(r["params"]["types"]): r for r in plans if r["period_start"] == "2023-12-04"}
    assert set(records) == {("burglary", "other", "third"), ("burglary", "other"),
                            ("other", "third")}  # fmt: skip
    whole = _report(run_cli, copy, tmp_path / "whole")
    assert whole.code == 0, whole.err
    before = pd.read_csv(tmp_path / "whole" / "plans.csv")
    assert set(before.query("horizon == 1")["model"]) == {
        "burglary+other+third", "burglary+other", "other+third"
    }  # fmt: skip
    assert pd.read_csv(tmp_path / "whole" / "failures.csv").empty

    if broken == "snapshot":
        _damage_third(copy)
    else:
        _unreadable_third(monkeypatch)
    res = _report(run_cli, copy, tmp_path / "out")
    assert res.code == 0, res.err  # burglary and other are reported in full
    out = tmp_path / "out"
    failures = pd.read_csv(out / "failures.csv")
    combos = failures.loc[failures["part"] == "plans"]
    assert combos["model"].tolist() == ["burglary+other+third", "other+third"]
    said = "1 served plan for 2023-12-04 (horizon 1) not scored: "
    for reason in combos["reason"]:
        if broken == "snapshot":
            assert reason.startswith(f"{said}model 'third' failed ({WHY_SNAPSHOT} ")
            assert "2023-12-04" in reason and "Not a gzipped file" in reason
        else:
            assert reason == f"{said}{WHY_RAISED}"
    alone = failures.loc[failures["part"] != "plans"]
    assert set(alone["model"]) == ({"third"} if broken == "snapshot" else set())
    in_full = 2 if broken == "snapshot" else 3  # third's own figures need no other model
    assert f"{in_full} of 3 models reported in full" in res.err
    assert "not reported: other+third: served plans of several crime types not computed: " in (
        res.err
    )
    # the combination that does not need third: value for value as before
    after = pd.read_csv(out / "plans.csv")
    pd.testing.assert_frame_equal(
        _plans_of(after, "burglary+other"), _plans_of(before, "burglary+other")
    )
    assert _plans_of(after, "burglary+other").query("source == 'served'")["etag"].tolist() == [
        records[("burglary", "other")]["etag"]
    ]
    assert not {"burglary+other+third", "other+third"} & set(after["model"])
    for name in ("burglary", "other"):  # each model alone too
        pd.testing.assert_frame_equal(_plans_of(after, name), _plans_of(before, name))
    # the plans lost say where to look; the one of 2024-01-01 is still pending, as before
    unscored = pd.read_csv(out / "unscored_plans.csv").set_index("etag")
    was = pd.read_csv(tmp_path / "whole" / "unscored_plans.csv").set_index("etag")
    lost = [records[t]["etag"] for t in (("burglary", "other", "third"), ("other", "third"))]
    assert sorted(unscored.index) == sorted([*lost, *was.index])
    assert (
        unscored.loc[lost, "why"]
        .str.startswith(f"see failures: served plans of several crime types not computed: {said}")
        .all()
    )
    pd.testing.assert_frame_equal(unscored.drop(index=lost), was)
    page = (out / "effectiveness.html").read_text(encoding="utf-8")
    assert "other+third: not reported in full" in page
    assert "burglary+other: the served plans of several crime types" in page

    key = KeyStore(copy / "state" / KEYS_FILE).create("r", ["forecasts:read"])[1]
    with TestClient(create_app(settings_of(copy))) as client:
        got = client.get("/v1/effectiveness", headers={"Authorization": f"Bearer {key}"})
    assert got.status_code == 200, got.text
    body = got.json()
    [combined] = body["combined_plans"]
    assert combined["types"] == ["burglary", "other"]
    [week] = combined["periods"]
    [plan] = week["plans"]
    served = _plans_of(before, "burglary+other").set_index("source").loc["served"]
    assert plan["etag"] == served["etag"]
    for figure in ("areas", "plan_hits", "top_hits"):
        assert plan["served"][figure] == served[figure]
    for figure in ("area_km2", "plan_hit_rate", "plan_pai"):
        assert plan["served"][figure] == pytest.approx(served[figure], abs=1e-6)  # 6 places
    failed = {(f["model"], f["part"]): f["reason"] for f in body["failed"]}
    assert {k for k in failed if k[1] == "plans"} == {
        ("burglary+other+third", "plans"), ("other+third", "plans")
    }  # fmt: skip
    for (_, part), reason in failed.items():
        if part == "plans" and broken == "snapshot":
            assert "<state>/snapshots/third/" in reason and str(copy) not in reason
        elif part == "plans":
            assert reason == f"{said}{WHY_RAISED}"
