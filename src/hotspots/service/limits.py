"""Request limits: a token bucket per API key (429), a cap on request bodies (413), sent or
decompressed, and one upload read at a time.

The rate limit is taken in ``auth.require`` once the key is authenticated and before its
scope is checked, so every request a key makes counts, refused ones included: a key probing
routes it may not use is slowed down like any other. Requests without a valid key never
reach a bucket (they are 401 before), so the buckets are bounded by the keys that exist.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hotspots.errors import ConfigError
from hotspots.service.problems import ProblemError, problem

logger = logging.getLogger(__name__)

MIB = 1024 * 1024
_NO_BODY = frozenset({"GET", "HEAD", "OPTIONS"})


class RateLimiter:
    """A token bucket per key: ``burst`` requests at once, refilled at ``rate_per_minute``.

    ``take(key_id)`` spends a token: None when the request may go on, else the seconds until
    the key's next token. A rate of 0 disables the limit. A bucket left idle long enough to
    be full again is forgotten (a new one starts full), so memory follows the active keys.
    Safe to share between threads.
    """

    def __init__(
        self, rate_per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate_per_minute < 0:
            raise ConfigError(f"rate_limit_per_minute must be 0 or more, got {rate_per_minute}")
        if rate_per_minute > 0 and burst < 1:
            raise ConfigError(f"rate_limit_burst must be 1 or more, got {burst}")
        self.rate_per_minute = rate_per_minute
        self.burst = burst
        self._clock = clock
        self._per_second = rate_per_minute / 60.0
        self._refill_all = burst / self._per_second if rate_per_minute else 0.0
        self._lock = threading.Lock()
        # key -> [tokens, time of the last take], least recently used first
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()
        # no bucket can be idle long enough to forget before this time (a lower bound: the
        # oldest bucket's last take only moves later), so most takes skip the sweep
        self._sweep_at = math.inf

    @property
    def enabled(self) -> bool:
        """Whether requests are limited at all."""
        return self.rate_per_minute > 0

    def take(self, key_id: str) -> float | None:
        """Spend one of ``key_id``'s tokens: None if allowed, else seconds to wait."""
        if not self.rate_per_minute:
            return None
        with self._lock:
            now = self._clock()
            if now >= self._sweep_at:
                self._forget_idle(now)
            bucket = self._buckets.get(key_id)
            if bucket is None:
                bucket = self._buckets[key_id] = [float(self.burst), now]
                self._sweep_at = min(self._sweep_at, now + self._refill_all)
            else:
                self._buckets.move_to_end(key_id)
            tokens = min(float(self.burst), bucket[0] + (now - bucket[1]) * self._per_second)
            bucket[1] = now
            if tokens >= 1.0:
                bucket[0] = tokens - 1.0
                return None
            bucket[0] = tokens
            return (1.0 - tokens) / self._per_second

    def __len__(self) -> int:
        """Buckets held now (idle ones are dropped on the next ``take``)."""
        return len(self._buckets)

    def _forget_idle(self, now: float) -> None:
        """Drop buckets idle long enough to be full again (oldest first, so O(dropped))."""
        buckets = self._buckets
        while buckets:
            key, (_, last) = next(iter(buckets.items()))
            if now - last < self._refill_all:
                self._sweep_at = last + self._refill_all
                return
            del buckets[key]
        self._sweep_at = math.inf


def check_rate(limiter: RateLimiter | None, key_id: str) -> None:
    """A 429 ProblemError with ``Retry-After`` when ``key_id`` is over its rate limit."""
    if limiter is None:
        return
    wait = limiter.take(key_id)
    if wait is None:
        return
    seconds = max(1, math.ceil(wait))
    raise ProblemError(
        429,
        f"API key {key_id} is over its rate limit of {limiter.rate_per_minute} requests per "
        f"minute (bursts of {limiter.burst}); retry in {seconds} s",
        {"Retry-After": str(seconds)},
    )


def describe_bytes(n: int) -> str:
    """``n`` bytes for a reader: ``33554432 bytes (32 MiB)``, ``1000 bytes``."""
    return f"{n} bytes ({n / MIB:.4g} MiB)" if n >= MIB else f"{n} bytes"


class BodyTooLargeError(Exception):
    """Raised to the app by ``receive`` once a request body passed the limit."""


