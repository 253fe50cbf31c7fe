"""/map: the officer's map, its vendored MapLibre, and (where a headless Chromium is installed)
a real browser that types a key, sees the cells and the numbered patrol areas, clicks one for
its reasons, keeps the map on a 304 poll, and is told clearly when a key is wrong."""

from __future__ import annotations

import hashlib
import json
import re
import time
import warnings
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pandas as pd
import pytest
from headless import chromium_or_skip, fresh_page, wait_for
from served_env import publish_historical_mean

from hotspots.config import Settings
from hotspots.features import Panel
from hotspots.service.app import create_app
from hotspots.service.headers import PAGE_POLICY
from hotspots.service.map_page import MAPLIBRE_VERSION, map_policy

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

STATIC = resources.files("hotspots.service").joinpath("static")
WORKER = "maplibre-gl-worker.mjs"


def asset_hash(folder: Any, name: str) -> str:
    """The hash a URL names a file by: a prefix of the sha256 of its bytes."""
    return hashlib.sha256(folder.joinpath(name).read_bytes()).hexdigest()[:16]


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app())  # the page needs no registry


def test_the_page_loads_only_files_the_service_serves(client: TestClient) -> None:
    page = client.get("/map")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == PAGE_POLICY  # no tiles: nothing else
    assert page.headers["cache-control"] == "no-cache"  # it names the files' current hashes
    links = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    links.remove("data:,")  # no favicon to fetch
    assert links and all(re.fullmatch(r"/map/assets/[\w.-]+\?v=[0-9a-f]{16}", u) for u in links)
    assert "http" not in page.text and "<script>" not in page.text and "style=" not in page.text
    (script_url,) = (u for u in links if u.startswith("/map/assets/map.js?"))
    script = client.get(script_url).text
    hashed = dict(re.findall(r'"/map/assets/([\w.-]+)\?v=([0-9a-f]{16})"', script))
    assert re.findall(r'from "([^"]+)"', script) == [
        f"/map/assets/maplibre-gl.mjs?v={hashed['maplibre-gl.mjs']}",
        f"/map/assets/panel.js?v={hashed['panel.js']}",
        f"/map/assets/shifts.js?v={hashed['shifts.js']}",
    ]
    assert f'setWorkerUrl("/map/assets/maplibre-gl-worker.mjs?v={hashed[WORKER]}")' in script
    assert re.findall(r"fetch\(([^,)]+)", script) == ["url", '"/map/config"']  # the API only
    for name in ("shifts.js", "panel.js"):
        assert "fetch(" not in client.get(f"/map/assets/{name}").text
    for name in ("maplibre-gl.mjs", WORKER, "maplibre-gl.css", "shifts.js", "panel.js"):
        folder = STATIC.joinpath("maplibre-gl") if name.startswith("maplibre-gl") else STATIC
        for url in (f"/map/assets/{name}", f"/map/assets/{name}?v={asset_hash(folder, name)}"):
            asset = client.get(url)
            assert asset.status_code == 200, url
            assert asset.content == folder.joinpath(name).read_bytes()  # names no other file
            assert asset.headers["etag"] == f'"{asset_hash(folder, name)}"'
            assert asset.headers["cache-control"] == (
                "no-cache" if url.endswith(name) else "public, max-age=31536000, immutable"
            )
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
        "plan": {"areas": 6, "max_area_km2": 1.0, "shifts": [0, 6, 12, 18]},
        "poll_seconds": 30,
    }
    assert map_policy(None) == PAGE_POLICY


# -- in a real browser ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
    year_city_events: pd.DataFrame,
    year_panel: Panel,
) -> Iterator[tuple[str, str, Path]]:
    """A running service (base URL, a read key, its root) with plans of areas of 3 km2."""
    from live_server import served_root

    root = tmp_path_factory.mktemp("map")
    publish_historical_mean(root, year_city_events, year_panel)
    with served_root(root, HOTSPOTS_PLAN_MAX_AREA_KM2="3") as (base, key):
        yield base, key, root


