"""JSON log lines with the request id, header parsing helpers and `hotspots serve` flags."""

from __future__ import annotations

import json
import logging
import logging.config
import os
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from hotspots.config import get_settings
from hotspots.service.app import JsonFormatter, log_config, request_id_var
from hotspots.service.caching import accepts_gzip, etag_matches
from hotspots.service.problems import describe_validation


def _record(msg: str, *args: Any, exc: bool = False, **extra: Any) -> logging.LogRecord:
    info = None
    if exc:
        try:
            raise ValueError("bad value")
        except ValueError:
            info = sys.exc_info()
    record = logging.LogRecord("hotspots.x", logging.WARNING, __file__, 1, msg, args, info)
    record.__dict__.update(extra)
    return record


def test_json_formatter_one_object_per_line_with_request_id() -> None:
    token = request_id_var.set("req-42")
    try:
        line = JsonFormatter().format(_record("served %s", "burglary/v1", status=200))
    finally:
        request_id_var.reset(token)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "served burglary/v1"
    assert (entry["level"], entry["logger"], entry["request_id"]) == (
        "WARNING",
        "hotspots.x",
        "req-42",
    )
    assert entry["status"] == 200
    assert entry["time"].endswith("Z") and len(entry["time"]) == len("2024-01-01T00:00:00.000Z")
    assert "request_id" not in json.loads(JsonFormatter().format(_record("no request")))


def test_json_formatter_keeps_the_exception_in_one_line() -> None:
    line = JsonFormatter().format(_record("failed", exc=True))
    assert "\n" not in line
    assert "ValueError: bad value" in json.loads(line)["exception"]


def test_log_config_is_valid_and_uses_the_formatter() -> None:
    config = log_config("WARNING")
    assert config["formatters"]["json"]["()"] == "hotspots.service.app.JsonFormatter"
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        logging.config.dictConfig(config)
        assert isinstance(root.handlers[-1].formatter, JsonFormatter)
        assert root.level == logging.WARNING
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ("gzip", True),
        ("GZIP", True),
        ("deflate, gzip;q=0.2", True),
        ("gzip;q=0", False),
        ("gzip;q=0.0, *", False),
        ("*", True),
        ("*;q=0", False),
        ("br", False),
        ("gzip;q=abc", False),
    ],
)
def test_accepts_gzip(header: str | None, expected: bool) -> None:
    assert accepts_gzip(header) is expected


def test_etag_matches() -> None:
    etag = '"abc"'
    assert etag_matches('"abc"', etag) and etag_matches('W/"abc"', etag)
    assert etag_matches('"x", "abc"', etag) and etag_matches("*", etag)
    assert not etag_matches('"abcd"', etag) and not etag_matches(None, etag)
    assert not etag_matches("abc", etag)


def test_describe_validation_names_parameter_and_value() -> None:
    errors = [
        {"loc": ("query", "top"), "msg": "Input should be >= 1", "input": "0", "type": "x"},
        {"loc": ("query", "as_of"), "msg": "Field required", "input": None, "type": "missing"},
    ]
    assert describe_validation(errors) == (
        "query parameter 'top': Input should be >= 1 (got '0'); "
        "query parameter 'as_of': Field required"
    )


def test_serve_runs_uvicorn_with_the_factory(
    run_cli: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn

    calls: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    names = [
        f"HOTSPOTS_{n}"
        for n in (
            "MODELS_DIR", "STATE_DIR", "EVENTS_PATH", "AREAS_PATH", "AREAS_FIELD", "REFRESH_SECONDS"
        )
    ]  # fmt: skip
    for name in names:  # set first, so monkeypatch restores whatever was there
        monkeypatch.setenv(name, "unused")
        monkeypatch.delenv(name)
    events = tmp_path / "events.parquet"
    events.write_bytes(b"")
    (tmp_path / "m").mkdir()  # a missing models folder is an error (tests/cli/test_service_cli)
    with socket.socket() as probe:  # a port nothing listens on (serve refuses a held one)
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    result = run_cli(
        "serve", "--port", str(port), "--workers", "2", "--models-dir", tmp_path / "m",
        "--state-dir", tmp_path / "s", "--events", events, "--areas", tmp_path / "a.geojson",
        "--areas-field", "district", "--refresh-seconds", "30",
    )  # fmt: skip
    assert result.code == 0, result.err
    [(app, kw)] = calls
    assert app == "hotspots.service.app:create_app"
    assert (kw["factory"], kw["port"], kw["workers"], kw["host"]) == (True, port, 2, "127.0.0.1")
    assert kw["log_config"]["formatters"]["json"]["()"].endswith("JsonFormatter")
    assert kw["server_header"] is False  # no "server: uvicorn"
    assert kw["timeout_graceful_shutdown"] == 10  # SIGTERM: in-flight requests get 10 s
    assert os.environ["HOTSPOTS_MODELS_DIR"] == str((tmp_path / "m").resolve())
    assert os.environ["HOTSPOTS_EVENTS_PATH"] == str(events.resolve())
    assert os.environ["HOTSPOTS_AREAS_PATH"] == str((tmp_path / "a.geojson").resolve())
    settings = get_settings()
    assert (settings.areas_field, settings.refresh_seconds) == ("district", 30)
    for name in names:
        monkeypatch.delenv(name)
    get_settings.cache_clear()


def test_serve_refuses_zero_workers(run_cli: Any) -> None:
    result = run_cli("serve", "--workers", "0")
    assert result.code == 2
    assert "--workers must be 1 or more, got 0" in result.err
    result = run_cli("serve", "--refresh-seconds", "-5")
    assert result.code == 2
    assert "--refresh-seconds must be 0 or more, got -5" in result.err
