"""A page's scripts and styles under content-hashed URLs, so a browser never runs yesterday's
``map.js`` with today's ``map.html`` after an upgrade.

At app start each file is read once from the package and the quoted URLs of its sibling
files in it (``"/map/assets/shifts.js"`` in ``map.js`` or ``map.html``) are rewritten to
``"/map/assets/shifts.js?v=<hash>"``, the hash being a prefix of the sha256 of the bytes
served; so a file that names another changes URL when that one changes. The page names the
current hashes and is served ``no-cache`` (revalidated by its ETag on every load); an answer
at its current hash may be kept a year, ``immutable``. Any other ``v`` (none, or an old hash
from a tab opened before an upgrade) gets today's bytes with ``no-cache`` and the ETag: it
always works, is never a stale file, and never caches new bytes for a year under an old hash
(a rollback would make that hash right again); asking again is a 304 while nothing changed.
A redirect to the current hash would add a round trip to each such request, and could be
cached no longer than the release lasts.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources

from fastapi.responses import Response

from hotspots.service.caching import accepts_gzip, etag_matches
from hotspots.service.problems import ProblemError

HASH_CHARS = 16
"""Hex characters of the sha256 kept in a URL (64 bits: no two releases' files collide)."""
IMMUTABLE = "public, max-age=31536000, immutable"
"""For an asset asked at its current hash: those bytes never change under that URL."""
REVALIDATE = "no-cache"
"""For a page, and an asset asked without its current hash: kept, but asked again each use."""
GZIP_MIN_BYTES = 1024
"""Smaller files are sent as they are (gzip saves less than its header and the CPU)."""
HTML = "text/html; charset=utf-8"
_TEXT = "text/"


def read_static(path: str) -> bytes:
    """A file of the package's ``static`` folder."""
    return resources.files("hotspots.service").joinpath("static", path).read_bytes()


def content_hash(data: bytes) -> str:
    """The hex prefix of ``data``'s sha256 that names it in URLs and ETags."""
    return hashlib.sha256(data).hexdigest()[:HASH_CHARS]


@dataclass(frozen=True)
class Asset:
    """One file as served: its bytes (sibling URLs rewritten), type and hash."""

    data: bytes
    media_type: str
    digest: str

    @property
    def etag(self) -> str:
        return f'"{self.digest}"'

    @functools.cached_property
    def gzipped(self) -> bytes | None:
        """The bytes gzipped, made on the first ask (MapLibre's 1.1 MB take 0.1 s, to 0.3 MB),
        or None for a file gzip does not shrink much (an image, a few hundred bytes)."""
        if not self.media_type.startswith(_TEXT) or len(self.data) < GZIP_MIN_BYTES:
            return None
        return gzip.compress(self.data, mtime=0)


@dataclass(frozen=True)
class Page:
    """An HTML page as served: always revalidated, so it names the current asset hashes.

    The ETag covers the content security policy too: an operator who sets a tile server and
    restarts gets the new policy, not a 304 that keeps the old one.
    """

    data: bytes
    policy: str

    @functools.cached_property
    def etag(self) -> str:
        return f'"{content_hash(self.data + self.policy.encode())}"'

    def answer(self, if_none_match: str | None) -> Response:
        """The page, or a bare 304 when ``If-None-Match`` names it (both with the policy)."""
        headers = {
            "ETag": self.etag,
            "Cache-Control": REVALIDATE,
            "Content-Security-Policy": self.policy,
        }
        if etag_matches(if_none_match, self.etag):
            return Response(status_code=304, headers=headers)
        return Response(self.data, media_type=HTML, headers=headers)


class AssetSet:
    """A page's files, read and hashed once, served under ``prefix`` (``/map/assets``).

    ``files`` maps a URL name to (a path under ``static``, a media type); ``read`` reads such
    a path (by default ``read_static``, looked up when the set is built).
    """

    def __init__(
        self,
        prefix: str,
        files: Mapping[str, tuple[str, str]],
        read: Callable[[str], bytes] | None = None,
    ) -> None:
        self.prefix = prefix
        self._files = dict(files)
        self._read = read or read_static
        self._assets: dict[str, Asset] = {}
        for name in self._files:
            self._build(name, ())

    def url(self, name: str) -> str:
        """The URL naming ``name``'s current bytes."""
        return f"{self.prefix}/{name}?v={self._assets[name].digest}"

    def rewrite(self, data: bytes) -> bytes:
        """``data`` with every quoted URL of a file of this set replaced by its hashed URL."""
        for name in self._files:
            plain = f'"{self.prefix}/{name}"'.encode()
            if plain in data:
                data = data.replace(plain, f'"{self.url(name)}"'.encode())
        return data

    def page(self, path: str, policy: str) -> Page:
        """The HTML page at ``path`` under ``static``, naming this set's hashed URLs."""
        return Page(self.rewrite(self._read(path)), policy)

    def answer(
        self,
        name: str,
        version: str | None,
        if_none_match: str | None,
        accept_encoding: str | None = None,
    ) -> Response:
        """``name``'s bytes (gzipped if the client takes gzip): a year's ``immutable`` at the
        current hash, else ``no-cache``; a bare 304 when ``If-None-Match`` names them."""
        asset = self._assets.get(name)
        if asset is None:
            raise ProblemError(404, f"no file {name!r} under {self.prefix}")
        cache = IMMUTABLE if version == asset.digest else REVALIDATE
        headers = {"ETag": asset.etag, "Cache-Control": cache}
        if asset.gzipped is not None:
            headers["Vary"] = "Accept-Encoding"
        if etag_matches(if_none_match, asset.etag):
            return Response(status_code=304, headers=headers)
        if asset.gzipped is not None and accepts_gzip(accept_encoding):
            headers["Content-Encoding"] = "gzip"
            return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
        return Response(asset.data, media_type=asset.media_type, headers=headers)

    def _build(self, name: str, seen: tuple[str, ...]) -> Asset:
        """Hash ``name`` after the files it names (a cycle of names cannot be hashed)."""
        if name in self._assets:
            return self._assets[name]
        if name in seen:
            raise ValueError(f"asset files under {self.prefix} name each other: {seen}")
        path, media_type = self._files[name]
        data = self._read(path)
        if media_type.startswith(_TEXT):
            for other in self._files:
                if f'"{self.prefix}/{other}"'.encode() in data:
                    self._build(other, (*seen, name))
            data = self.rewrite(data)
        asset = Asset(data, media_type, content_hash(data))
        self._assets[name] = asset
        return asset


def asset_set(prefix: str, files: Mapping[str, tuple[str, str]]) -> AssetSet:
    """The ``AssetSet`` of ``files``, built once per process (and per ``read_static``, which a
    test may swap): package files do not change under a running service, and each app a test
    makes would otherwise read and hash their 3.7 MB again (about 25 ms)."""
    return _asset_set(prefix, tuple(files.items()), read_static)


@functools.cache
def _asset_set(
    prefix: str, files: tuple[tuple[str, tuple[str, str]], ...], read: Callable[[str], bytes]
) -> AssetSet:
    return AssetSet(prefix, dict(files), read)
