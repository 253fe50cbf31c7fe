"""The forecast service: ``create_app(settings)``, its lifespan, audit middleware and JSON logs.

    uvicorn --factory hotspots.service.app:create_app     # settings from HOTSPOTS_* variables

The lifespan loads the current version of every registered model (checksums verified),
publishes its next forecast from the configured events and serves it until a promote swaps
it. Every request, refused ones included, leaves one record in the audit log.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import itertools
import json
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, FastAPI
from fastapi.telemetry import TelemetryConfig
from pydantic import BaseModel
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hotspots import __version__
from hotspots.access.audit import (
    client_request_id,
    encode_entry,
    encode_params,
    utc_timestamp,
)
from hotspots.config import Settings, get_settings
from hotspots.service import (
    docs,
    map_page,
    routes_cells,
    routes_effectiveness,
    routes_events,
    routes_forecasts,
    routes_health,
    routes_models,
    routes_monitor,
    routes_patrols,
    routes_plans,
    schemas,
)
from hotspots.service.fast_path import FastLatestMiddleware
from hotspots.service.fast_plans import FastPlansMiddleware
from hotspots.service.headers import answer_headers
from hotspots.service.limits import BodyLimitMiddleware, RateLimiter, UploadSlots
from hotspots.service.metrics import ServiceMetrics, observe_request
from hotspots.service.metrics import router as metrics_router
from hotspots.service.plan_schemas import PlanFeatureCollection
from hotspots.service.problems import add_problem_handlers, problem
from hotspots.service.retrain_loop import retrain_loop
from hotspots.service.routes_forecasts import LATEST_PATH
from hotspots.service.routes_plans import PLANS_PATH
from hotspots.serving.retrain import RetrainSchedule
from hotspots.serving.state import ServiceState, refresh_loop

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_NAME = REQUEST_ID_HEADER.lower().encode("latin-1")
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "hotspots_request_id", default=None
)


_LOG_FIELDS = (
    "client_request_id", "method", "route", "status", "duration_ms", "key_id", "model",
)  # fmt: skip
"""Fields a log call may pass in ``extra`` that the JSON line keeps."""


class JsonFormatter(logging.Formatter):
    """One JSON object per line: UTC time, level, logger, message, request id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": utc_timestamp(datetime.fromtimestamp(record.created, UTC)),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id is not None:
            entry["request_id"] = request_id
        for key in _LOG_FIELDS:
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def log_config(level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` that sends every logger through ``JsonFormatter``."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            name: {"handlers": [], "propagate": True} for name in ("uvicorn", "uvicorn.error")
        },
    }


class AuditMiddleware:
    """Our request id on every answer, one audit record per request, and a 500 problem (no
    traceback) for anything unexpected.

    The request id is always ours (unique, not forgeable); a client's own ``X-Request-ID``
    is kept apart, sanitised and cut short, as ``client_request_id`` in the audit and logs.
    """

    def __init__(self, app: ASGIApp, state: ServiceState) -> None:
        self.app = app
        self.state = state
        # 32 hex digits like a uuid4, without one per request (~3 us): 16 random per app
        # (so per worker process), then a counter
        self._id_prefix = secrets.token_hex(8)
        self._ids = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = f"{self._id_prefix}{next(self._ids):016x}"
        notes = scope.setdefault("state", {})
        notes["request_id"] = request_id
        notes["client_request_id"] = client_request_id(_header(scope, b"x-request-id"))
        token = request_id_var.set(request_id)
        status = {"code": 500, "sent": False}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["sent"] = message["status"], True
                headers = answer_headers(
                    message.get("headers", ()), (_REQUEST_ID_NAME, request_id.encode())
                )
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            logger.exception("unexpected error on %s %s", scope["method"], scope["path"])
            if not status["sent"]:
                response = problem(
                    500,
                    "an unexpected error occurred; quote the request id to the operators",
                    instance=scope["path"],
                    request_id=request_id,
                )
                await response(scope, receive, send_wrapper)
        finally:
            self._record(scope, request_id, int(status["code"]), started)
            request_id_var.reset(token)

    def _record(self, scope: Scope, request_id: str, status: int, started: float) -> None:
        state = scope.get("state", {})
        route = scope.get("route")
        route_name = str(getattr(route, "path_format", None) or "(no route)")
        elapsed = time.perf_counter() - started
        key_id, model, etag = state.get("key_id"), state.get("model"), state.get("etag")
        duration_ms = round(elapsed * 1000, 3)
        line = encode_entry(
            request_id=request_id,
            key_id=key_id,
            method=scope["method"],
            route=route_name,
            status=status,
            duration_ms=duration_ms,
            params_json=_params_json(scope.get("query_string", b"")),
            model=model,
            etag=etag,
            client_request_id=state.get("client_request_id"),
        )
        failed = False
        try:
            self.state.audit.write_line(line)
        except OSError:  # never lose the answer over the log; the operators see this
            failed = True
            logger.exception("could not write the audit record of request %s", request_id)
        observe_request(scope, scope["method"], route_name, status, elapsed, audit_failed=failed)
        # the audit log has every request; the log shows refusals and errors (and, at DEBUG,
        # every request): a line per dashboard poll costs ~40 us and says nothing new
        level = logging.DEBUG if status < 400 else logging.INFO
        if logger.isEnabledFor(level):
            extra = {
                "request_id": request_id,
                "client_request_id": state.get("client_request_id"),
                "key_id": key_id,
                "method": scope["method"],
                "route": route_name,
                "status": status,
                "duration_ms": duration_ms,
                "model": model,
                "etag": etag,
            }
            logger.log(level, "%s %s %d", scope["method"], route_name, status, extra=extra)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


@functools.lru_cache(maxsize=1024)
def _params_json(query_string: bytes) -> str:
    """The audit record's ``params`` of a query, encoded (cached: a dashboard polls the
    same query over and over)."""
    return encode_params(_params(query_string))


def _params(query_string: bytes) -> Mapping[str, Any]:
    """Query parameters (a repeated one as a list); key-like values are redacted later."""
    out: dict[str, Any] = {}
    for key, value in parse_qsl(query_string.decode("latin-1"), True):
        if key in out:
            previous = out[key]
            out[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[key] = value
    return out


def _redactions(settings: Settings) -> list[tuple[re.Pattern[str], str]]:
    """Server folder names replaced in problem details, longest first: each absolute path
    where it stands whole, and a bare relative one (the defaults, ``models`` and ``var``)
    only as the start of a path (``models/burglary/...``), never the word ("models
    served")."""
    pairs = [(settings.models_dir, "<models>"), (settings.state_dir, "<state>")]
    if settings.events_path is not None:
        pairs.append((settings.events_path, "<events>"))
    out = {str(p.resolve()): label for p, label in pairs} | {str(p): label for p, label in pairs}
    found = sorted(
        ((k, v) for k, v in out.items() if k not in ("", ".")), key=lambda kv: -len(kv[0])
    )
    return [(re.compile(_path_pattern(k)), v) for k, v in found]


def _path_pattern(path: str) -> str:
    """``path`` where it stands whole; a bare word (``models``, ``var``) only followed by
    ``/``, as the start of a path."""
    end = "(?=/)" if re.fullmatch(r"\w+", path) else r"(?![\w.-])"
    return rf"(?<![\w.-]){re.escape(path)}{end}"


def _route(router: APIRouter, path: str) -> BaseRoute:
    return next(r for r in router.routes if getattr(r, "path", None) == path)


_NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
"""FastAPI's native OpenTelemetry, all off (``Settings.opentelemetry``)."""


def _add_components(app: FastAPI, *models: type[BaseModel]) -> None:
    """Put ``models`` in the OpenAPI components, for responses whose media type FastAPI's
    ``model=`` does not cover (the GeoJSON forecast)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            found = document.setdefault("components", {}).setdefault("schemas", {})
            found.update({k: v for k, v in schemas.components(*models).items() if k not in found})
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None) -> FastAPI:
    """The FastAPI app serving the registry's current models (settings default: env)."""
    settings = settings if settings is not None else get_settings()
    state = ServiceState(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from starlette.concurrency import run_in_threadpool

        await run_in_threadpool(state.load_all)
        every = settings.refresh_seconds
        schedule = asyncio.create_task(refresh_loop(state, every)) if every > 0 else None
        cycle = settings.retrain_seconds
        retraining = (
            asyncio.create_task(retrain_loop(app.state.retrain, cycle)) if cycle > 0 else None
        )
        try:
            yield
        finally:
            for task in (schedule, retraining):
                if task is not None:
                    task.cancel()
            state.audit.close()
            state.keys.close()

    app = FastAPI(
        title="hotspots forecast service",
        version=__version__,
        description="Where crime is likely next period, per H3 cell, from a registered model.",
        lifespan=lifespan,
        telemetry=None if settings.opentelemetry else _NO_TELEMETRY,
        docs_url=None,  # FastAPI's pages load Swagger UI / ReDoc from a CDN; see docs.py
        redoc_url=None,
    )
    app.state.service = state
    app.state.map_files = map_page.MapFiles(settings)  # pages' files hashed once, at start
    app.state.docs_files = docs.DocsFiles()
    app.state.retrain = RetrainSchedule(state)
    _add_components(app, schemas.ForecastFeatureCollection, PlanFeatureCollection)
    app.state.redactions = _redactions(settings)
    add_problem_handlers(app)
    for module in (
        routes_health, routes_forecasts, routes_plans, routes_cells, routes_models, routes_events,
        routes_monitor,
    ):  # fmt: skip
        app.include_router(module.router)
    app.include_router(routes_patrols.router)
    app.include_router(routes_effectiveness.router)
    app.include_router(metrics_router)
    app.include_router(docs.router)
    app.include_router(map_page.router)
    app.state.metrics = ServiceMetrics(state)
    app.state.limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
    app.state.upload_slots = UploadSlots()
    # added first, so it runs inside the audit middleware: a 413 is audited with its request id
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_upload_bytes)
    # inside the audit middleware too: both paths of /latest are audited the same way
    app.add_middleware(FastLatestMiddleware, route=_route(routes_forecasts.router, LATEST_PATH))
    app.add_middleware(FastPlansMiddleware, route=_route(routes_plans.router, PLANS_PATH))
    app.add_middleware(AuditMiddleware, state=state)
    return app
