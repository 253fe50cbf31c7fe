"""API load benchmark: ``/v1/forecasts/latest?top=100`` (or ``--path``) beside a bare FastAPI route.

Sets up a served registry (default: the demo city, Synthetica seed 0, ingested to an event
table, one ``demo-burglary`` model fitted and published, a read key made with ``KeyStore``),
starts ``hotspots serve --workers 1`` on 127.0.0.1 and, beside it, ``bare_app.py``: uvicorn
run the same way with one ``async def`` route returning the same bytes, FastAPI's
OpenTelemetry off in both (``--bare-fastapi-telemetry`` leaves the bare app FastAPI's
default). Each server is warmed up, then both are loaded alternately (bare, real, real,
bare, ...) with the same request, Authorization header included, and the medians over rounds
are reported.

Load generator: ``wrk`` when it is on PATH (optional; Debian: ``apt-get install wrk``), run
as ``wrk -t2 -c32 -d<seconds>s --latency``; otherwise a bounded asyncio client (32 keep-alive
connections). Every run stops after ``--duration`` seconds or ``--max-requests`` responses,
and the whole script after ``--max-total`` seconds. Only 127.0.0.1 is ever loaded.

Targets (one worker, 32 connections): real requests/s >= 0.8x the bare route's; real p99
under 25 ms. A missed target is a measurement: the exit status is 0 unless setup failed.

    .venv/bin/python benchmarks/api_load.py [--duration 10] [--rounds 2] [--json out.json]
    .venv/bin/python benchmarks/api_load.py --models models --events demo/events.parquet
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api_servers import (
    HOST,
    Server,
    SetupError,
    free_ports,
    get,
    hotspots_exe,
    interrupt,
    running,
)
from ingest import machine
from load_gen import LoadResult, run_async_client, run_wrk, wrk_path

HERE = Path(__file__).resolve().parent
PATH = "/v1/forecasts/latest?top=100"
"""The route measured by default; ``--path`` measures another (``/v1/plans/latest``)."""
TARGET_RATIO, TARGET_P99_MS = 0.8, 25.0
MODEL_NAME = "demo-burglary"
TARGET = ("Burglary Residential",)
UNREACHABLE = str(10**12)


# -- setup --------------------------------------------------------------------------------
def make_registry(workdir: Path, kind: str) -> tuple[Path, Path]:
    """The demo city ingested to an event table and one fitted model published and current."""
    from hotspots.features import events_to_panel
    from hotspots.forecasters import make_forecaster
    from hotspots.grid import StudyArea
    from hotspots.ingest import ingest_file, write_events
    from hotspots.jobs.data import ingest_options, whole_periods_end, whole_periods_start
    from hotspots.registry import Registry
    from hotspots.synthetic import COLUMN_MAP, TIMEZONE, generate_city, write_city

    city = workdir / "demo"
    write_city(generate_city(seed=0, days=730, target_events=150_000), city)  # = demo-data
    boundary = city / "boundary.geojson"
    options = ingest_options(map=COLUMN_MAP, timezone=TIMEZONE, boundary=boundary)
    result = ingest_file(city / "events.csv.gz", options)
    events_path = city / "events.parquet"
    meta = {"source": "events.csv.gz", "preset": "generic", "timezone": result.timezone}
    write_events(result.events, events_path, meta)
    panel = events_to_panel(
        result.events,
        9,
        "W",
        study_area=StudyArea.from_boundary(boundary, 9),
        start=whole_periods_start(result.events, "W"),
        end=whole_periods_end(result.events, "W"),
    )
    params = {"n_estimators": 30} if kind == "lightgbm" else {}
    model = make_forecaster(kind, target=TARGET, **params).fit(panel)
    models = workdir / "models"
    data = {"events": str(events_path), "preset": "generic", "timezone": TIMEZONE}
    Registry(models).publish(
        MODEL_NAME,
        model,
        spec={"name": MODEL_NAME, "data": data},
        data={"timezone": TIMEZONE},
        backtest={"selected": kind, "note": "api_load benchmark: not backtested"},
    )
    return models, events_path


def read_key(state_dir: Path) -> str:
    """A new ``forecasts:read`` key in the server's key store."""
    from hotspots.access.keys import KEYS_FILE, KeyStore

    return KeyStore(state_dir / KEYS_FILE).create("api-load", ["forecasts:read"])[1]


# -- measuring ----------------------------------------------------------------------------
Loader = Callable[[str, float], LoadResult]


