"""/map: the officer's map, its vendored MapLibre, and (where a headless Chromium is installed)
a real browser that types a key, sees the cells and the numbered patrol areas, clicks one for
its reasons, keeps the map on a 304 poll, and is told clearly when a key is wrong."""

from __future__ import annotations

import json
import re
import warnings
from importlib import resources
from pathlib import Path

import pytest

from hotspots.config import Settings
from hotspots.service.app import create_app
from hotspots.service.headers import PAGE_POLICY
from hotspots.service.map_page import MAPLIBRE_VERSION, map_policy

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

STATIC = resources.files("hotspots.service").joinpath("static")


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app())  # the page needs no registry


def test_the_page_loads_only_files_the_service_serves(client: TestClient) -> None:
    page = client.get("/map")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == PAGE_POLICY  # no tiles: nothing else
    links = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    links.remove("data:,")  # no favicon to fetch
    assert links and all(link.startswith("/map/assets/") for link in links), links
    assert "http" not in page.text and "<script>" not in page.text and "style=" not in page.text
    script = client.get("/map/assets/map.js").text
    assert 'from "/map/assets/maplibre-gl.mjs"' in script
    assert re.findall(r"fetch\(([^,)]+)", script) == ["url", '"/map/config"']  # the API only
    for name in ("maplibre-gl.mjs", "maplibre-gl-worker.mjs", "maplibre-gl.css", "map.js"):
        asset = client.get(f"/map/assets/{name}")
        assert asset.status_code == 200, name
        folder = STATIC if name.startswith("map.") else STATIC.joinpath("maplibre-gl")
        assert asset.content == folder.joinpath(name).read_bytes()
        assert asset.headers["cache-control"] == "public, max-age=86400"
    assert client.get("/map/assets/package.json").status_code == 404
    assert 'href="/map"' in client.get("/").text and 'href="/docs"' in client.get("/").text


def test_the_vendored_release_is_pinned_with_its_licence() -> None:
    vendored = STATIC.joinpath("maplibre-gl")
    package = json.loads(vendored.joinpath("package.json").read_text())
    assert (package["name"], package["version"]) == ("maplibre-gl", MAPLIBRE_VERSION)
    assert package["license"] == "BSD-3-Clause"
    assert "Redistribution and use" in vendored.joinpath("LICENSE.txt").read_text()
    assert f"maplibre-gl@{MAPLIBRE_VERSION}" in vendored.joinpath("VENDORED.md").read_text()


def test_every_asset_is_package_data_so_pip_install_ships_it() -> None:
    """An editable install reads the source tree; a wheel holds only the package-data globs."""
    import fnmatch
    import tomllib

    from hotspots.service import docs, map_page

    root = Path(__file__).resolve().parents[2]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["hotspots"]
    files = [f"service/static/{path}" for path, _ in map_page._ASSETS.values()]
    files += [f"service/static/{path}" for path, _ in docs._ASSETS.values()]
    files += ["service/static/map.html", "service/static/docs.html"]
    for name in files:
        assert any(fnmatch.fnmatch(name, g) and "/" not in name[len(g) - 1 :] for g in globs), name


def test_a_tile_server_is_admitted_only_when_configured(tmp_path: Path) -> None:
    tiles = "https://tiles.example.org:8443/osm/{z}/{x}/{y}.png"
    settings = Settings(models_dir=tmp_path / "m", state_dir=tmp_path / "s", map_tiles=tiles)
    with TestClient(create_app(settings)) as c:
        policy = c.get("/map").headers["content-security-policy"]
        assert policy == map_policy(tiles)
        assert "img-src 'self' data: blob: https://tiles.example.org:8443;" in policy
        assert "connect-src 'self' https://tiles.example.org:8443;" in policy
        config = c.get("/map/config").json()
    assert config == {
        "tiles": tiles,
        "horizon": 4,
        "plan": {"areas": 6, "max_area_km2": 1.0},
        "poll_seconds": 30,
    }
    assert map_policy(None) == PAGE_POLICY
