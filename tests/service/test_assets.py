"""Pages name their files by content hash: new bytes, new URL; a hashed file is kept a year,
the page and any other URL are asked again (an ETag makes that a 304)."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import re
import threading
import time
import warnings
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from hotspots.config import Settings
from hotspots.service import assets
from hotspots.service.app import create_app
from hotspots.service.assets import AssetSet

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

STATIC = resources.files("hotspots.service").joinpath("static")
IMMUTABLE = "public, max-age=31536000, immutable"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _urls(client: TestClient) -> dict[str, str]:
    """URL name -> hash of every file the map page names, and of those map.js names."""
    page = client.get("/map").text
    found = dict(re.findall(r'"/map/assets/([\w.-]+)\?v=([0-9a-f]{16})"', page))
    script = client.get(f"/map/assets/map.js?v={found['map.js']}").text
    return found | dict(re.findall(r'"/map/assets/([\w.-]+)\?v=([0-9a-f]{16})"', script))


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app())


def test_each_url_names_the_hash_of_the_bytes_served(client: TestClient) -> None:
    urls = _urls(client)
    assert sorted(urls) == [
        "map.css", "map.js", "maplibre-gl-worker.mjs", "maplibre-gl.css", "maplibre-gl.mjs",
        "panel.js", "shifts.js",
    ]  # fmt: skip
    for name, version in urls.items():
        served = client.get(f"/map/assets/{name}?v={version}")
        assert _sha(served.content) == version, name
        assert (served.headers["etag"], served.headers["cache-control"]) == (
            f'"{version}"',
            IMMUTABLE,
        )
    assert urls["shifts.js"] == _sha(STATIC.joinpath("shifts.js").read_bytes())
    # map.js is served naming its imports by hash: its own hash covers theirs
    raw = STATIC.joinpath("map.js").read_bytes()
    served = client.get("/map/assets/map.js").content
    for name in ("maplibre-gl.mjs", "panel.js", "shifts.js", "maplibre-gl-worker.mjs"):
        plain = f'"/map/assets/{name}"'.encode()
        raw = raw.replace(plain, f'"/map/assets/{name}?v={urls[name]}"'.encode())
    assert served == raw and urls["map.js"] == _sha(raw)


def test_new_bytes_get_a_new_url_and_what_names_them_too(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _urls(client)
    read = assets.read_static
    changed = read("shifts.js") + b"\n// the next release\n"
    monkeypatch.setattr(
        assets, "read_static", lambda path: changed if path == "shifts.js" else read(path)
    )
    upgraded = TestClient(create_app())  # read and hashed at app start
    after = _urls(upgraded)
    assert after["shifts.js"] == _sha(changed) != before["shifts.js"]
    assert after["map.js"] != before["map.js"]  # it imports shifts.js by its hash
    unchanged = set(before) - {"shifts.js", "map.js"}
    assert {n: after[n] for n in unchanged} == {n: before[n] for n in unchanged}
    assert upgraded.get(f"/map/assets/shifts.js?v={after['shifts.js']}").content == changed
    # an open tab of the old release asking its old hash gets today's bytes, asked again
    old = upgraded.get(f"/map/assets/shifts.js?v={before['shifts.js']}")
    assert (old.content, old.headers["cache-control"]) == (changed, "no-cache")
    assert client.get("/map").headers["etag"] != upgraded.get("/map").headers["etag"]


@pytest.mark.parametrize("query", ["", "?v=0123456789abcdef", "?v="])
def test_an_unhashed_or_old_url_gets_todays_file_asked_again(
    client: TestClient, query: str
) -> None:
    data = STATIC.joinpath("shifts.js").read_bytes()
    r = client.get(f"/map/assets/shifts.js{query}")
    assert r.status_code == 200 and r.content == data
    assert r.headers["cache-control"] == "no-cache"
    assert r.headers["etag"] == f'"{_sha(data)}"'
    again = client.get(
        f"/map/assets/shifts.js{query}", headers={"If-None-Match": r.headers["etag"]}
    )
    assert (again.status_code, again.content) == (304, b"")
    assert again.headers["etag"] == r.headers["etag"]


@pytest.mark.parametrize(
    ("accept", "gzipped"), [("gzip, deflate", True), ("identity", False), ("gzip;q=0", False)]
)
def test_text_files_are_gzipped_for_a_client_that_takes_it(
    client: TestClient, accept: str, gzipped: bool
) -> None:
    data = STATIC.joinpath("maplibre-gl", "maplibre-gl.mjs").read_bytes()
    r = client.get("/map/assets/maplibre-gl.mjs", headers={"Accept-Encoding": accept})
    assert r.content == data  # decoded by the client
    assert r.headers.get("content-encoding") == ("gzip" if gzipped else None)
    sent = int(r.headers["content-length"])
    assert sent == (len(gzip.compress(data, mtime=0)) if gzipped else len(data))
    if gzipped:
        assert sent < 0.3 * len(data)  # 1.1 MB sent as 0.3 MB
    assert (r.headers["vary"], r.headers["etag"]) == ("Accept-Encoding", f'"{_sha(data)}"')
    icon = client.get("/docs/assets/favicon-32x32.png", headers={"Accept-Encoding": accept})
    assert "content-encoding" not in icon.headers and "vary" not in icon.headers  # a PNG


@pytest.mark.parametrize("path", ["/map", "/docs"])
def test_a_page_is_revalidated_and_keeps_its_policy_on_a_304(client: TestClient, path: str) -> None:
    page = client.get(path)
    assert page.headers["cache-control"] == "no-cache"
    assert re.fullmatch(r'"[0-9a-f]{16}"', page.headers["etag"])
    again = client.get(path, headers={"If-None-Match": f'"other", {page.headers["etag"]}'})
    assert (again.status_code, again.content) == (304, b"")
    assert again.headers["content-security-policy"] == page.headers["content-security-policy"]
    assert again.headers["cache-control"] == "no-cache"
    assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200


def test_a_new_tile_server_is_a_new_page_not_a_304(client: TestClient, tmp_path: Path) -> None:
    tiles = "https://tiles.example.org/{z}/{x}/{y}.png"
    settings = Settings(models_dir=tmp_path / "m", state_dir=tmp_path / "s", map_tiles=tiles)
    with TestClient(create_app(settings)) as tiled:
        page = client.get("/map")
        moved = tiled.get("/map", headers={"If-None-Match": page.headers["etag"]})
    assert moved.status_code == 200 and moved.content == page.content  # same bytes
    assert "tiles.example.org" in moved.headers["content-security-policy"]


def test_files_that_name_each_other_cannot_be_hashed() -> None:
    files = {"a.js": ("a.js", "text/javascript"), "b.js": ("b.js", "text/javascript")}
    texts = {"a.js": b'import "/x/b.js";', "b.js": b'import "/x/a.js";'}
    with pytest.raises(ValueError, match=r"asset files under /x name each other"):
        AssetSet("/x", files, texts.__getitem__)
    texts["b.js"] = b"export {};"
    built = AssetSet("/x", files, texts.__getitem__)
    assert built.url("b.js") == f"/x/b.js?v={_sha(b'export {};')}"
    assert built.answer("a.js", None, None).body == f'import "{built.url("b.js")}";'.encode()


# -- in a real browser: an upgrade between two visits -----------------------------------------
@contextlib.contextmanager
def _serving(app: Any, port: int) -> Iterator[str]:
    """``app`` on 127.0.0.1:``port`` in a thread (two releases in turn, on one origin)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.slow