def make_loader(args: argparse.Namespace, key: str, workdir: Path) -> tuple[Loader, str]:
    """The load function (url, seconds) -> LoadResult and a description of the tool."""
    headers = {"Authorization": f"Bearer {key}"}
    if wrk_path() is not None and not args.no_wrk:
        threads = 2

        def by_wrk(url: str, seconds: float) -> LoadResult:
            return run_wrk(
                url,
                headers,
                seconds=seconds,
                connections=args.connections,
                threads=threads,
                max_requests=args.max_requests,
                script_dir=workdir,
            )

        return by_wrk, f"{_wrk_version()} -t{threads} -c{args.connections} --latency"

    def by_asyncio(url: str, seconds: float) -> LoadResult:
        return run_async_client(
            url,
            headers,
            seconds=seconds,
            connections=args.connections,
            max_requests=args.max_requests,
        )

    return by_asyncio, (
        f"asyncio client, {args.connections} keep-alive connections "
        "(in this process: it takes CPU from the servers; install wrk for firmer figures)"
    )


def _wrk_version() -> str:
    done = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False, timeout=10)
    first = (done.stdout or done.stderr).splitlines()
    return first[0].split(" [")[0] if first else "wrk"


def measure(
    load: Loader,
    urls: dict[str, str],
    servers: dict[str, Server],
    args: argparse.Namespace,
    deadline: float,
) -> tuple[dict[str, list[LoadResult]], dict[str, list[float]]]:
    """Warm each server up, then alternate them (ABBA...) for ``args.rounds`` rounds.

    Returns each server's runs and, where ``/proc`` tells, its CPU time (user + system) per
    request in each run, in microseconds."""
    for name, url in urls.items():
        load(url, args.warmup)
        print(f"warmed up {name} ({args.warmup:g} s)", flush=True)
    results: dict[str, list[LoadResult]] = {name: [] for name in urls}
    cpu_us: dict[str, list[float]] = {name: [] for name in urls}
    names = list(urls)
    for r in range(args.rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            if time.monotonic() + args.duration + 15 > deadline:
                print(f"stopping early: --max-total {args.max_total:g} s reached", flush=True)
                return results, cpu_us
            before = servers[name].cpu_seconds()
            res = load(urls[name], args.duration)
            after = servers[name].cpu_seconds()
            results[name].append(res)
            cpu = ""
            if before is not None and after is not None and res.requests:
                cpu_us[name].append((after - before) / res.requests * 1e6)
                cpu = f"  server CPU {cpu_us[name][-1]:.0f} us/request"
            print(f"round {r + 1} {name:4s} {_line(res)}{cpu}", flush=True)
    return results, cpu_us


def _line(res: LoadResult) -> str:
    errors = f"  errors {res.errors}" if res.errors else ""
    capped = ", stopped at --max-requests" if res.capped else ""
    return (
        f"{res.rps:9,.0f} req/s  p50 {res.p50_ms:7.2f} ms  p99 {res.p99_ms:7.2f} ms  "
        f"({res.requests:,} requests in {res.seconds:.1f} s{capped}){errors}"
    )


def summarise(results: dict[str, list[LoadResult]]) -> dict[str, dict[str, float]]:
    """Median requests/s, p50 and p99 over each server's runs, and their error count."""
    out = {}
    for name, runs in results.items():
        if not runs:
            raise SetupError(f"no run of the {name} server finished within --max-total")
        out[name] = {
            "rps": statistics.median(r.rps for r in runs),
            "p50_ms": statistics.median(r.p50_ms for r in runs),
            "p99_ms": statistics.median(r.p99_ms for r in runs),
            "runs": len(runs),
            "errors": sum(sum(r.errors.values()) for r in runs),
        }
    return out


# -- reporting ----------------------------------------------------------------------------
def server_settings() -> str:
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    versions = ", ".join(
        f"{p} {importlib.metadata.version(p)}" for p in ("fastapi", "starlette", "uvicorn")
    )
    return f"{versions}; uvicorn 1 worker, loop {loop}, http {http}, access log off"


def report(summary: dict[str, dict[str, float]], meta: dict[str, Any]) -> dict[str, Any]:
    """Print the medians and the targets; return every figure as one JSON-able dict."""
    bare, real = summary["bare"], summary["real"]
    ratio = real["rps"] / bare["rps"] if bare["rps"] else 0.0
    ratio_met, p99_met = ratio >= TARGET_RATIO, real["p99_ms"] < TARGET_P99_MS
    print(f"\nmedians over {int(real['runs'])} run(s) each of {meta['duration_s']:g} s:")
    print(f"{'':38s} {'req/s':>9s} {'p50 ms':>8s} {'p99 ms':>8s}")
    for label, row in (
        ("bare FastAPI route, same bytes", bare),
        (f"hotspots {meta['path']}", real),
    ):
        print(f"{label:38s} {row['rps']:9,.0f} {row['p50_ms']:8.2f} {row['p99_ms']:8.2f}")
    print(
        f"real / bare requests/s: {ratio:.2f}x (target >= {TARGET_RATIO}x: "
        f"{'met' if ratio_met else 'NOT met'})"
    )
    pairs = zip(meta["runs"]["real"], meta["runs"]["bare"], strict=False)
    paired = [r["rps"] / b["rps"] for r, b in pairs if b["rps"]]
    # side by side in time, so the VM's minute-to-minute drift mostly cancels
    print(f"real / bare by round: {', '.join(f'{p:.2f}x' for p in paired)}")
    print(
        f"real p99: {real['p99_ms']:.1f} ms (target < {TARGET_P99_MS:g} ms: "
        f"{'met' if p99_met else 'NOT met'})"
    )
    cpu = {k: v for k, v in meta["cpu_us_per_request"].items() if v}
    cpu_ratio = None
    if len(cpu) == 2:  # steadier than requests/s on a noisy VM: not a target, a diagnosis
        bare_cpu, real_cpu = statistics.median(cpu["bare"]), statistics.median(cpu["real"])
        cpu_ratio = bare_cpu / real_cpu
        print(
            f"server CPU per request (user + system, median): bare {bare_cpu:.0f} us, real "
            f"{real_cpu:.0f} us; bare / real {cpu_ratio:.2f}x (the requests/s ratio if each "
            "server's core were its only limit)"
        )
    for name, row in summary.items():
        if row["errors"]:
            print(
                f"WARNING: {row['errors']:,} answers of the {name} server were errors (non-2xx "
                "or socket): its figures are not those of the route"
            )
    return {
        **meta,
        "bare": bare,
        "real": real,
        "rps_ratio": round(ratio, 4),
        "rps_ratio_by_round": [round(p, 4) for p in paired],
        "cpu_ratio": None if cpu_ratio is None else round(cpu_ratio, 4),
        "targets": {
            "rps_ratio": {"target": TARGET_RATIO, "met": ratio_met},
            "p99_ms": {"target": TARGET_P99_MS, "met": p99_met},
        },
    }


# -- main ---------------------------------------------------------------------------------
def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per run [10]")
    ap.add_argument("--rounds", type=int, default=2, help="runs per server [2]")
    ap.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per server [2]")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--max-requests", type=int, default=500_000, help="cap per run [500000]")
    ap.add_argument("--max-total", type=float, default=600.0, help="hard cap, seconds [600]")
    ap.add_argument("--models", type=Path, help="an existing registry (with --events)")
    ap.add_argument("--events", type=Path, help="the events that registry forecasts from")
    ap.add_argument(
        "--model-kind", default="historical_mean", help="model fitted for the default setup"
    )
    ap.add_argument("--workdir", type=Path, help="keep the setup and logs here [a temp dir]")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    ap.add_argument("--path", default=PATH, help=f"the route and query measured [{PATH}]")
    ap.add_argument("--no-wrk", action="store_true", help="use the asyncio client even if wrk is")
    ap.add_argument("--bare-sync", action="store_true", help="bare route as a sync def")
    ap.add_argument(
        "--bare-fastapi-telemetry",
        action="store_true",
        help="keep FastAPI's default OpenTelemetry check in the bare app [off, like the service]",
    )
    args = ap.parse_args()
    if (args.models is None) != (args.events is None):
        ap.error("--models and --events go together")
    return args