@pytest.fixture(scope="module")
def browser(served: tuple[str, str, Path]) -> Iterator[Any]:
    driver = chromium_or_skip()
    try:
        yield driver
    finally:
        driver.quit()


def _type_key(browser: Any, key: str) -> None:
    field = browser.find_element("id", "key")
    field.send_keys(key)
    browser.find_element("css selector", "#key-form button").click()


@pytest.mark.slow
def test_an_officer_sees_the_cells_and_the_numbered_areas_and_why(
    browser: Any, served: tuple[str, str, Path]
) -> None:
    base, key, root = served
    auth = {"X-API-Key": key}
    cells = httpx.get(
        f"{base}/v1/forecasts/latest?model=burglary&horizon=1&top=250&format=geojson",
        headers=auth,
    ).json()
    plan = httpx.get(
        f"{base}/v1/plans/latest?category=burglary&horizon=1&areas=6&max_area_km2=3&format=json",
        headers=auth,
    ).json()
    browser.get(f"{base}/map")
    _type_key(browser, key)
    drawn = wait_for(
        browser,
        "const d = window.hotspotsMap.drawn(); return d && d.cells && d.areas && d.labels && d;",
    )
    assert drawn == {"cells": len(cells["features"]), "areas": 6, "labels": 6}
    assert len(plan["areas"]) == 6
    status = browser.find_element("id", "status").text
    assert (
        f"{len(cells['features'])} highest cells of the week of {cells['period']['start']}; "
        in (status)
    )
    # the year city ends in 2023: its week is long over, and the page says so
    assert (
        "This week is over: the newest events the service has are of the week of "
        f"{cells['data_through']}." in status
    ), status
    assert f"6 patrol areas ({plan['summary']['area_km2']:.2f} km², " in status
    assert browser.execute_script("return sessionStorage.getItem('hotspots.key')") == key
    assert not browser.find_element("id", "key-form").is_displayed()

    # a click on area 1's number shows what, when and why
    browser.find_element("css selector", ".area-label").click()  # rank 1 is added first
    details = browser.find_element("id", "area").text
    first = plan["areas"][0]
    assert f"Area 1: {first['area_km2']:.2f} km²" in details
    assert all(reason in details for reason in first["reasons"])
    # one type served: its plan at the service's budget is the published one, so an area's
    # number is the patrol log's AS_OF/RANK id
    assert f"Area id {plan['as_of']}/1: give it as a patrol log's area." in details
    # for what: the crime types as the export names them (and the model where it differs)
    types = plan["types"]
    for model, count in first["expected_by_type"].items():
        label = ", ".join(types[model]["categories"])
        shown = label if label.lower() == model.lower() else f"{label} ({model})"
        assert f"{shown}: {count:.2f}" in details, (shown, details)
    when = first["when"]
    assert "When" in details
    if isinstance(when, str):
        assert "unknown" in details or "withheld" in details
    else:
        assert when["top_blocks_of_day"]  # the year city's area 1 names a shift: shown below
        for key, what in (
            ("top_blocks", "shifts of the week"),
            ("top_blocks_of_day", "shifts of the day"),
            ("top_hours", "hours of the week"),
            ("top_hours_of_day", "hours of the day"),
        ):
            hours = when[key]
            top = hours[0] if hours else None
            shown = (
                f"{top['label']} ({top['lift']}x: {top['events']} events)"
                if top
                else ("none stands out")
            )
            assert f"Busiest {what}: {shown}" in details, details
        assert f"share of the {when['events_with_time']} past events here" in details
        assert "a shift past midnight counts on the day it starts" in details
        assert when["events_without_time"] == 0 and "time of day is unknown" not in details
        # events read as dates at ingest (a placeholder clock time) are said under the when
        browser.execute_script("window.hotspotsMap.state.plan.get(1).when.events_without_time = 75")
        browser.find_element("css selector", ".area-label").click()
        details = browser.find_element("id", "area").text
        assert (
            "75 more past events here are left out: their time of day is unknown (a date only, "
            "or a placeholder time such as 00:01 read as a date)" in details
        ), details
        # the excess at a heaped clock minute (SF's 12:00) is said, and left out of the share
        assert when["placeholder_excess"] == {} and "not counted" not in details
        browser.execute_script(
            "window.hotspotsMap.state.plan.get(1).when.placeholder_excess = {'12:00': 40}"
        )
        browser.find_element("css selector", ".area-label").click()
        details = browser.find_element("id", "area").text
        assert (
            "About 40 more past events here at 12:00 are not counted: that clock time holds more "
            "than the hours around predict for it, as where an export writes it for an unknown "
            "time of day" in details
        ), details
        assert f"share of the {when['events_with_time'] - 40} past events here" in details

    # a poll answered 304 keeps the map as drawn
    before = browser.execute_script("return {...window.hotspotsMap.state.polls}")
    browser.execute_async_script("window.hotspotsMap.poll().then(arguments[0])")
    after = browser.execute_script("return {...window.hotspotsMap.state.polls}")
    assert after["notModified"] == before["notModified"] + 2  # cells and plan: 304
    assert after["changed"] == before["changed"]
    assert browser.execute_script("return window.hotspotsMap.drawn()") == drawn
    assert "(unchanged)" in browser.find_element("id", "status").text

    # nothing but this service was asked, and the key was never in a URL
    urls = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert urls and all(u.startswith(base + "/") for u in urls), urls
    assert not any(key in u or "hs_" in u for u in [*urls, browser.current_url])
    files = [u for u in urls if "/map/assets/" in u]  # each by its content hash
    assert files and all(re.search(r"\?v=[0-9a-f]{16}$", u) for u in files), files
    assert any(f"/{WORKER}?v=" in u for u in files), files  # MapLibre's worker too
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors  # no refused load, no CSP violation


