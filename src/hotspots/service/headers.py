"""Headers on every answer: no MIME sniffing, a ``Cache-Control`` where a route set none,
and a content security policy on HTML pages whose route set none (``/map`` and ``/docs`` set it).

``AuditMiddleware`` adds them as each answer starts, so no route can forget them; the
forecast routes set their own ``Cache-Control`` (``private, max-age=...``) and keep it.
"""

from __future__ import annotations

from collections.abc import Iterable

RawHeader = tuple[bytes, bytes]

NOSNIFF: RawHeader = (b"x-content-type-options", b"nosniff")
NO_STORE: RawHeader = (b"cache-control", b"no-store")
"""For answers whose route said nothing: probes, problems, models, events."""
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
"""What an HTML page of the service may load: its own scripts, styles and images (the
vendored Swagger UI), calls to the API itself, nothing inline, nothing from elsewhere."""
CSP: RawHeader = (b"content-security-policy", PAGE_POLICY.encode())
_HTML = b"text/html"


def answer_headers(headers: Iterable[RawHeader], request_id: RawHeader) -> list[RawHeader]:
    """``headers`` with the request id, ``nosniff``, ``Cache-Control: no-store`` unless one is
    set, and the page policy on an HTML answer whose route set none (the pages set their own)."""
    out = list(headers)
    cached = html = own_policy = False
    for name, value in out:
        if name == b"cache-control":
            cached = True
        elif name == b"content-type" and value.startswith(_HTML):
            html = True
        elif name == CSP[0]:
            own_policy = True
    out.append(request_id)
    out.append(NOSNIFF)
    if not cached:
        out.append(NO_STORE)
    if html and not own_policy:
        out.append(CSP)
    return out
