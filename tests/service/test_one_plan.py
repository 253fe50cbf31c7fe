"""One plan pipeline (issue 16): ``hotspots plan`` writes the plan ``GET /v1/plans/latest``
serves for the same models and as_of, byte for byte (a plan has no issue time), also when the
events hold a heaped clock minute (12:00, weighed in the when: ``publishing.plan_heaps``) and
placeholder rows read as dates (``events_without_time``); with one crime type and with
several (the plan reads the first model's events), and after events are posted and the
service refreshes (the CLI reads the export the service read plus the posted batches)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from served_env import TARGET, Env, key_store, settings_of

from hotspots.config import get_settings
from hotspots.features import Panel
from hotspots.forecasters import make_forecaster
from hotspots.grid import points_to_cells
from hotspots.ingest import read_events, write_events
from hotspots.publishing.plan_heaps import heaped_minutes
from hotspots.registry import Registry
from hotspots.service.app import create_app
from hotspots.synthetic import COLUMN_MAP, TIMEZONE

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

RunCli = Any  # tests/conftest.py run_cli
TYPES = {"burglary": TARGET, "robbery": "Robbery"}
NOON_SHARE = 0.02  # of the events, moved to 12:00: about 3x what the hours predict there
DATE_SHARE = 0.01  # of the events, at day precision (a placeholder minute read as a date)


def heaped(events: pd.DataFrame, seed: int = 7) -> pd.DataFrame:
    """``events`` with ``NOON_SHARE`` of them moved to 12:00 of their day (minute
    precision) and ``DATE_SHARE`` of the others to their date (day precision, midnight)."""
    rng = np.random.default_rng(seed)
    out = events.copy()
    pick = rng.permutation(len(out))
    noon = pick[: int(NOON_SHARE * len(out))]
    dated = pick[len(noon) : len(noon) + int(DATE_SHARE * len(out))]
    at = out.columns.get_loc("occurred_at")
    days = out["occurred_at"].dt.normalize()
    out.iloc[noon, at] = days.iloc[noon] + pd.Timedelta(hours=12)
    out.iloc[dated, at] = days.iloc[dated]
    precision = out["time_precision"].astype(str).to_numpy()
    precision[dated] = "day"
    out["time_precision"] = pd.Categorical(
        precision, categories=events["time_precision"].cat.categories, ordered=True
    )
    return out


def publish(root: Path, panel: Panel, names: tuple[str, ...]) -> None:
    """Publish, as current versions, a historical-mean model per name of ``TYPES``."""
    registry = Registry(root / "models")
    spec = {"data": {"map": COLUMN_MAP, "timezone": TIMEZONE}}
    for name in names:
        model = make_forecaster("historical_mean", target=(TYPES[name],)).fit(panel)
        registry.publish(name, model, spec=spec, data={"timezone": TIMEZONE}, backtest={})


@pytest.fixture(scope="module")
def heaped_events(year_city_events: pd.DataFrame) -> pd.DataFrame:
    events = heaped(year_city_events)
    found = heaped_minutes(events)
    assert [m.label for m in found.minutes] == ["12:00"]  # the heap the rule finds
    assert found.minutes[0].weight < 0.5
    return events


@pytest.fixture(params=[("burglary",), ("burglary", "robbery")], ids=["one type", "two types"])
def env(
    request: pytest.FixtureRequest, tmp_path: Path, heaped_events: pd.DataFrame, year_panel: Panel
) -> Iterator[Env]:
    write_events(heaped_events, tmp_path / "events.parquet", {"timezone": TIMEZONE})
    publish(tmp_path, year_panel, request.param)
    store = key_store(tmp_path)
    read = store.create("r", ["forecasts:read"])[1]
    write = store.create("w", ["events:write"])[1]
    get_settings.cache_clear()  # the CLI reads HOTSPOTS_* as the test sets them
    yield Env(tmp_path, read, write, "", 0.0, 0.0)
    get_settings.cache_clear()


def served_plans(client: TestClient, env: Env) -> dict[str, bytes]:
    auth = {"Authorization": f"Bearer {env.read}"}
    out = {}
    for fmt in ("json", "geojson"):
        got = client.get(f"/v1/plans/latest?format={fmt}", headers=auth)
        assert got.status_code == 200, got.text
        out[fmt] = got.content
    return out


def written_plans(
    run_cli: RunCli, env: Env, events: Path, tmp_path: Path, *flags: str
) -> dict[str, bytes]:
    out = {}
    for fmt in ("json", "geojson"):
        path = tmp_path / f"cli-{len(flags)}.{fmt}"
        path.unlink(missing_ok=True)
        done = run_cli(
            "plan", "--models-dir", env.root / "models", "--events", events, "--output", path,
            *flags,
        )  # fmt: skip
        assert done.code == 0, done.out + done.err
        out[fmt] = path.read_bytes()
    return out


def when_figures(data: bytes) -> tuple[int, dict[str, int]]:
    """The plan's events without a time and placeholder excess, summed over its areas."""
    areas = json.loads(data)["areas"]
    untimed = sum(a["when"]["events_without_time"] for a in areas)
    excess: dict[str, int] = {}
    for a in areas:
        for minute, n in a["when"]["placeholder_excess"].items():
            excess[minute] = excess.get(minute, 0) + n
    return untimed, excess