@pytest.mark.slow
def test_a_wrong_key_is_told_clearly(browser: Any, served: tuple[str, str, Path]) -> None:
    base, key, _ = served
    fresh_page(browser, f"{base}/map")
    _type_key(browser, "hs_nothere_000000000000")
    message = wait_for(
        browser,
        "const m = document.getElementById('message'); return !m.hidden && m.textContent;",
    )
    assert "This key was refused: it is not a valid key, or it has been revoked." in message
    assert browser.find_element("id", "key-form").is_displayed()
    assert browser.execute_script("return sessionStorage.getItem('hotspots.key')") is None
    assert browser.execute_script("return window.hotspotsMap.state.map") is None  # no map


def _shifts_lines(when: dict[str, Any]) -> list[str]:
    """The popup's lines for an area's busiest shifts, from the plan's own values."""
    lines = []
    for key, what in (("top_blocks", "of the week"), ("top_blocks_of_day", "of the day")):
        named = ", ".join(f"{b['label']} ({b['lift']}x: {b['events']} events)" for b in when[key])
        lines.append(f"Busiest shifts {what}: {named or 'none stands out from an even spread'}")
    return lines


def _plans_asked(browser: Any) -> list[list[str]]:
    """The shifts= values of the plan requests the page made, in order ([] for none)."""
    urls = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    queries = [urlsplit(u).query for u in urls if urlsplit(u).path == "/v1/plans/latest"]
    return [parse_qs(q, keep_blank_values=True).get("shifts", []) for q in queries]


_SHOWN = "return document.getElementById('area').innerText.includes(arguments[0])"
_STATUS = "return document.getElementById('status').innerText.includes(arguments[0])"
_MESSAGE = "const m = document.getElementById('message'); return !m.hidden && m.textContent;"
_MESSAGE_NOT = (  # a message other than arguments[0]
    "const m = document.getElementById('message');"
    " return !m.hidden && m.textContent !== arguments[0] && m.textContent;"
)


