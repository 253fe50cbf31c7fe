"""``/docs``: Swagger UI on the service's own schema, every file served from the package.

FastAPI's own page loads Swagger UI from a CDN (an unpinned major version, no integrity
check), which is blank on a closed police network. The vendored copy
(``static/swagger-ui``, see its ``VENDORED.md``) is served here instead; the page's start-up
script is a file too, so the page policy (``headers.PAGE_POLICY``) forbids inline scripts.
The files are served under content-hashed URLs and the page is revalidated on every load
(``hotspots.service.assets``), so an upgrade is never half seen.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from hotspots.service.assets import Page, asset_set
from hotspots.service.headers import PAGE_POLICY

SWAGGER_UI_VERSION = "5.35.0"
"""The vendored ``swagger-ui-dist`` (npm) release."""
_ASSETS = {
    # URL name: (file in the package's static folder, media type)
    "swagger-ui-bundle.js": ("swagger-ui/swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui.css": ("swagger-ui/swagger-ui.css", "text/css"),
    "favicon-32x32.png": ("swagger-ui/favicon-32x32.png", "image/png"),
    "docs.js": ("docs.js", "text/javascript"),
}

router = APIRouter(include_in_schema=False)


class DocsFiles:
    """The page and its files, read and hashed once (at app start)."""

    def __init__(self) -> None:
        self.assets = asset_set("/docs/assets", _ASSETS)
        self.page: Page = self.assets.page("docs.html", PAGE_POLICY)


@router.get("/docs")
def docs_page(request: Request) -> Response:
    """The interactive API documentation."""
    files: DocsFiles = request.app.state.docs_files
    return files.page.answer(request.headers.get("if-none-match"))


@router.get("/docs/assets/{name}")
def docs_asset(request: Request, name: str, v: str | None = None) -> Response:
    """One file of the documentation page, from the package (``v``: its content hash)."""
    files: DocsFiles = request.app.state.docs_files
    headers = request.headers
    return files.assets.answer(
        name, v, headers.get("if-none-match"), headers.get("accept-encoding")
    )