def test_the_cli_plans_the_bytes_the_api_serves_with_heaped_minutes(
    env: Env, run_cli: RunCli, tmp_path: Path
) -> None:
    with TestClient(create_app(settings_of(env.root))) as client:
        api = served_plans(client, env)
    names = sorted(json.loads(api["json"])["types"])
    default = written_plans(run_cli, env, env.root / "events.parquet", tmp_path)
    as_of = json.loads(api["json"])["as_of"]
    named = [f for n in names for f in ("--model", n)]
    given = written_plans(run_cli, env, env.root / "events.parquet", tmp_path, *named,
                          "--as-of", as_of)  # fmt: skip
    for fmt in ("json", "geojson"):
        assert default[fmt] == api[fmt], fmt
        assert given[fmt] == api[fmt], fmt
    untimed, excess = when_figures(api["json"])
    assert untimed > 0 and set(excess) == {"12:00"} and excess["12:00"] > 0


BATCHES, AT_1830 = 4, 45  # each under ingest's 50 rows: no batch reads 18:30 as a date


def posted_batch(events: pd.DataFrame, batch: int) -> bytes:
    """``AT_1830`` events at 18:30 of days in 2023 at places of ``events``, in the synthetic
    export's columns: too few for ingest to read the minute as a placeholder, but
    ``BATCHES`` of them are a heap the plans find (and only the posted batches make)."""
    rng = np.random.default_rng(batch)
    rows = events.iloc[rng.choice(len(events), AT_1830, replace=False)]
    days = rows["occurred_at"].dt.strftime("%Y-%m-%d 18:30")
    lines = [
        f"POST-{batch}-{i},{day},{lat:.6f},{lng:.6f},{TARGET},call"
        for i, (day, lat, lng) in enumerate(zip(days, rows["lat"], rows["lng"], strict=True))
    ]
    return "\n".join(
        ["incident_id,occurred,latitude,longitude,offence,origin", *lines, ""]
    ).encode()


def test_a_refresh_plans_from_the_posted_batches_as_the_cli_reads_them(
    env: Env, run_cli: RunCli, tmp_path: Path, heaped_events: pd.DataFrame
) -> None:
    """The heaps of a plan after POST /v1/events and a refresh come from the export and the
    posted batches, as ``hotspots plan`` reads them from a file holding both, and from the
    export with ``--state-dir`` (the batches as the API reads them); without it, the CLI
    plans from the export alone: the plan served before the posts."""
    with TestClient(create_app(settings_of(env.root))) as client:
        before = served_plans(client, env)
        for batch in range(BATCHES):
            got = client.post(
                "/v1/events",
                content=posted_batch(heaped_events, batch),
                headers={"Authorization": f"Bearer {env.write}", "Content-Type": "text/csv"},
            )
            assert got.status_code == 200, got.text
            assert got.json()["report"]["placeholder_times"] == {}  # kept as times
        assert (
            client.post(
                "/v1/forecasts/refresh", headers={"Authorization": f"Bearer {env.write}"}
            ).status_code
            == 200
        )
        after = served_plans(client, env)
    assert set(when_figures(before["json"])[1]) == {"12:00"}
    assert set(when_figures(after["json"])[1]) == {"12:00", "18:30"}  # the posted heap
    assert json.loads(after["json"])["as_of"] == json.loads(before["json"])["as_of"]
    batches = sorted((env.root / "state" / "events").glob("batch-*.parquet"))
    assert len(batches) == BATCHES
    both = pd.concat([heaped_events, *(read_events(b)[0] for b in batches)], ignore_index=True)
    write_events(both, tmp_path / "both.parquet", {"timezone": TIMEZONE})
    cli = written_plans(run_cli, env, tmp_path / "both.parquet", tmp_path)
    state = ("--state-dir", str(env.root / "state"))
    posted = written_plans(run_cli, env, env.root / "events.parquet", tmp_path, *state)
    export = written_plans(run_cli, env, env.root / "events.parquet", tmp_path)
    for fmt in ("json", "geojson"):
        assert cli[fmt] == after[fmt], fmt
        assert posted[fmt] == after[fmt], fmt
        assert export[fmt] == before[fmt] != after[fmt], fmt


