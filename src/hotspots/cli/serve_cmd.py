"""``hotspots serve``: run the forecast service with uvicorn, logging JSON lines."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import typer

from hotspots.cli.main import app, console
from hotspots.errors import ConfigError

APP_FACTORY = "hotspots.service.app:create_app"


def settings_epilog() -> str:
    """Every setting of the service, for ``--help``: its variable, default and meaning, read
    from the one declaration (``hotspots.config.Settings``: each field and its docstring)
    without importing pydantic, so ``--help`` stays fast."""
    import hotspots

    source = (Path(hotspots.__file__).parent / "config.py").read_text(encoding="utf-8")
    [settings] = [
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.ClassDef) and node.name == "Settings"
    ]
    lines = ["Settings (environment variables; the flags above override the ones they name):"]
    body = settings.body
    for node, after in zip(body, [*body[1:], None], strict=True):
        if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name):
            continue
        is_doc = isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
        doc = after.value.value if is_doc else ""  # type: ignore[union-attr]
        about = " ".join(str(doc).replace("``", "'").split())
        lines.append(f"HOTSPOTS_{node.target.id.upper()} [{_shown(node.value)}]: {about}")
    return "\n\n".join(lines)


def _shown(value: ast.expr | None) -> str:
    """A default as a reader types it: ``UTC``, ``models``, ``32 * 1024 * 1024``."""
    if value is None:
        return "required"
    if isinstance(value, ast.Call) and len(value.args) == 1:  # Path("models")
        value = value.args[0]
    try:
        return str(ast.literal_eval(value))
    except ValueError:  # an expression such as 32 * 1024 * 1024
        return ast.unparse(value)


def _export(name: str, value: Path | None) -> None:
    """Pass a flag to the app factory (and to every worker process) as its HOTSPOTS_ variable."""
    if value is not None:
        os.environ[f"HOTSPOTS_{name.upper()}"] = str(value.resolve())


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration_seconds(text: str) -> float:
    """Seconds of a duration like ``7d``, ``12h``, ``30m``, ``90s``, ``1w`` or a bare
    number of seconds; ConfigError naming the value otherwise."""
    value = text.strip().lower()
    number, unit = (value[:-1], value[-1]) if value[-1:] in _UNITS else (value, "s")
    try:
        seconds = float(number) * _UNITS[unit]
    except ValueError:
        seconds = float("nan")
    if not seconds > 0 or seconds == float("inf"):
        raise ConfigError(
            f"--retrain-every {text!r} is not a duration: give a positive number with s, m, h, "
            "d or w (e.g. 7d), or seconds"
        )
    return seconds


def check_models_dir(folder: Path) -> None:
    """A missing models folder, or a file, is an error; one without any model is said loudly."""
    from hotspots.registry import Registry

    if not folder.exists():
        raise ConfigError(
            f"the models folder {folder} does not exist: train a model first (`hotspots train "
            "SPEC.toml`), or give the registry with --models-dir or HOTSPOTS_MODELS_DIR"
        )
    if not Registry(folder).names():  # a file, not a folder: Registry.check_root says so
        console.print(
            f"warning: the models folder {folder} holds no model: NOTHING WILL BE SERVED "
            "(every forecast request answers 503) until one is published with `hotspots train`",
            style="bold yellow",
            soft_wrap=True,
        )


def check_served_horizon(horizon: int) -> None:
    """The periods published, 1 up to a year of the shortest period (``MAX_HORIZON``); each
    model then refuses more than a year of its own periods (52 weekly) with that reason."""
    from hotspots.forecasters import MAX_HORIZON

    limit = max(MAX_HORIZON.values())
    if not 1 <= horizon <= limit:
        raise ConfigError(
            f"--horizon (HOTSPOTS_FORECAST_HORIZON) {horizon}: must be between 1 and {limit}, "
            f"a year ahead (at most {MAX_HORIZON['W']} for weekly, {MAX_HORIZON['M']} for "
            "monthly models)"
        )


@app.command(epilog=settings_epilog())
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, help="Worker processes (each loads every model)."),
    models_dir: Path | None = typer.Option(
        None, "--models-dir", help="Registry folder [default: HOTSPOTS_MODELS_DIR or ./models]."
    ),
    state_dir: Path | None = typer.Option(
        None, "--state-dir", help="Keys, audit log and snapshots [default: HOTSPOTS_STATE_DIR]."
    ),
    events: Path | None = typer.Option(
        None, "--events", help="Events to forecast from [default: HOTSPOTS_EVENTS_PATH]."
    ),
    areas: Path | None = typer.Option(
        None, "--areas", help="Polygons of named areas for within= [HOTSPOTS_AREAS_PATH]."
    ),
    areas_field: str | None = typer.Option(
        None, "--areas-field", help="The field naming each area [HOTSPOTS_AREAS_FIELD or name]."
    ),
    refresh_seconds: int | None = typer.Option(
        None,
        "--refresh-seconds",
        help="Republish this often when events were posted or a model was promoted or "
        "rolled back in the registry; 0: only on POST /v1/forecasts/refresh "
        "[HOTSPOTS_REFRESH_SECONDS or 0].",
    ),
    retrain_every: str | None = typer.Option(
        None,
        "--retrain-every",
        help="Retrain every served model this often, e.g. 7d, 12h, 30m or seconds, and serve "
        "the new version when it beats the current one (`hotspots retrain`) "
        "[HOTSPOTS_RETRAIN_SECONDS or never].",
    ),
    horizon: int | None = typer.Option(
        None,
        "--horizon",
        help="Periods published ahead of as_of, horizon=1..N on the API, at most a year "
        "(52 for weekly models) [HOTSPOTS_FORECAST_HORIZON or 4].",
    ),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
    shutdown_seconds: int = typer.Option(
        10,
        "--shutdown-seconds",
        help="On SIGTERM or Ctrl-C, let requests in flight finish for this long, then cancel "
        "them and exit.",
    ),
) -> None:
    """Serve the registry's current models over HTTP (see /docs once it runs).

    Logs are JSON lines on stderr, each with the request id; every request is also in the
    audit log (`hotspots audit`). Incidents posted to /v1/events are stored in the state
    folder and join the forecast on POST /v1/forecasts/refresh or every --refresh-seconds;
    both also serve a version promoted or rolled back with `hotspots models`. With --workers
    above 1, use --refresh-seconds: a refresh or promote request reaches one worker, and the
    others follow at their next tick. With --retrain-every, each served model is retrained
    on that schedule (`hotspots retrain`) and a new version that wins is served at once.
    """
    import uvicorn

    from hotspots.config import get_settings
    from hotspots.publishing.plan_shifts import SHIFTS_SETTING, parse_shifts
    from hotspots.service.app import log_config

    if workers < 1:
        raise ConfigError(f"--workers must be 1 or more, got {workers}")
    if not 0 < port < 65536:
        raise ConfigError(f"--port must be between 1 and 65535, got {port}")
    if shutdown_seconds < 0:
        raise ConfigError(f"--shutdown-seconds must be 0 or more, got {shutdown_seconds}")
    level = log_level.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"--log-level must be debug, info, warning or error, got {log_level!r}")
    _export("models_dir", models_dir)
    _export("state_dir", state_dir)
    _export("events_path", events)
    _export("areas_path", areas)
    if areas_field is not None:
        os.environ["HOTSPOTS_AREAS_FIELD"] = areas_field
    if refresh_seconds is not None:
        if refresh_seconds < 0:
            raise ConfigError(f"--refresh-seconds must be 0 or more, got {refresh_seconds}")
        os.environ["HOTSPOTS_REFRESH_SECONDS"] = str(refresh_seconds)
    if retrain_every is not None:
        os.environ["HOTSPOTS_RETRAIN_SECONDS"] = str(duration_seconds(retrain_every))
    if horizon is not None:
        check_served_horizon(horizon)
        os.environ["HOTSPOTS_FORECAST_HORIZON"] = str(horizon)
    get_settings.cache_clear()
    settings = get_settings()
    check_served_horizon(settings.forecast_horizon)
    parse_shifts(settings.plan_shifts, SHIFTS_SETTING)  # before the plans fail at publish
    check_models_dir(settings.models_dir)
    if settings.events_path is None or not settings.events_path.is_file():
        console.print(
            f"warning: no events file ({settings.events_path or 'not set'}): no model will be "
            "ready until one is given with --events or HOTSPOTS_EVENTS_PATH",
            soft_wrap=True,
        )
    check_port_free(host, port)
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=log_config(level),
        log_level=log_level.lower(),
        access_log=False,  # the audit middleware logs each request with its request id
        # without it a client that never finishes its request keeps the server from exiting
        timeout_graceful_shutdown=shutdown_seconds,
        server_header=False,  # no "server: uvicorn": nothing to tell a scanner
    )


def check_port_free(host: str, port: int) -> None:
    """Refuse, in one line, an address the server cannot listen on (a port another program
    holds), before the models load: uvicorn finds it only after publishing every model, and
    ended with a JSON log line and exit status 3."""
    import errno
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as err:
        raise ConfigError(
            f"--host {host!r} is not an address to listen on: {err.strerror}"
        ) from err
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"--port {port}: another program listens on {host}:{port} already (a "
                    "hotspots serve still running?); stop it or give another --port"
                ) from err
            raise ConfigError(f"cannot listen on {host}:{port}: {err.strerror}") from err
