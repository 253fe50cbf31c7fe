"""``hotspots report effectiveness`` over three served models. Plans of several crime types
fail per combination: when one model is broken (its served forecasts damaged, or scoring its
part of a plan raises), the plans that need it are one ``failures.csv`` row per combination
naming the plans and why, and every other combination's plans are scored as if nothing were
broken, in the report and ``GET /v1/effectiveness`` alike. The area layer is read once for
all the models, with the figures each model's report alone gives."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path
from typing import Any

import h3
import numpy as np
import pandas as pd
import pytest

from hotspots.access.keys import KEYS_FILE, KeyStore
from hotspots.errors import RecordUnreadableError
from hotspots.features import Panel
from hotspots.feedback import plans_combined
from hotspots.feedback.served import ServedForecast
from hotspots.publishing.plan_store import PlanStore
from hotspots.registry import Registry
from hotspots.service.app import create_app
from hotspots.service.schemas_feedback import Effectiveness
from served_state import halves, served_root, settings_of

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


def _report(run_cli: Any, root: Path, out: Path, *more: str | Path) -> Any:
    return run_cli(
        "report", "effectiveness", "--out", out, "--state-dir", root / "state",
        "--models-dir", root / "models", "--events", root / "events.parquet", *more,
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
    assert "not reported: other+third: served plans not computed: " in (res.err)
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
        .str.startswith(f"see failures: served plans not computed: {said}")
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
    Effectiveness.model_validate(body)  # the documented shape holds a 'plans' failure
    failed = {(f["model"], f["part"]): f["reason"] for f in body["failed"]}
    assert {k for k in failed if k[1] == "plans"} == {
        ("burglary+other+third", "plans"), ("other+third", "plans")
    }  # fmt: skip
    for (_, part), reason in failed.items():
        if part == "plans" and broken == "snapshot":
            assert "<state>/snapshots/third/" in reason and str(copy) not in reason
        elif part == "plans":
            assert reason == f"{said}{WHY_RAISED}"


def test_the_api_says_a_plan_needing_an_unloadable_model_failed_as_the_report_does(
    copy: Path, tmp_path: Path, run_cli: Any
) -> None:
    # third's current version no longer matches its checksum: the service cannot load it,
    # so the plans that need it failed with that load error, not "not scored"
    card = next((copy / "models" / "third").rglob("MODEL_CARD.md"))
    card.write_text("tampered", encoding="utf-8")
    res = _report(run_cli, copy, tmp_path / "out")
    assert res.code == 0, res.err
    report = pd.read_csv(tmp_path / "out" / "failures.csv")
    why = "MODEL_CARD.md sha256 mismatch"
    assert report["model"].tolist() == ["burglary+other+third", "other+third", "third"]
    assert report["part"].tolist() == ["plans", "plans", "registry"]
    assert why in report["reason"].iloc[2]
    said = "1 served plan for 2023-12-04 (horizon 1) not scored: model 'third' failed ("
    assert all(r.startswith(said) and why in r for r in report["reason"].iloc[:2])

    key = KeyStore(copy / "state" / KEYS_FILE).create("r", ["forecasts:read"])[1]
    with TestClient(create_app(settings_of(copy))) as client:
        got = client.get("/v1/effectiveness", headers={"Authorization": f"Bearer {key}"})
    assert got.status_code == 200, got.text
    body = got.json()
    failed = pd.DataFrame(body["failed"])[["model", "part", "reason"]]
    # the same rows, the server's folders said as <models> / <state>
    expected = report.assign(reason=report["reason"].str.replace(str(copy / "models"), "<models>"))
    pd.testing.assert_frame_equal(failed, expected)
    assert [m["name"] for m in body["models"]] == ["burglary", "other"]
    assert [c["types"] for c in body["combined_plans"]] == [["burglary", "other"]]


def test_the_area_layer_is_read_once_for_every_model(
    three: Path,
    tmp_path: Path,
    run_cli: Any,
    monkeypatch: pytest.MonkeyPatch,
    year_city_events: pd.DataFrame,
) -> None:
    import geopandas

    areas = _halves(tmp_path / "areas.geojson", year_city_events)
    layer = ("--monitor-areas", areas, "--monitor-group-field", "side",
             "--monitor-population-field", "people")  # fmt: skip
    alone = {}
    for name in ("burglary", "other", "third"):
        res = _report(run_cli, three, tmp_path / name, "--model", name, *layer)
        assert res.code == 0, res.err
        alone[name] = pd.read_csv(tmp_path / name / "monitor_groups.csv")
    reads: list[object] = []
    real = geopandas.read_file

    def read_file(*args: Any, **kwargs: Any) -> Any:
        reads.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(geopandas, "read_file", read_file)
    res = _report(run_cli, three, tmp_path / "all", *layer)
    assert res.code == 0, res.err
    assert reads == [areas]
    groups = pd.read_csv(tmp_path / "all" / "monitor_groups.csv")
    for name, one in alone.items():
        mine = groups.loc[groups["model"] == name].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, one)
        by_group = mine.set_index("group")
        assert by_group["population_share"].to_dict() == {"east": 0.75, "west": 0.25}
        assert by_group["cells"].to_dict() == _cells_by_side(three, name, areas)


def _cells_by_side(root: Path, name: str, areas: Path) -> dict[str, int]:
    """The model's cells whose centre is in each half (by hand: h3 and the two boxes)."""
    [west, east] = json.loads(areas.read_text())["features"]
    out = {}
    for feature in (west, east):
        ring = feature["geometry"]["coordinates"][0]
        w, e = min(p[0] for p in ring), max(p[0] for p in ring)
        s, n = min(p[1] for p in ring), max(p[1] for p in ring)
        centres = [h3.cell_to_latlng(h3.int_to_str(int(c))) for c in _cells(root, name)]
        out[feature["properties"]["side"]] = sum(
            s <= lat <= n and w <= lng <= e for lat, lng in centres
        )
    return out


def _cells(root: Path, name: str) -> np.ndarray:
    return Registry(root / "models").load(name).forecaster.cells_


def _halves(path: Path, events: pd.DataFrame) -> Path:
    """The events' west and east halves (fields ``side`` and ``people``: 1000 and 3000)."""
    lat, lng = events["lat"], events["lng"]
    return halves(path, float(lat.min()), float(lng.min()), float(lat.max()), float(lng.max()))
