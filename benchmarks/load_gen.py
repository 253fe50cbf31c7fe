"""HTTP load generators for ``api_load.py``: wrk when installed, else a bounded asyncio client.

Both keep ``connections`` HTTP/1.1 keep-alive connections busy with the same GET for a fixed
time, stop early after ``max_requests`` responses, and return requests/s and latency
percentiles. Only 127.0.0.1 is ever targeted (``api_load.py`` starts the servers).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

# wrk runs this in each of its threads: stop the thread after its share of the request cap,
# noting when (LuaJIT's ffi clock: wrk itself always reports the full -d duration), and print
# the whole run's figures as one JSON line (latencies in microseconds).
WRK_SCRIPT = """
local ffi = require("ffi")
ffi.cdef[[ struct api_load_ts { long s; long ns; }; int clock_gettime(int, struct api_load_ts *); ]]
local function now()
  local t = ffi.new("struct api_load_ts")
  ffi.C.clock_gettime(1, t)
  return tonumber(t.s) + tonumber(t.ns) * 1e-9
end
local threads = {}
function setup(thread) table.insert(threads, thread) end
local cap, seen, started = 0, 0, 0
function init(args) cap = tonumber(args[1]) or 0; started = now() end
function response(status, headers, body)
  seen = seen + 1
  if cap > 0 and seen >= cap then
    capped_after = now() - started
    wrk.thread:stop()
  end
end
function done(summary, latency, requests)
  local capped, longest = 0, 0
  for _, t in ipairs(threads) do
    local s = t:get("capped_after")
    if s then capped = capped + 1; longest = math.max(longest, s) end
  end
  local e = summary.errors
  io.write(string.format(
    '\\nWRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"errors_connect":%d,"errors_read":%d,"errors_write":%d,' ..
    '"errors_status":%d,"errors_timeout":%d,"threads":%d,"capped":%d,"capped_s":%.6f}\\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout,
    #threads, capped, longest))
end
"""


@dataclass(frozen=True)
class LoadResult:
    """One timed run against one server."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: dict[str, int] = field(default_factory=dict)
    """Non-2xx/3xx answers and socket errors by kind (empty when every request was a 2xx)."""
    capped: bool = False
    """Whether the run stopped at ``max_requests`` before its time was up."""

    @property
    def rps(self) -> float:
        """Completed requests per second."""
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The figures as JSON-able values."""
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "errors": self.errors,
            "capped": self.capped,
        }


def wrk_path() -> str | None:
    """The wrk executable on PATH, if any."""
    return shutil.which("wrk")


def run_wrk(
    url: str,
    headers: dict[str, str],
    *,
    seconds: float,
    connections: int,
    threads: int,
    max_requests: int,
    script_dir: Path,
) -> LoadResult:
    """``wrk -t<threads> -c<connections> -d<seconds>s --latency`` with ``headers``."""
    exe = wrk_path()
    if exe is None:
        raise FileNotFoundError("wrk is not on PATH")
    script = script_dir / "api_load.lua"
    script.write_text(WRK_SCRIPT)
    cmd = [exe, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    cmd += ["--timeout", "5s", "-s", str(script)]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    per_thread = max(1, max_requests // threads)
    cmd += [url, "--", str(per_thread)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30, check=False)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("WRK_JSON ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed (exit {done.returncode}): {done.stderr or done.stdout}")
    figures = json.loads(lines[-1].removeprefix("WRK_JSON "))
    errors = {
        k.removeprefix("errors_"): int(v)
        for k, v in figures.items()
        if k.startswith("errors_") and v
    }
    # wrk reports the whole -d even when every thread stopped at its cap; a thread that ran
    # to the end makes the full duration the right one.
    capped = figures["capped"] == figures["threads"]
    return LoadResult(
        requests=int(figures["requests"]),
        seconds=figures["capped_s"] if capped else figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1e3,
        p99_ms=figures["p99_us"] / 1e3,
        errors=errors,
        capped=capped,
    )


class _Budget:
    """Requests left to send, shared by every connection of one run."""

    def __init__(self, total: int, deadline: float) -> None:
        self.left = total
        self.deadline = deadline

    def take(self) -> bool:
        if self.left <= 0 or time.perf_counter() >= self.deadline:
            return False
        self.left -= 1
        return True


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Status of one response, its body read and dropped (Content-Length bodies only)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def _connection(
    host: str,
    port: int,
    request: bytes,
    budget: _Budget,
    latencies: list[float],
    tally: Counter[str],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while budget.take():
            started = time.perf_counter()
            writer.write(request)
            status = await _read_response(reader)
            latencies.append(time.perf_counter() - started)
            tally[str(status)] += 1
    finally:
        writer.close()


async def _run_async(
    url: str, headers: dict[str, str], seconds: float, connections: int, max_requests: int
) -> LoadResult:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    latencies: list[float] = []
    tally: Counter[str] = Counter()
    started = time.perf_counter()
    budget = _Budget(max_requests, started + seconds)
    tasks = [_connection(host, port, request, budget, latencies, tally) for _ in range(connections)]
    results = await asyncio.wait_for(
        asyncio.gather(*tasks, return_exceptions=True), timeout=seconds + 30
    )
    elapsed = time.perf_counter() - started
    errors = {k: v for k, v in tally.items() if not 200 <= int(k) < 400}
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        errors["connection"] = len(failed)
    lat = np.asarray(latencies) * 1e3
    p50, p99 = np.percentile(lat, [50, 99]) if lat.size else (float("nan"), float("nan"))
    capped = budget.left <= 0
    return LoadResult(len(latencies), elapsed, float(p50), float(p99), errors, capped)


def run_async_client(
    url: str, headers: dict[str, str], *, seconds: float, connections: int, max_requests: int
) -> LoadResult:
    """The fallback load generator: ``connections`` asyncio keep-alive connections, for
    ``seconds`` or ``max_requests`` responses, whichever comes first."""
    return asyncio.run(_run_async(url, headers, seconds, connections, max_requests))