def test_after_an_upgrade_the_browser_runs_the_new_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from headless import chromium_or_skip
    from live_server import free_port

    browser = chromium_or_skip()
    settings = Settings(models_dir=tmp_path / "m", state_dir=tmp_path / "s")
    port = free_port()
    read = assets.read_static
    marker = b'\nglobalThis.hotspotsRelease = "next";\n'  # what the new shifts.js does
    try:
        with _serving(create_app(settings), port) as base:
            browser.get(f"{base}/map")
            _ran(browser)
            assert browser.execute_script("return globalThis.hotspotsRelease") is None
        monkeypatch.setattr(
            assets, "read_static", lambda p: read(p) + marker if p == "shifts.js" else read(p)
        )
        with _serving(create_app(settings), port) as base:
            browser.get(f"{base}/map")  # a plain visit, no reload: the old files are cached
            _ran(browser)
            assert browser.execute_script("return globalThis.hotspotsRelease") == "next"
            fetched = browser.execute_script(
                "return performance.getEntriesByType('resource')"
                ".map(e => [new URL(e.name).pathname, e.transferSize])"
            )
            errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    finally:
        browser.quit()
    sizes = dict(fetched)
    # the new shifts.js and the map.js naming it are fetched; MapLibre comes from the cache
    assert sizes["/map/assets/shifts.js"] > 0 and sizes["/map/assets/map.js"] > 0, fetched
    assert sizes["/map/assets/maplibre-gl.mjs"] == 0, fetched
    assert errors == [], errors


def _ran(browser: Any) -> None:
    """Wait until map.js has run (it sets up the page's controls and ``hotspotsMap``)."""
    deadline = time.monotonic() + 30
    while not browser.execute_script("return Boolean(window.hotspotsMap)"):
        assert time.monotonic() < deadline, "map.js did not run"
        time.sleep(0.1)
