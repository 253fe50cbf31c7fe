"""Named areas: ``within=`` on /v1/forecasts/latest and the list at /v1/areas, from a polygon
file the operators configure (HOTSPOTS_AREAS_PATH and HOTSPOTS_AREAS_FIELD)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from served_env import Env, settings_of

from hotspots.grid import cells_to_latlng, cells_to_strings
from hotspots.service.app import create_app

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def box(south: float, west: float, north: float, east: float) -> dict:  # type: ignore[type-arg]
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def write_areas(path: Path, areas: dict[str, dict]) -> Path:  # type: ignore[type-arg]
    features = [
        {"type": "Feature", "properties": {"district": name}, "geometry": geometry}
        for name, geometry in areas.items()
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_within_keeps_the_ranking_of_the_cells_inside_a_named_area(
    env_copy: Env, tmp_path: Path
) -> None:
    north = (env_copy.lat + 1e-4, env_copy.lng - 1, env_copy.lat + 1, env_copy.lng + 1)
    areas = write_areas(
        tmp_path / "districts.geojson", {"North": box(*north), "Sea": box(0, 0, 1, 1)}
    )
    settings = settings_of(env_copy.root, areas_path=areas, areas_field="district")
    with TestClient(create_app(settings)) as c:
        served = c.app.state.service.served["burglary"]  # type: ignore[attr-defined]
        lat, _ = cells_to_latlng(served.cells)
        inside = set(cells_to_strings(served.cells[lat > north[0]]))
        assert 20 < len(inside) < served.cells.size
        listed = c.get("/v1/areas", headers=auth(env_copy.read))
        assert listed.status_code == 200
        assert listed.json()["areas"] == [
            {"name": "North", "cells": len(inside)},
            {"name": "Sea", "cells": 0},
        ]
        everything = c.get("/v1/forecasts/latest?coverage=1", headers=auth(env_copy.read))
        ranked = [h["cell"] for h in everything.json()["hotspots"]]
        got = c.get("/v1/forecasts/latest?within=North&top=25", headers=auth(env_copy.read))
        assert got.status_code == 200, got.text
        cells = [h["cell"] for h in got.json()["hotspots"]]
        assert cells == [x for x in ranked if x in inside][:25]
        assert [h["rank"] for h in got.json()["hotspots"]] == sorted(
            ranked.index(x) + 1 for x in cells
        )  # the city-wide ranks, not 1..25
        sea = c.get("/v1/forecasts/latest?within=Sea", headers=auth(env_copy.read))
        assert sea.status_code == 200 and sea.json()["hotspots"] == []
        unknown = c.get("/v1/forecasts/latest?within=Nowhere", headers=auth(env_copy.read))
        assert unknown.status_code == 422
        assert unknown.json()["detail"] == (
            "within 'Nowhere' is not a named area; areas: 'North', 'Sea'"
        )


def test_without_an_areas_file_within_says_none_are_configured(env_copy: Env) -> None:
    with TestClient(create_app(settings_of(env_copy.root))) as c:
        got = c.get("/v1/forecasts/latest?within=North", headers=auth(env_copy.read))
        assert got.status_code == 422
        assert got.json()["detail"].endswith("areas: none are configured")
        assert c.get("/v1/areas", headers=auth(env_copy.read)).json()["areas"] == []


@pytest.mark.parametrize(
    ("field", "content", "expect"),
    [
        ("name", None, "field 'name' not found"),
        ("district", "not json", "cannot read boundary file"),
    ],
)
def test_a_bad_areas_file_keeps_the_model_out_and_says_why(
    env_copy: Env, tmp_path: Path, field: str, content: str | None, expect: str
) -> None:
    path = write_areas(tmp_path / "a.geojson", {"North": box(0, 0, 1, 1)})
    if content is not None:
        path.write_text(content)
    settings = settings_of(env_copy.root, areas_path=path, areas_field=field)
    with TestClient(create_app(settings)) as c:
        ready = c.get("/readyz", headers={"Authorization": f"Bearer {env_copy.read}"})
    assert ready.status_code == 503
    assert expect in json.dumps(ready.json())