AT_0001 = 40  # rows at 00:01: under ingest's 50, so only a manifest's record makes them dates


@pytest.fixture
def export_env(tmp_path: Path, year_city_dir: Path, year_panel: Panel) -> Iterator[Env]:
    """The year city's export (CSV) with a heaped 12:00 and ``AT_0001`` rows at 00:01, and
    two models that read it differently: burglary's training data held 00:01 as a
    placeholder (its manifest records it), robbery's did not."""
    rows = pd.read_csv(year_city_dir / "events.csv.gz", dtype=str)
    rng = np.random.default_rng(5)
    lat, lng = (pd.to_numeric(rows[c], errors="coerce") for c in ("latitude", "longitude"))
    located = (lat.notna() & lng.notna()).to_numpy()  # the export has rows without a place
    cell = np.zeros(len(rows), dtype=np.uint64)
    cell[located] = points_to_cells(lat[located].to_numpy(), lng[located].to_numpy(), 8)
    robbery = rows["offence"].eq("Robbery").to_numpy() & located
    busy = pd.Series(cell[robbery]).value_counts().index[:3]  # where robbery plans go
    night = rng.permutation(np.flatnonzero(robbery & np.isin(cell, busy)))[:AT_0001]
    noon = rng.permutation(np.setdiff1d(np.arange(len(rows)), night))
    noon = noon[: int(NOON_SHARE * len(rows))]
    day = rows["occurred"].str.slice(0, 10)
    rows.loc[rows.index[noon], "occurred"] = day.iloc[noon] + " 12:00:00"
    rows.loc[rows.index[night], "occurred"] = day.iloc[night] + " 00:01:00"
    rows.to_csv(tmp_path / "events.csv", index=False)
    registry = Registry(tmp_path / "models")
    spec = {"data": {"map": COLUMN_MAP, "timezone": TIMEZONE}}
    for name, placeholders in (("burglary", {"00:01": 21794}), ("robbery", {})):
        model = make_forecaster("historical_mean", target=(TYPES[name],)).fit(year_panel)
        data = {"timezone": TIMEZONE, "placeholder_times": placeholders}
        registry.publish(name, model, spec=spec, data=data, backtest={})
    store = key_store(tmp_path)
    read = store.create("r", ["forecasts:read"])[1]
    get_settings.cache_clear()
    yield Env(tmp_path, read, "", "", 0.0, 0.0)
    get_settings.cache_clear()


@pytest.mark.parametrize(
    "asked", [(), ("burglary",), ("robbery",)], ids=["every", "first", "second"]
)
def test_a_plan_reads_the_events_as_its_types_models_read_them(
    export_env: Env, run_cli: RunCli, tmp_path: Path, asked: tuple[str, ...]
) -> None:
    """Models that read the export differently (placeholder minutes): the plan of some types
    is the same bytes from the CLI (those --model) and the API (category=those)."""
    env = export_env
    settings = settings_of(env.root).model_copy(update={"events_path": env.root / "events.csv"})
    query = "".join(f"&category={n}" for n in asked)
    auth = {"Authorization": f"Bearer {env.read}"}
    api = {}
    with TestClient(create_app(settings)) as client:
        for fmt in ("json", "geojson"):
            got = client.get(f"/v1/plans/latest?format={fmt}{query}", headers=auth)
            assert got.status_code == 200, got.text
            api[fmt] = got.content
    flags = [f for n in asked for f in ("--model", n)]
    cli = written_plans(run_cli, env, env.root / "events.csv", tmp_path, *flags)
    for fmt in ("json", "geojson"):
        assert cli[fmt] == api[fmt], fmt