@pytest.mark.slow
def test_an_area_of_one_cell_says_one_cell(browser: Any, served: tuple[str, str, Path]) -> None:
    # Houston's burglaries at resolution 8 with areas of at most 1 km2: every area was one
    # cell, and the page said "Area 1: 0.83 km², 1 cells"
    base, key, _ = served
    plan = httpx.get(
        f"{base}/v1/plans/latest?category=burglary&horizon=1&max_area_km2=1&format=json",
        headers={"X-API-Key": key},
    ).json()
    first = plan["areas"][0]
    assert first["n_cells"] == 1
    fresh_page(browser, f"{base}/map")
    _type_key(browser, key)
    wait_for(browser, "const d = window.hotspotsMap.drawn(); return d && d.areas === 6;")
    field = browser.find_element("id", "max-area")
    field.clear()
    field.send_keys("1")
    browser.find_element("css selector", "#controls button[type=submit]").click()
    wait_for(browser, _STATUS, f"6 patrol areas ({plan['summary']['area_km2']:.2f} km², ")
    browser.find_element("css selector", ".area-label").click()  # area 1
    said = wait_for(browser, "return document.querySelector('#area h2')?.textContent;")
    assert said == f"Area 1: {first['area_km2']:.2f} km², 1 cell"


@pytest.mark.slow
def test_an_officer_chooses_the_shifts_the_areas_are_told_in(
    browser: Any, served: tuple[str, str, Path]
) -> None:
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.select import Select

    base, key, _ = served
    auth = {"X-API-Key": key}

    def plan(shifts: str = "") -> httpx.Response:
        query = f"category=burglary&horizon=1&format=json{shifts and f'&shifts={shifts}'}"
        return httpx.get(f"{base}/v1/plans/latest?{query}", headers=auth)

    default, early = (plan(s).json()["areas"][0]["when"] for s in ("", "7,15,23"))
    # the year city's area 1 names shifts under both: the page must show which
    assert default["top_blocks_of_day"] and early["top_blocks_of_day"]
    assert {b["label"] for b in early["top_blocks_of_day"]} <= {
        "07:00-15:00", "15:00-23:00", "23:00-07:00"
    }  # fmt: skip
    refused = plan("25")
    assert refused.status_code == 422
    detail = refused.json()["detail"]

    fresh_page(browser, f"{base}/map")
    browser.get_log("browser")  # what earlier tests left
    _type_key(browser, key)
    wait_for(browser, "const d = window.hotspotsMap.drawn(); return d && d.areas === 6;")
    shifts = Select(browser.find_element("id", "shifts"))
    assert [(o.get_attribute("value"), o.text) for o in shifts.options] == [
        ("", "server default (4 x 6 h from 00:00)"),
        ("7,15,23", "3 x 8 h from 07:00"),
        ("6,14,22", "3 x 8 h from 06:00"),
        ("0,8,16", "3 x 8 h from 00:00"),
        ("7,19", "2 x 12 h from 07:00"),
        ("6,18", "2 x 12 h from 06:00"),
        ("other", "other: type the start hours"),
    ]
    assert shifts.first_selected_option.get_attribute("value") == ""
    browser.find_element("css selector", ".area-label").click()  # area 1
    for line in _shifts_lines(default):
        wait_for(browser, _SHOWN, line)
    assert _plans_asked(browser) == [[]]  # the server's default: no shifts= sent
    assert "shifts 4 x 6 h from 00:00" in browser.find_element("id", "status").text

    # a preset: sent as shifts=, and area 1's popup is told in its blocks
    shifts.select_by_value("7,15,23")
    for line in _shifts_lines(early):
        wait_for(browser, _SHOWN, line)
    assert _plans_asked(browser)[-1] == ["7,15,23"]
    assert "shifts 3 x 8 h from 07:00" in browser.find_element("id", "status").text
    drawn = browser.execute_script("return window.hotspotsMap.drawn()")
    assert drawn["areas"] == 6
    # its poll sends its own ETag (not the default plan's): both answers are 304
    before = browser.execute_script("return {...window.hotspotsMap.state.polls}")
    browser.execute_async_script("window.hotspotsMap.poll().then(arguments[0])")
    after = browser.execute_script("return {...window.hotspotsMap.state.polls}")
    assert (after["notModified"], after["changed"]) == (
        before["notModified"] + 2,
        before["changed"],
    )

    # typed hours the API refuses: its detail is shown, and the map drawn before is kept
    shifts.select_by_value("other")
    typed = browser.find_element("id", "shifts-text")
    assert typed.is_displayed()
    # nothing typed yet: no request (not shifts= empty), the message says what to type
    asked = len(_plans_asked(browser))
    typed.send_keys(Keys.ENTER)
    hint = wait_for(browser, _MESSAGE)
    kept = "The map still shows the choice drawn before."
    assert hint == f"Type the hours the shifts start at, e.g. 7,15,23 (each 0-23). {kept}"
    time.sleep(0.5)  # a request the page made would be listed by now
    assert len(_plans_asked(browser)) == asked
    assert browser.execute_script("return window.hotspotsMap.drawn()") == drawn
    assert browser.execute_script(_MESSAGE) == hint
    typed.send_keys("25", Keys.ENTER)
    message = wait_for(browser, _MESSAGE_NOT, hint)
    assert message == f"Could not load the map: {detail.rstrip('.')}. {kept}"
    assert "25 is not an hour of the day" in message
    assert _plans_asked(browser)[-1] == ["25"]
    assert browser.execute_script("return window.hotspotsMap.drawn()") == drawn
    details = browser.find_element("id", "area").text
    assert all(line in details for line in _shifts_lines(early)), details
    browser.execute_async_script("window.hotspotsMap.poll().then(arguments[0])")
    assert _plans_asked(browser)[-1] == ["7,15,23"]  # a poll asks again for what is drawn
    assert browser.execute_script(_MESSAGE) == message  # still told until another choice

    # back to the server's default: no shifts= again, and its blocks again
    shifts.select_by_value("")
    for line in _shifts_lines(default):
        wait_for(browser, _SHOWN, line)
    assert _plans_asked(browser)[-1] == []
    assert not browser.find_element("id", "message").is_displayed()
    assert not browser.find_element("id", "shifts-text").is_displayed()
    urls = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert not any(key in u for u in urls)
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert all("422" in e for e in errors), errors  # only the refused plan, logged by Chromium


