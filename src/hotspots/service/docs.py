"""``/docs``: Swagger UI on the service's own schema, every file served from the package.

FastAPI's own page loads Swagger UI from a CDN (an unpinned major version, no integrity
check), which is blank on a closed police network. The vendored copy
(``static/swagger-ui``, see its ``VENDORED.md``) is served here instead; the page's start-up
script is a file too, so the page policy (``headers.PAGE_POLICY``) forbids inline scripts.
"""

from __future__ import annotations

import functools
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

from hotspots.service.problems import ProblemError

SWAGGER_UI_VERSION = "5.35.0"
"""The vendored ``swagger-ui-dist`` (npm) release."""
ASSET_MAX_AGE = 86_400
"""Seconds a browser may keep an asset: they change only with a hotspots release."""
_ASSETS = {
    # URL name: (file in the package's static folder, media type)
    "swagger-ui-bundle.js": ("swagger-ui/swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui.css": ("swagger-ui/swagger-ui.css", "text/css"),
    "favicon-32x32.png": ("swagger-ui/favicon-32x32.png", "image/png"),
    "docs.js": ("docs.js", "text/javascript"),
}

router = APIRouter(include_in_schema=False)


@functools.cache
def static_bytes(name: str) -> bytes:
    """A file of the package's ``static`` folder (read once)."""
    return resources.files("hotspots.service").joinpath("static", name).read_bytes()


@router.get("/docs")
def docs_page() -> Response:
    """The interactive API documentation."""
    return Response(static_bytes("docs.html"), media_type="text/html; charset=utf-8")


@router.get("/docs/assets/{name}")
def docs_asset(name: str) -> Response:
    """One file of the documentation page, from the package."""
    found = _ASSETS.get(name)
    if found is None:
        raise ProblemError(404, f"no documentation asset {name!r}")
    path, media_type = found
    return Response(
        static_bytes(path),
        media_type=media_type,
        headers={"Cache-Control": f"public, max-age={ASSET_MAX_AGE}"},
    )
