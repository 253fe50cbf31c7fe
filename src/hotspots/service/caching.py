"""HTTP caching of published bytes: ETag, ``If-None-Match``, gzip, and headers encoded once.

A dashboard polls one forecast view: the same ETag, caching headers, type and length,
hundreds of times a second. ``cached_answer`` builds a Starlette ``Response`` the first time
it meets an answer and keeps its encoded headers; later requests get a ``PreparedResponse``
with a copy of them (middleware may add headers to its copy), so they are the same bytes by
construction and no header is encoded twice.
"""

from __future__ import annotations

import math
import threading

from starlette.responses import Response

VARY = "Authorization, X-API-Key, Accept-Encoding"
"""Every header a forecast answer depends on: the key (its scope), and gzip or not."""
HEADER_CACHE_SIZE = 512
"""Distinct answers (ETag x encoding x type x max-age x status) whose headers are kept."""

RawHeaders = tuple[tuple[bytes, bytes], ...]
_raw_headers: dict[tuple[int, int, str, str | None, str, int], RawHeaders] = {}
_lock = threading.Lock()


def accepts_gzip(header: str | None) -> bool:
    """Whether an ``Accept-Encoding`` value allows gzip (``q=0`` refuses it)."""
    if not header:
        return False
    allowed: dict[str, bool] = {}
    for part in header.split(","):
        coding, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        allowed[coding.strip().lower()] = q > 0 and math.isfinite(q)
    return allowed.get("gzip", allowed.get("x-gzip", allowed.get("*", False)))


def etag_matches(header: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (weak comparison, as RFC 9110 asks) or is *."""
    if not header:
        return False
    tags = [t.strip() for t in header.split(",")]
    return any(t == "*" or t.removeprefix("W/") == etag for t in tags)


class PreparedResponse(Response):
    """A response with headers encoded earlier (``cached_answer``): nothing to build."""

    def __init__(self, status_code: int, body: bytes, raw_headers: RawHeaders) -> None:
        self.status_code = status_code
        self.body = body
        self.background = None
        self.raw_headers = list(raw_headers)


def cached_answer(
    *,
    data: bytes,
    gzipped: bytes,
    etag: str,
    media_type: str,
    max_age: int,
    if_none_match: str | None,
    accept_encoding: str | None,
) -> Response:
    """The bytes (gzipped if the client takes gzip) with ``ETag``, ``Cache-Control`` and
    ``Vary``, or a bare 304 when ``If-None-Match`` names the ETag."""
    if etag_matches(if_none_match, etag):
        status, body, encoding = 304, b"", None
    elif accepts_gzip(accept_encoding):
        status, body, encoding = 200, gzipped, "gzip"
    else:
        status, body, encoding = 200, data, None
    key = (status, len(body), etag, encoding, media_type, max_age)
    raw = _raw_headers.get(key)
    if raw is None:
        raw = _encode_headers(status, body, etag, encoding, media_type, max_age)
        with _lock:
            if len(_raw_headers) >= HEADER_CACHE_SIZE:  # a republish makes new ETags
                _raw_headers.clear()
            _raw_headers[key] = raw
    return PreparedResponse(status, body, raw)


def _encode_headers(
    status: int, body: bytes, etag: str, encoding: str | None, media_type: str, max_age: int
) -> RawHeaders:
    """The headers Starlette sends for this answer (a 304 has no type or length)."""
    headers = {"ETag": etag, "Cache-Control": f"private, max-age={max_age}", "Vary": VARY}
    if encoding is not None:
        headers["Content-Encoding"] = encoding
    if status == 304:
        return tuple(Response(status_code=304, headers=headers).raw_headers)
    return tuple(Response(body, status, headers, media_type).raw_headers)
