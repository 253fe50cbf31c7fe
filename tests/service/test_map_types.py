"""/map with two crime types served: besides each type's forecast and plan, the officer can
see the plan of every type together, the one /v1/plans/latest serves without category= and
``hotspots plan`` writes by default, with each area's count per type (for what); and with a
monthly model, the period selector says Month."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pandas as pd
import pytest
from headless import chromium_or_skip, fresh_page, wait_for
from served_env import TARGET, publish_historical_mean

from hotspots.features import Panel, events_to_panel
from hotspots.forecasters import make_forecaster
from hotspots.registry import Registry
from hotspots.synthetic import COLUMN_MAP, TIMEZONE

SHOWN = "const d = window.hotspotsMap.drawn(); return d && d.areas && d.labels && d;"


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
    year_city_events: pd.DataFrame,
    year_panel: Panel,
) -> Iterator[tuple[str, str]]:
    """A running service (base URL, a read key) serving "burglary" and "robbery"."""
    from live_server import served_root

    root = tmp_path_factory.mktemp("map_types")
    publish_historical_mean(root, year_city_events, year_panel)
    other = next(c for c in year_panel.categories if c != TARGET)
    model = make_forecaster("historical_mean", target=(other,)).fit(year_panel)
    spec = {"data": {"map": COLUMN_MAP, "timezone": TIMEZONE}}
    Registry(root / "models").publish(
        "robbery", model, spec=spec, data={"timezone": TIMEZONE}, backtest={}
    )
    with served_root(root, HOTSPOTS_PLAN_MAX_AREA_KM2="3") as served:
        yield served


@pytest.fixture(scope="module")
def monthly(
    tmp_path_factory: pytest.TempPathFactory, year_city_events: pd.DataFrame
) -> Iterator[tuple[str, str]]:
    """A running service (base URL, a read key) serving a monthly "burglary" model."""
    from live_server import served_root

    root = tmp_path_factory.mktemp("map_monthly")
    publish_historical_mean(root, year_city_events, events_to_panel(year_city_events, 8, "M"))
    with served_root(root) as served:
        yield served


@pytest.fixture(scope="module")
def browser(served: tuple[str, str]) -> Iterator[Any]:
    driver = chromium_or_skip()
    try:
        yield driver
    finally:
        driver.quit()


def _open_map(browser: Any, base: str, key: str) -> Any:
    """The map page afresh (no key kept), the key typed: what it draws first."""
    fresh_page(browser, f"{base}/map")
    browser.find_element("id", "key").send_keys(key)
    browser.find_element("css selector", "#key-form button").click()
    return wait_for(browser, SHOWN)


def _asked(browser: Any, path: str) -> list[dict[str, list[str]]]:
    """The query strings of the page's requests to ``path``, in order."""
    urls = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    return [parse_qs(urlsplit(u).query) for u in urls if urlsplit(u).path == path]


@pytest.mark.slow
def test_an_officer_sees_the_plan_of_every_crime_type_with_the_count_of_each(
    browser: Any, served: tuple[str, str]
) -> None:
    from selenium.webdriver.support.select import Select

    base, key = served
    auth = {"X-API-Key": key}
    every = httpx.get(f"{base}/v1/plans/latest?horizon=1&format=json", headers=auth).json()
    assert sorted(every["types"]) == ["burglary", "robbery"]
    # the published plan (every type) first: the one whose area ids a patrol log names; until
    # 2026-12-07 the page had no such choice, then it opened on the first type's plan
    drawn = _open_map(browser, base, key)
    select = Select(browser.find_element("id", "model"))
    assert [o.get_attribute("value") for o in select.options] == ["", "burglary", "robbery"]
    assert select.options[0].text == "every type: one plan"
    assert select.first_selected_option.get_attribute("value") == ""
    assert drawn == {"cells": 0, "areas": 6, "labels": 6}
    assert len(every["areas"]) == 6
    assert _asked(browser, "/v1/plans/latest")[-1] == {"horizon": ["1"], "format": ["json"]}
    status = browser.find_element("id", "status").text
    summary = every["summary"]
    assert status.startswith(
        f"Every crime type: 6 patrol areas ({summary['area_km2']:.2f} km², "
        f"{100 * summary['share_of_forecast']:.1f}% of the forecast), shifts 4 x 6 h from 00:00 "
        f"for the week of {every['period_start']}; cells are drawn for one type at a "
        "time (choose it above). This week is over."
    ), status

    # for what: area 1's count of each type, as the export names it
    browser.find_element("css selector", ".area-label").click()
    details = wait_for(
        browser,
        "const t = document.getElementById('area').textContent; return t.includes('Area 1') && t;",
    )
    area = every["areas"][0]
    assert f"Area 1: {area['area_km2']:.2f} km²" in details
    for model, count in area["expected_by_type"].items():
        label = ", ".join(every["types"][model]["categories"])
        assert f"{label} ({model}): {count:.2f}" in details, details
    assert all(reason in details for reason in area["reasons"])
    # the published plan's area 1 is the patrol log's AS_OF/1 (patrols.plan_areas)
    assert f"Area id {every['as_of']}/1: give it as a patrol log's area." in details

    # a poll asks for the plan alone, and a 304 keeps it
    before = browser.execute_script("return {...window.hotspotsMap.state.polls}")
    browser.execute_async_script("window.hotspotsMap.poll().then(arguments[0])")
    after = browser.execute_script("return {...window.hotspotsMap.state.polls}")
    assert after["notModified"] == before["notModified"] + 1  # the plan's; no cells asked
    assert after["changed"] == before["changed"]
    assert browser.execute_script("return window.hotspotsMap.drawn()") == drawn
    assert "(unchanged)" in browser.find_element("id", "status").text

    # one type again: its cells are drawn again
    select.select_by_value("robbery")
    wait_for(browser, "const d = window.hotspotsMap.drawn(); return d && d.cells > 0;")
    assert _asked(browser, "/v1/plans/latest")[-1]["category"] == ["robbery"]
    # one type's plan is not the published one: its area 1 is not the log's AS_OF/1
    browser.find_element("css selector", ".area-label").click()
    details = wait_for(
        browser,
        "const t = document.getElementById('area').textContent; "
        "return t.includes('robbery') && t.includes('Patrol log') && t;",
    )
    assert "Area id" not in details
    assert "its area numbers are not patrol log ids" in details, details
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors


@pytest.mark.slow
def test_the_period_selector_is_named_by_the_models_period(
    browser: Any, served: tuple[str, str], monthly: tuple[str, str]
) -> None:
    from selenium.webdriver.support.select import Select

    for (base, key), unit in ((served, "Week"), (monthly, "Month")):
        _open_map(browser, base, key)
        if base == served[0]:  # one type's cells (the every-type plan draws none)
            Select(browser.find_element("id", "model")).select_by_value("burglary")
            wait_for(browser, "const d = window.hotspotsMap.drawn(); return d && d.cells > 0;")
        label = browser.find_element("css selector", "label:has(#horizon)").text
        assert label.splitlines()[0] == unit, label  # a monthly one's said Week until 2026-12-07
        status = browser.find_element("id", "status").text
        assert f"highest cells of the {unit.lower()} of " in status, status


@pytest.mark.slow
def test_any_km2_the_api_takes_can_be_typed(browser: Any, served: tuple[str, str]) -> None:
    """The km2 field took only multiples of 0.05: the largest area a plan allows (11.09 km2
    at resolution 9) or a default fitted to a small study area (0.1296) could not be sent,
    and the browser held the whole form back, other fields too, with its own message."""
    base, key = served
    _open_map(browser, base, key)
    for field, value in (("areas", "3"), ("max-area", "1.23")):
        box = browser.find_element("id", field)
        box.clear()
        box.send_keys(value)
    browser.find_element("css selector", "#controls button[type=submit]").click()
    wait_for(browser, "const d = window.hotspotsMap.drawn(); return d && d.labels === 3;")
    assert _asked(browser, "/v1/plans/latest")[-1]["max_area_km2"] == ["1.23"]
    assert "3 patrol areas" in browser.find_element("id", "status").text


@pytest.mark.slow
def test_each_areas_number_is_drawn_inside_it(browser: Any, served: tuple[str, str]) -> None:
    """At the mean of its outline a bent area's number fell outside it (3 of the demo city's 6
    areas, up to 300 m off), where an officer would read it as another place's."""
    from selenium.webdriver.support.select import Select
    from shapely.geometry import Point, shape

    base, key = served
    plans = {}
    for areas, km2 in (("6", "3"), ("12", "6")):
        query = f"horizon=1&format=geojson&areas={areas}&max_area_km2={km2}"
        plans[areas] = httpx.get(f"{base}/v1/plans/latest?{query}", headers={"X-API-Key": key})
    _open_map(browser, base, key)
    outside = 0
    for areas, km2 in (("6", "3"), ("12", "6")):
        Select(browser.find_element("id", "model")).select_by_value("")
        for field, value in (("areas", areas), ("max-area", km2)):
            box = browser.find_element("id", field)
            box.clear()
            box.send_keys(value)
        browser.find_element("css selector", "#controls button[type=submit]").click()
        drawn = f"const d = window.hotspotsMap.drawn(); return d && d.labels === {areas};"
        wait_for(browser, drawn)
        at = browser.execute_script(
            "return window.hotspotsMap.state.markers.map(m => m.getLngLat().toArray())"
        )
        features = plans[areas].json()["features"]
        assert len(at) == len(features) == int(areas)
        for (lng, lat), feature in zip(at, features, strict=True):
            area = shape(feature["geometry"])  # GeoJSON: x=lng, y=lat
            assert area.contains(Point(lng, lat)), (areas, feature["properties"]["rank"])
            ring = feature["geometry"]["coordinates"][0]
            mean = Point(sum(p[0] for p in ring) / len(ring), sum(p[1] for p in ring) / len(ring))
            outside += not area.contains(mean)
    assert outside > 0  # some of these areas are bent: the old place was outside them
