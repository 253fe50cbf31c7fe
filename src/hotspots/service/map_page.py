"""``/map``: the officer's map, and ``/``, a page linking it and the API docs.

The page (``static/map.html`` and ``map.js``, with ``shifts.js`` and ``panel.js``) draws the
served forecast's cells and the patrol plan with MapLibre GL JS, vendored from npm into
``static/maplibre-gl`` (see its ``VENDORED.md``) and served from the package: no CDN, and no
call to anything but this API, unless the operators set a tile server
(``HOTSPOTS_MAP_TILES``), which the page policy then admits for images and fetches alone.
``/map/config`` tells the page the tile URL, the published horizon, the default plan budget
and shifts (the blocks of the day a plan area's ``when`` is told in, for the page's "server
default") and how often to poll; it holds nothing secret and needs no key (the page asks for
one before any ``/v1`` call). The page's files are served under content-hashed URLs and the
page is revalidated on every load (``hotspots.service.assets``), so after an upgrade no
browser runs an old ``map.js``."""

from __future__ import annotations

import functools
import html
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from hotspots.config import Settings
from hotspots.publishing.plan_shifts import parse_shifts
from hotspots.service.assets import HTML, Page, asset_set
from hotspots.service.headers import PAGE_POLICY

MAPLIBRE_VERSION = "6.20.0"
"""The vendored ``maplibre-gl`` (npm) release."""
POLL_SECONDS = 30
"""How often the page asks for a new forecast (a 304 when nothing changed)."""
_ASSETS = {
    # URL name: (file in the package's static folder, media type)
    "maplibre-gl.mjs": ("maplibre-gl/maplibre-gl.mjs", "text/javascript"),
    "maplibre-gl-worker.mjs": ("maplibre-gl/maplibre-gl-worker.mjs", "text/javascript"),
    "maplibre-gl.css": ("maplibre-gl/maplibre-gl.css", "text/css"),
    "map.js": ("map.js", "text/javascript"),
    "shifts.js": ("shifts.js", "text/javascript"),
    "panel.js": ("panel.js", "text/javascript"),
    "map.css": ("map.css", "text/css"),
}

router = APIRouter(include_in_schema=False)


def map_policy(tiles: str | None) -> str:
    """The page policy, admitting the tile server's origin for images and fetches when one
    is configured (MapLibre loads raster tiles with ``fetch``)."""
    if not tiles:
        return PAGE_POLICY
    parts = urlsplit(tiles)
    origin = f"{parts.scheme}://{parts.netloc}"
    policy = PAGE_POLICY.replace("img-src 'self' data:", f"img-src 'self' data: blob: {origin}")
    return policy.replace("connect-src 'self'", f"connect-src 'self' {origin}")


@functools.cache
def _index() -> bytes:
    links = [("/map", "The forecast map"), ("/docs", "API documentation")]
    items = "".join(f'<li><a href="{href}">{html.escape(text)}</a></li>' for href, text in links)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>hotspots</title>'
        f"</head><body><h1>hotspots forecast service</h1><ul>{items}</ul></body></html>"
    ).encode()


@router.get("/")
def index() -> Response:
    """Links to the map and the API docs."""
    return Response(_index(), media_type=HTML)


class MapFiles:
    """The page (under the settings' policy) and its files, read and hashed once."""

    def __init__(self, settings: Settings) -> None:
        self.assets = asset_set("/map/assets", _ASSETS)
        self.page: Page = self.assets.page("map.html", map_policy(settings.map_tiles))


@router.get("/map")
def map_page(request: Request) -> Response:
    """The forecast map (its key is typed in the page, never sent in a URL)."""
    files: MapFiles = request.app.state.map_files
    return files.page.answer(request.headers.get("if-none-match"))


@router.get("/map/config")
def map_config(request: Request) -> JSONResponse:
    """What the page needs before any key: tiles, horizon, default budget and shifts, poll
    interval."""
    state = request.app.state.service
    settings: Settings = state.settings
    book = state.plans  # its default is fitted to a study area too small for the settings'
    areas, km2, shifts = (
        (book.default.areas, book.default.per_area_km2(), book.shifts)
        if book is not None
        else (settings.plan_areas, settings.plan_max_area_km2, parse_shifts(settings.plan_shifts))
    )
    body: dict[str, Any] = {
        "tiles": settings.map_tiles or None,
        "horizon": settings.forecast_horizon,
        "plan": {"areas": areas, "max_area_km2": km2, "shifts": list(shifts)},
        "poll_seconds": POLL_SECONDS,
    }
    return JSONResponse(body)


@router.get("/map/assets/{name}")
def map_asset(request: Request, name: str, v: str | None = None) -> Response:
    """One file of the map page, from the package (``v``: its content hash)."""
    files: MapFiles = request.app.state.map_files
    headers = request.headers
    return files.assets.answer(
        name, v, headers.get("if-none-match"), headers.get("accept-encoding")
    )