class BodyLimitMiddleware:
    """413 problem+json for a request body over ``max_bytes`` (0: no limit).

    A ``Content-Length`` over the limit is refused before the app runs. A body without one
    (chunked) or with a false one is counted while the app reads it: the chunk that passes
    the limit and anything after it never reach the app, whose ``receive`` raises instead,
    and the app's own answer is replaced by the 413 if nothing has been sent yet.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ConfigError(f"max_upload_bytes must be 0 or more, got {max_bytes}")
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.max_bytes or scope["method"] in _NO_BODY:
            await self.app(scope, receive, send)  # no route reads the body of these
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            detail = f"Content-Length is {describe_bytes(declared)}"
            await self._refuse(scope, receive, send, detail)
            return
        received, over, started = 0, False, False

        async def limited_receive() -> Message:
            nonlocal received, over
            if over:
                raise BodyTooLargeError
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    over = True
                    raise BodyTooLargeError
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over and not started:
                return  # the app's answer to a body it could not read; the 413 goes instead
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLargeError:
            if started:
                logger.warning("request body over the limit after the response started")
        if over and not started:
            await self._refuse(
                scope, receive, send, f"at least {describe_bytes(received)} were sent"
            )

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, seen: str) -> None:
        state = scope.get("state") or {}
        response = problem(
            413,
            too_large(self.max_bytes, seen),
            instance=scope.get("path"),
            request_id=state.get("request_id"),
        )
        await response(scope, receive, send)


def too_large(max_bytes: int, seen: str) -> str:
    """The detail of a 413: the limit, and what was seen of the body."""
    return f"the request body is over the upload limit of {describe_bytes(max_bytes)}: {seen}"


GZIP_MAGIC = b"\x1f\x8b"
_IDENTITY = ("", "identity")
_GZIP = ("gzip", "x-gzip")
_CHUNK = 1024 * 1024


def content_encoding(header: str | None) -> str:
    """``gzip`` or ``identity`` from a request's ``Content-Encoding``; 415 for any other
    coding (or a list of them: a body is compressed once or not at all)."""
    given = (header or "").strip().lower()
    if given in _IDENTITY:
        return "identity"
    if given in _GZIP:
        return "gzip"
    raise ProblemError(
        415,
        f"Content-Encoding {header!r} is not read here: send the body as it is, or "
        "gzip-compressed with 'Content-Encoding: gzip'",
    )


def decode_body(body: bytes, encoding: str, max_bytes: int) -> bytes:
    """The body as its ``Content-Encoding`` says to read it: gzip inflated, at most
    ``max_bytes`` of it (0: no limit; past it, the same 413 as a body sent that large).

    Only the header decides: a body that is still gzip once decoded (gzip magic bytes, sent
    without ``Content-Encoding: gzip``, or compressed twice) is a 415, never inflated
    unbounded further down.
    """
    if encoding == "gzip":
        body = _gunzip(body, max_bytes)
    if body.startswith(GZIP_MAGIC):
        said = "compressed twice" if encoding == "gzip" else "sent without 'Content-Encoding: gzip'"
        raise ProblemError(
            415, f"the body is gzip-compressed data {said}; say how it is encoded in the header"
        )
    return body


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    """Inflate gzip ``data`` (every member) chunk by chunk, stopping past ``max_bytes``."""
    out = bytearray()
    rest = data
    try:
        while rest:
            inflater = zlib.decompressobj(wbits=31)
            pending = rest
            while pending:
                room = max_bytes - len(out) + 1 if max_bytes else _CHUNK
                out += inflater.decompress(pending, min(room, _CHUNK))
                if max_bytes and len(out) > max_bytes:
                    raise ProblemError(
                        413,
                        too_large(
                            max_bytes,
                            f"it inflates (Content-Encoding: gzip) to more than that "
                            f"from {describe_bytes(len(data))} sent",
                        ),
                    )
                if inflater.eof:
                    break
                pending = inflater.unconsumed_tail
            if not inflater.eof:
                raise ProblemError(422, "the gzip body is cut short (Content-Encoding: gzip)")
            rest = inflater.unused_data
    except zlib.error as err:
        raise ProblemError(
            422, f"the body is not valid gzip (Content-Encoding: gzip): {err}"
        ) from err
    return bytes(out)


class UploadSlots:
    """At most ``slots`` uploads read at once in a process; the next waits up to ``wait``
    seconds for a turn, its body left unread in the socket, then gets a 503.

    Reading a post (inflating, parsing, validating) is CPU work in a thread; without a bound,
    a few large posts at once would take both cores and the memory of every body from the
    requests that are only reading forecasts.
    """

    def __init__(self, slots: int = 1, wait: float = 30.0) -> None:
        self.slots = slots
        self.wait = wait
        self._semaphore: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __aenter__(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a semaphore belongs to the event loop that waits on it
            self._semaphore, self._loop = asyncio.Semaphore(self.slots), loop
        assert self._semaphore is not None
        try:
            await asyncio.wait_for(self._semaphore.acquire(), self.wait)
        except TimeoutError as err:
            seconds = max(1, math.ceil(self.wait / 10))
            raise ProblemError(
                503,
                f"other uploads are being read; none finished within {self.wait:g} s: "
                f"retry in {seconds} s",
                {"Retry-After": str(seconds)},
            ) from err

    async def __aexit__(self, *exc: object) -> None:
        assert self._semaphore is not None
        self._semaphore.release()


def _content_length(scope: Scope) -> int | None:
    """The request's ``Content-Length`` as an int (None if absent or not a number)."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
