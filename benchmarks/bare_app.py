"""The reference server of ``api_load.py``: one bare FastAPI route returning fixed bytes.

``GET /v1/forecasts/latest`` (or the path in ``API_LOAD_PATH``) answers the bytes of the file
named by ``API_LOAD_BODY`` as ``application/json``: no auth, no audit, no logging, nothing
but FastAPI and uvicorn. The
route is ``async def`` (no thread-pool hop) unless ``API_LOAD_BARE_SYNC=1``. FastAPI's native
OpenTelemetry is off, as ``hotspots serve`` has it by default (its per-request check for
providers is work the service skips, not work it does faster), unless
``API_LOAD_BARE_TELEMETRY=default`` keeps FastAPI's default.

    API_LOAD_BODY=body.json .venv/bin/python benchmarks/bare_app.py --port 8001

It runs uvicorn exactly as ``hotspots serve`` does (``uvicorn.run`` with one worker, the
same JSON ``log_config``, log level and ``access_log=False``; loop and HTTP parser left on
uvicorn's "auto"), so the two servers differ only in the app.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import Response

BODY_ENV = "API_LOAD_BODY"
SYNC_ENV = "API_LOAD_BARE_SYNC"
TELEMETRY_ENV = "API_LOAD_BARE_TELEMETRY"
PATH_ENV = "API_LOAD_PATH"


def create_app() -> FastAPI:
    """The bare app, serving the bytes of ``$API_LOAD_BODY`` (read once, at start)."""
    body = Path(os.environ[BODY_ENV]).read_bytes()
    path = os.environ.get(PATH_ENV) or "/v1/forecasts/latest"
    default_telemetry = os.environ.get(TELEMETRY_ENV) == "default"
    off = {"tracing": False, "metrics": False, "logs": False}
    app = FastAPI(title="bare reference", telemetry=None if default_telemetry else off)

    if os.environ.get(SYNC_ENV) == "1":

        @app.get(path)
        def latest_sync() -> Response:
            return Response(body, media_type="application/json")

    else:

        @app.get(path)
        async def latest() -> Response:
            return Response(body, media_type="application/json")

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    return app


def main() -> None:
    import uvicorn

    from hotspots.service.app import log_config

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log-level", default="info")
    args = ap.parse_args()
    uvicorn.run(
        "bare_app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=1,
        log_config=log_config(args.log_level.upper()),
        log_level=args.log_level.lower(),
        access_log=False,
        app_dir=str(Path(__file__).resolve().parent),
    )


if __name__ == "__main__":
    main()
