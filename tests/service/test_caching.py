"""Answers with headers encoded once: the same as a Starlette Response built each time."""

from __future__ import annotations

import gzip

import pytest
from starlette.responses import Response

from hotspots.service import caching
from hotspots.service.caching import VARY, cached_answer

DATA = b'{"cells": [1, 2, 3]}'
GZIPPED = gzip.compress(DATA, mtime=0)
ETAG = '"0123abcd"'


def _answer(**over: object) -> Response:
    args: dict[str, object] = {
        "data": DATA,
        "gzipped": GZIPPED,
        "etag": ETAG,
        "media_type": "application/json",
        "max_age": 5,
        "if_none_match": None,
        "accept_encoding": None,
    }
    args.update(over)
    return cached_answer(**args)  # type: ignore[arg-type]


CACHING = {"ETag": ETAG, "Cache-Control": "private, max-age=5", "Vary": VARY}
PLAIN = Response(DATA, headers=CACHING, media_type="application/json")
NOT_MODIFIED = Response(status_code=304, headers=CACHING)


@pytest.mark.parametrize(
    ("over", "expected"),
    [
        ({}, PLAIN),
        (
            {"accept_encoding": "br, gzip;q=0.5"},
            Response(
                GZIPPED,
                headers={**CACHING, "Content-Encoding": "gzip"},
                media_type="application/json",
            ),
        ),
        (
            {"accept_encoding": "gzip;q=0"},
            Response(DATA, headers=CACHING, media_type="application/json"),
        ),
        ({"if_none_match": f'"other", W/{ETAG}'}, Response(status_code=304, headers=CACHING)),
        (
            {"if_none_match": "*", "accept_encoding": "gzip"},
            Response(status_code=304, headers=CACHING),
        ),
        (
            {"media_type": "application/geo+json", "max_age": 30},
            Response(
                DATA,
                headers={**CACHING, "Cache-Control": "private, max-age=30"},
                media_type="application/geo+json",
            ),
        ),
    ],
)
def test_answers_match_a_response_built_each_time(
    over: dict[str, object], expected: Response
) -> None:
    for _ in range(2):  # the first builds the headers, the second reuses them
        got = _answer(**over)
        assert (got.status_code, got.body, got.raw_headers) == (
            expected.status_code,
            expected.body,
            expected.raw_headers,
        )
        assert got.background is None


def test_each_answer_has_its_own_header_list() -> None:
    first = _answer()
    first.raw_headers.append((b"x-request-id", b"1"))
    assert (b"x-request-id", b"1") not in _answer().raw_headers


def test_a_different_body_under_the_same_etag_gets_its_own_length() -> None:
    longer = DATA + b" "
    got = _answer(data=longer)
    assert (b"content-length", str(len(longer)).encode()) in got.raw_headers
    assert (b"content-length", str(len(DATA)).encode()) in _answer().raw_headers


def test_the_header_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(caching, "HEADER_CACHE_SIZE", 3)
    for i in range(10):
        got = _answer(etag=f'"{i}"')
        assert (b"etag", f'"{i}"'.encode()) in got.raw_headers
        assert len(caching._raw_headers) <= 3
