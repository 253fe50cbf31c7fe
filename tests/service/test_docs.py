"""/docs: the vendored Swagger UI served from the package, no outside URL, and (where a
headless Chromium is installed) a page that draws the API under its content security policy."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
import warnings
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest
from served_env import key_store, publish_historical_mean

from hotspots.features import Panel
from hotspots.service.app import create_app
from hotspots.service.docs import SWAGGER_UI_VERSION
from hotspots.service.headers import PAGE_POLICY

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

STATIC = resources.files("hotspots.service").joinpath("static")


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app())  # the page needs no registry


def test_the_page_loads_only_files_the_service_serves(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == PAGE_POLICY
    assert page.headers["cache-control"] == "no-cache"  # it names the files' current hashes
    links = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert links and all(link.startswith("/docs/assets/") for link in links), links
    assert "http" not in page.text and "<script>" not in page.text  # nothing outside or inline
    for link in links:
        name, version = re.fullmatch(r"/docs/assets/([\w.-]+)\?v=([0-9a-f]{16})", link).groups()
        folder = STATIC if name == "docs.js" else STATIC.joinpath("swagger-ui")
        data = folder.joinpath(name).read_bytes()
        assert version == hashlib.sha256(data).hexdigest()[:16], link
        for url, cache in (
            (link, "public, max-age=31536000, immutable"),
            (f"/docs/assets/{name}", "no-cache"),  # unhashed: today's file, asked again
        ):
            asset = client.get(url)
            assert asset.status_code == 200, url
            assert asset.content == data
            assert (asset.headers["cache-control"], asset.headers["etag"]) == (
                cache,
                f'"{version}"',
            )
    assert client.get("/docs/assets/package.json").status_code == 404  # only the page's files


def test_the_vendored_release_is_pinned_with_its_licence() -> None:
    vendored = STATIC.joinpath("swagger-ui")
    package = json.loads(vendored.joinpath("package.json").read_text())
    assert (package["name"], package["version"]) == ("swagger-ui-dist", SWAGGER_UI_VERSION)
    assert package["license"] == "Apache-2.0"
    assert "Apache License" in vendored.joinpath("LICENSE").read_text()
    assert f"swagger-ui-dist@{SWAGGER_UI_VERSION}" in vendored.joinpath("VENDORED.md").read_text()


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
def test_a_browser_draws_the_api_under_the_page_policy(
    tmp_path: Path, year_city_events: pd.DataFrame, year_panel: Panel
) -> None:
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    if _chromium() is None or shutil.which("chromedriver") is None:
        pytest.skip("no headless Chromium here (Debian: apt-get install chromium chromium-driver)")
    from live_server import free_port, start_server

    publish_historical_mean(tmp_path, year_city_events, year_panel)
    key_store(tmp_path)  # the state folder
    port = free_port()
    server = start_server(tmp_path, port)
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(options=options)
    try:
        browser.get(f"http://127.0.0.1:{port}/docs")
        deadline = time.monotonic() + 30
        text = ""
        while time.monotonic() < deadline and "/v1/forecasts/latest" not in text:
            time.sleep(0.2)
            text = browser.find_element("tag name", "body").text
        assert "hotspots forecast service" in text
        assert "/v1/forecasts/latest" in text and "/v1/cells/{cell}" in text
        refused = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert refused == [], refused  # no CSP violation, no failed load
    finally:
        browser.quit()
        server.kill()
        server.wait(timeout=10)