def server_env(args: argparse.Namespace, workdir: Path) -> tuple[dict[str, str], str, Path]:
    """The servers' environment (registry, events, state), a read key and the registry."""
    if args.models is None:
        print(f"setting up the demo registry in {workdir} ({args.model_kind})", flush=True)
        models, events = make_registry(workdir, args.model_kind)
    else:
        models, events = args.models.resolve(), args.events.resolve()
    state = workdir / "state"
    env = {**os.environ, "HOTSPOTS_MODELS_DIR": str(models), "HOTSPOTS_STATE_DIR": str(state)}
    env["HOTSPOTS_EVENTS_PATH"] = str(events)
    # One key makes every request: a per-key rate limit would answer 429s, not the route.
    # A limit too high to reach keeps the limiter's bookkeeping on the measured path.
    env |= {"HOTSPOTS_RATE_LIMIT_PER_MINUTE": UNREACHABLE, "HOTSPOTS_RATE_LIMIT_BURST": UNREACHABLE}
    env["API_LOAD_BODY"] = str(workdir / "body.json")
    env["API_LOAD_PATH"] = args.path.partition("?")[0]
    env["API_LOAD_BARE_SYNC"] = "1" if args.bare_sync else "0"
    env["API_LOAD_BARE_TELEMETRY"] = "default" if args.bare_fastapi_telemetry else "off"
    return env, read_key(state), models


