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
from served_env import TARGET, Env, settings_of

from hotspots.config import get_settings
from hotspots.ingest import read_events, write_events
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


POSTED = 40  # burglaries posted in the busiest cell in December: its whole-history mean rises


def post_burglaries(env: Env) -> None:
    """POST ``POSTED`` burglaries at the busiest burglary cell, dated inside the history
    (before the as_of the service publishes), so they change the forecast and not its date."""
    lines = [
        f"POSTED-{i},2023-12-{4 + i % 20:02d} 1{i % 10}:00:00,{env.lat:.6f},{env.lng:.6f},"
        f"{TARGET},call"
        for i in range(POSTED)
    ]
    body = "\n".join(["incident_id,occurred,latitude,longitude,offence,origin", *lines, ""])
    write = {"Authorization": f"Bearer {env.write}", "Content-Type": "text/csv"}
    with TestClient(create_app(settings_of(env.root))) as c:
        got = c.post("/v1/events", content=body.encode(), headers=write)
    assert got.status_code == 200, got.text
    assert got.json()["stored"] == POSTED


def expected_in(data: bytes, cell: str) -> float:
    [item] = [h for h in json.loads(data)["hotspots"] if h["cell"] == cell]
    return float(item["expected_count"])


def test_the_cli_with_state_dir_writes_what_the_api_serves_from_posted_events(
    env_copy: Env, run_cli: RunCli, tmp_path: Path, fresh_settings: None
) -> None:
    """Events posted to the API are in its forecast; ``--state-dir`` adds them to the CLI's as
    the API reads them (the same bytes but the issue time), and without it they are not."""
    env = env_copy
    before, as_of = served(env, "json")
    post_burglaries(env)
    api, as_of_after = served(env, "json")
    assert as_of_after == as_of  # the posted events are history, not a new period
    state = env.root / "state"
    args = ("--model", "burglary", "--models-dir", env.root / "models", "--horizon", "2")
    events = ("--events", env.root / "events.parquet")
    done = run_cli("forecast", *args, *events, "--state-dir", state, "-o", tmp_path / "with.json")
    assert done.code == 0, done.out + done.err
    assert f"added {POSTED} posted event(s) from 1 batch(es) in {state / 'events'}" in done.err
    plain = run_cli("forecast", *args, *events, "-o", tmp_path / "without.json")
    assert plain.code == 0, plain.out + plain.err
    assert "posted" not in plain.err  # no state folder given: none added
    with_posted = (tmp_path / "with.json").read_bytes()
    without = (tmp_path / "without.json").read_bytes()
    assert without_issue_time(with_posted) == without_issue_time(api)
    assert without_issue_time(without) == without_issue_time(before) != without_issue_time(api)
    rise = expected_in(with_posted, env.cell) - expected_in(without, env.cell)
    assert rise == pytest.approx(POSTED / 52, abs=0.01)  # 40 more over the 52 weeks of history


def test_the_cli_reads_a_state_folder_without_an_export_as_the_api_does(
    env_copy: Env, run_cli: RunCli, tmp_path: Path, fresh_settings: None
) -> None:
    """A service given no export serves from its posted batches alone; so does ``hotspots
    forecast --state-dir`` without --events. The year's events are one stored batch here."""
    env = env_copy
    events, meta = read_events(env.root / "events.parquet")
    folder = env.root / "state" / "events"
    write_events(events, folder / "batch-20240101T000000000000Z-00000000.parquet", meta)
    settings = settings_of(env.root, forecast_horizon=2).model_copy(update={"events_path": None})
    auth = {"Authorization": f"Bearer {env.read}"}
    with TestClient(create_app(settings)) as c:
        got = c.get("/v1/forecasts/latest?coverage=1&format=json", headers=auth)
    assert got.status_code == 200, got.text
    out = tmp_path / "posted.json"
    done = run_cli(
        "forecast", "--model", "burglary", "--models-dir", env.root / "models",
        "--state-dir", env.root / "state", "--horizon", "2", "--output", out,
    )  # fmt: skip
    assert done.code == 0, done.out + done.err
    assert f"added {len(events):,} posted event(s) from 1 batch(es)" in done.err
    assert without_issue_time(out.read_bytes()) == without_issue_time(got.content)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--state-dir", "{root}/models"), "no events folder {root}/models/events"),
        (("--state-dir", "{root}/state"), "no posted batch in {root}/state/events; give --events"),
        ((), "no events: give --events (an export or event table), or --state-dir"),
    ],
    ids=["not a state folder", "no batch, no export", "neither"],
)
def test_a_state_folder_without_posted_events_is_one_line(
    env_copy: Env, run_cli: RunCli, tmp_path: Path, flags: tuple[str, ...], message: str
) -> None:
    (env_copy.root / "state" / "events").mkdir(parents=True, exist_ok=True)
    root = str(env_copy.root)
    for command in ("forecast", "plan"):
        out = tmp_path / f"{command}.json"
        done = run_cli(
            command, "--model", "burglary", "--models-dir", env_copy.root / "models",
            *(f.format(root=root) for f in flags), "--output", out,
        )  # fmt: skip
        assert done.code == 2, done.out + done.err
        assert message.format(root=root) in done.err and "Traceback" not in done.err
        assert len(done.err.strip().splitlines()) == 1 and not out.exists()
