"""One forecast pipeline: ``hotspots forecast`` writes the document the API serves for the
same model version and as_of, byte for byte but for the issue time."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from served_env import Env, settings_of

from hotspots.config import get_settings
from hotspots.service.app import create_app

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

RunCli = Any  # tests/conftest.py run_cli
ISSUED = re.compile(rb'"issued_at":"[^"]+"')


def without_issue_time(data: bytes) -> bytes:
    found = ISSUED.findall(data)
    assert len(found) == 1, found  # exactly one issue time, and it is the only difference
    return ISSUED.sub(b'"issued_at":"-"', data)


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()  # the CLI reads HOTSPOTS_* as the test sets them
    yield
    get_settings.cache_clear()


def served(env: Env, fmt: str, period: int = 1) -> tuple[bytes, str]:
    """The API's whole forecast (every cell) in ``fmt``, and its as_of."""
    auth = {"Authorization": f"Bearer {env.read}"}
    with TestClient(create_app(settings_of(env.root, forecast_horizon=2))) as c:
        got = c.get(f"/v1/forecasts/latest?coverage=1&format={fmt}&horizon={period}", headers=auth)
    assert got.status_code == 200, got.text
    return got.content, json.loads(got.content)["as_of"]


def written(run_cli: RunCli, env: Env, out: Path, *as_of: str) -> None:
    flags = [a for d in as_of for a in ("--as-of", d)]
    done = run_cli(
        "forecast",
        "--model",
        "burglary",
        "--models-dir",
        env.root / "models",
        "--events",
        env.root / "events.parquet",
        "--horizon",
        "2",
        "--output",
        out,
        *flags,
    )
    assert done.code == 0, done.out + done.err


@pytest.mark.parametrize("fmt", ["json", "geojson"])
def test_the_cli_writes_the_bytes_the_api_serves(
    env_copy: Env, run_cli: RunCli, tmp_path: Path, fmt: str, fresh_settings: None
) -> None:
    api, as_of = served(env_copy, fmt)
    api_2, _ = served(env_copy, fmt, period=2)
    given, default = tmp_path / f"given.{fmt}", tmp_path / f"default.{fmt}"
    written(run_cli, env_copy, given, as_of)
    written(run_cli, env_copy, default)  # no --as-of: the forecast the API publishes
    for path in (given, default):
        assert without_issue_time(path.read_bytes()) == without_issue_time(api)
        second = path.with_name(f"{path.stem}-2.{fmt}")
        assert without_issue_time(second.read_bytes()) == without_issue_time(api_2)
    doc = json.loads(given.read_bytes())
    items = doc["hotspots"] if fmt == "json" else doc["features"]
    assert doc["model"] == {"name": "burglary", "version": "v1"} and len(items) > 100
    assert doc["budget"]["coverage"] == 1.0


def test_a_document_is_one_as_of(env_copy: Env, run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "two.json"
    done = run_cli(
        "forecast",
        "--model",
        "burglary",
        "--models-dir",
        env_copy.root / "models",
        "--events",
        env_copy.root / "events.parquet",
        "--as-of",
        "2023-11-06",
        "--as-of",
        "2023-11-13",
        "--output",
        out,
    )
    assert done.code != 0 and "one as_of" in done.out + done.err
    assert not out.exists()
