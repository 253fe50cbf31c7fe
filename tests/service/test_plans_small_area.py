"""A study area smaller than the default plan (6 areas of at most 1 km2): the plan published
with the forecasts is fitted to it and says so, instead of a 503 until an operator changes a
setting; a budget asked for that exceeds the study area is still a 422 naming it."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h3
import numpy as np
import pandas as pd
import pytest
from served_env import key_store, publish_historical_mean, settings_of

from hotspots.features import events_to_panel
from hotspots.grid import cells_area_km2, points_to_cells, strings_to_cells
from hotspots.service.app import create_app
from hotspots.service.plan_schemas import PlanDocument

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PATH = "/v1/plans/latest"


@pytest.fixture(scope="module")
def small_root(tmp_path_factory: pytest.TempPathFactory, year_city_events: pd.DataFrame) -> Path:
    """The year city's events in the 7 resolution-9 cells around its busiest one (0.74 km2)
    and a historical-mean burglary model of them."""
    events = year_city_events
    cells = points_to_cells(events["lat"].to_numpy(), events["lng"].to_numpy(), 9)
    busiest = h3.int_to_str(int(pd.Series(cells).value_counts().index[0]))
    disk = strings_to_cells(h3.grid_disk(busiest, 1))
    kept = events.loc[np.isin(cells, disk)].reset_index(drop=True)
    root = tmp_path_factory.mktemp("small_area")
    publish_historical_mean(root, kept, events_to_panel(kept, 9, "W"))
    return root


@pytest.fixture(scope="module")
def client(small_root: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings_of(small_root))) as c:
        yield c


def get(client: TestClient, root: Path, query: str = "") -> Any:
    key = key_store(root).create("r", ["forecasts:read"])[1]
    return client.get(f"{PATH}{query}", headers={"Authorization": f"Bearer {key}"})


def test_the_default_plan_is_fitted_to_a_study_area_under_1_km2(
    client: TestClient, small_root: Path
) -> None:
    state = client.app.state.service  # type: ignore[attr-defined]
    cells = state.served["burglary"].model.cells_
    km2 = cells_area_km2(np.asarray(cells, dtype=np.uint64))
    whole = float(km2.sum())
    assert cells.size == 7 and whole < 1.0
    got = get(client, small_root)
    assert got.status_code == 200, got.text  # a 503 until an operator lowered the setting
    plan = got.json()
    PlanDocument.model_validate(plan)  # the documented shape, note included
    share = math.floor(whole / 6 * 1e4) / 1e4  # an even share of the study area, 4 digits down
    assert plan["budget"] == {
        "areas": 6,
        "max_area_km2": share,
        "total_km2": None,
        "note": "fitted to the study area (7 cells at H3 resolution 9): the default budget, 6 "
        "areas of at most 1 km2, asks for more ground than its "
        f"{math.floor(whole * 1e4) / 1e4:.4g} km2; this plan has 6 areas of at most "
        f"{share:.4g} km2. A budget asked for is not fitted.",
    }
    assert len(plan["areas"]) == 6 and all(a["area_km2"] <= share for a in plan["areas"])
    # the map page starts from the fitted budget, so its first plan is not refused
    config = client.get("/map/config").json()
    assert config["plan"] == {"areas": 6, "max_area_km2": share, "shifts": [0, 6, 12, 18]}
    asked = get(client, small_root, f"?areas=6&max_area_km2={share}")
    assert asked.status_code == 200 and "note" not in asked.json()["budget"]
    assert [a["cells"] for a in asked.json()["areas"]] == [a["cells"] for a in plan["areas"]]


def test_a_budget_asked_for_is_not_fitted_and_a_too_large_one_is_refused(
    client: TestClient, small_root: Path
) -> None:
    for query, detail in (
        ("?areas=6&max_area_km2=1", "max_area_km2 1: an area of up to 1 km2 is larger than the "
         "whole study area (0.7"),
        ("?areas=8", "--areas 8: more areas than the model's 7 cells"),
        ("?total_km2=5", "total_km2 5 over 6 areas: an area of up to 0.8333 km2 is larger than "
         "the whole study area"),
    ):  # fmt: skip
        got = get(client, small_root, query)
        assert got.status_code == 422, (query, got.text)
        assert got.headers["content-type"] == "application/problem+json"
        assert got.json()["detail"].startswith(detail), got.json()["detail"]
    # the number of areas asked, the km2 left to the default: the km2 is fitted to them
    three = get(client, small_root, "?areas=3").json()
    assert three["budget"]["areas"] == 3 and three["budget"]["max_area_km2"] < 0.3
    assert "this plan has 3 areas of at most" in three["budget"]["note"]


def test_hotspots_plan_writes_the_fitted_plan_the_api_serves(
    client: TestClient, small_root: Path, run_cli: Any, tmp_path: Path
) -> None:
    state = client.app.state.service  # type: ignore[attr-defined]
    as_of = str(state.served["burglary"].snapshot.as_of.date())
    out = tmp_path / "plan.json"
    result = run_cli(
        "plan", "--models-dir", small_root / "models", "--events", small_root / "events.parquet",
        "--as-of", as_of, "--output", out,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert out.read_bytes() == get(client, small_root).content
    assert "note: fitted to the study area (7 cells" in result.err
    assert json.loads(out.read_bytes())["budget"]["note"].endswith("is not fitted.")