def run(args: argparse.Namespace, workdir: Path, deadline: float) -> dict[str, Any]:
    """Set up, start both servers, measure; the servers are stopped whatever happens."""
    env, key, models = server_env(args, workdir)
    ports = dict(zip(("real", "bare"), free_ports(2), strict=True))
    base = {name: f"http://{HOST}:{port}" for name, port in ports.items()}
    serve = [hotspots_exe(), "serve", "--host", HOST, "--port", str(ports["real"])]
    real = Server("real", [*serve, "--workers", "1"], env, workdir)
    bare_cmd = [sys.executable, str(HERE / "bare_app.py"), "--host", HOST]
    bare = Server("bare", [*bare_cmd, "--port", str(ports["bare"])], env, workdir)
    with running([real, bare]):
        real.start()
        auth = {"Authorization": f"Bearer {key}"}  # /readyz names the models to a key only
        ready = real.wait_ready(base["real"], max(5.0, deadline - time.monotonic()), auth)
        status, body = get(base["real"] + args.path, auth)
        if status != 200:
            raise SetupError(f"GET {args.path} is {status}: {body.decode()[:500]}")
        Path(env["API_LOAD_BODY"]).write_bytes(body)
        bare.start()
        bare.wait_ready(base["bare"], max(5.0, deadline - time.monotonic()))
        load, tool = make_loader(args, key, workdir)
        print(f"load: {tool}; {args.duration:g} s per run, {args.rounds} round(s)", flush=True)
        urls = {name: url + args.path for name, url in base.items()}
        results, cpu_us = measure(load, urls, {"real": real, "bare": bare}, args, deadline)
    served = ready["models"][0]
    from hotspots.registry import Registry

    manifest = Registry(models).manifest(served["name"], served["version"])
    return {
        "tool": tool,
        "path": args.path,
        "model": f"{served['name']} {served['version']} ({manifest['kind']}, "
        f"{manifest['study_cells']:,} cells)",
        "body_bytes": len(body),
        "bare_route": ("sync def" if args.bare_sync else "async def")
        + (", FastAPI telemetry default" if args.bare_fastapi_telemetry else ", telemetry off"),
        "duration_s": args.duration,
        "connections": args.connections,
        "runs": {k: [r.to_dict() for r in v] for k, v in results.items()},
        "cpu_us_per_request": {k: [round(c, 1) for c in v] for k, v in cpu_us.items()},
        "summary": summarise(results),
    }


def main() -> None:
    args = parse_args()
    deadline = time.monotonic() + args.max_total
    signal.signal(signal.SIGALRM, interrupt)  # the last resort behind the deadline checks
    signal.alarm(int(args.max_total) + 60)
    load_before = os.getloadavg()[0]
    with contextlib.ExitStack() as stack:
        if args.workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="api_load_")))
        else:
            workdir = args.workdir.resolve()
            workdir.mkdir(parents=True, exist_ok=True)
        try:
            figures = run(args, workdir, deadline)
        except SetupError as err:
            print(f"setup failed: {err}", file=sys.stderr)
            sys.exit(2)
        except KeyboardInterrupt as err:
            print(
                f"interrupted ({str(err) or 'Ctrl-C'}); the servers were stopped", file=sys.stderr
            )
            sys.exit(130)
        finally:
            signal.alarm(0)
    print(f"\nmachine: {machine()}")
    print(f"servers: {server_settings()}")
    print(f"load generator: {figures['tool']}")
    print(
        f"served: {figures['model']}; body {figures['body_bytes']:,} bytes; bare route "
        f"{figures['bare_route']}; load average (1 min) before {load_before:.2f}, "
        f"after {os.getloadavg()[0]:.2f}"
    )
    summary = figures.pop("summary")
    out = report(summary, {**figures, "machine": machine(), "servers": server_settings()})
    line = json.dumps(out, separators=(",", ":"))
    print(f"JSON {line}")
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