@pytest.mark.slow
def test_an_area_the_new_plan_has_not_is_not_left_open(
    browser: Any, served: tuple[str, str, Path]
) -> None:
    base, key, _ = served
    fresh_page(browser, f"{base}/map")
    _type_key(browser, key)
    wait_for(browser, "const d = window.hotspotsMap.drawn(); return d && d.areas === 6;")
    browser.find_element("css selector", ".area-label[title='Area 6']").click()
    assert "Area 6: " in browser.find_element("id", "area").text
    areas = browser.find_element("id", "areas")
    areas.clear()
    areas.send_keys("3")
    browser.find_element("css selector", "#controls button[type=submit]").click()
    wait_for(browser, "const d = window.hotspotsMap.drawn(); return d && d.labels === 3;")
    assert browser.find_element("id", "area").text == ""  # not area 6 of a plan gone by


@pytest.mark.slow
def test_a_poll_draws_the_map_when_the_first_answers_failed(
    browser: Any, served: tuple[str, str, Path]
) -> None:
    base, key, _ = served
    fresh_page(browser, f"{base}/map")
    browser.get_log("browser")  # what earlier tests left
    # the first plans request is lost on the way (a dropped connection): nothing is drawn
    browser.execute_script(
        "const real = window.fetch; let lost = false;"
        "window.fetch = (url, init) => !lost && String(url).startsWith('/v1/plans/')"
        " ? (lost = true, Promise.reject(new TypeError('Failed to fetch'))) : real(url, init);"
    )
    _type_key(browser, key)
    assert wait_for(browser, _MESSAGE) == "Could not load the map: Failed to fetch."
    assert browser.execute_script("return window.hotspotsMap.state.shown") is None
    # the next poll asks again for the controls' choice (it asked for nothing, for good)
    browser.execute_async_script("window.hotspotsMap.poll().then(arguments[0])")
    wait_for(browser, "const d = window.hotspotsMap.drawn(); return d && d.areas === 6;")
    assert not browser.find_element("id", "message").is_displayed()
    assert "6 patrol areas" in browser.find_element("id", "status").text
