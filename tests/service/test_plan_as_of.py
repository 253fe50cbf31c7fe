"""Plans of types whose forecasts are as of different dates (issue 16): the API's plan leaves
out a type whose as_of is not its first type's (``PlanBook.excluded``), and so does
``hotspots plan`` without --as-of: each type is as of the end of the last whole period of the
events as its model reads them, as the service publishes it.

How it happens here: a drugs model is trained with ``include_discretionary`` (its spec keeps
the drug arrests every other model's reading leaves out, ``jobs.data.event_options``), and
the export ends on a Sunday of drug arrests only. Read as the burglary model reads it, the
export ends on Saturday 30 December 2023, so its last whole week ends 25 December; read as
the drugs model reads it, on Sunday 31 December, so its forecast is as of 1 January 2024."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from served_env import TARGET, Env, key_store, settings_of

from hotspots.config import get_settings
from hotspots.features import Panel, events_to_panel
from hotspots.forecasters import make_forecaster
from hotspots.ingest import IngestOptions, ingest_file
from hotspots.ingest.categories import CategoryPolicy
from hotspots.ingest.mapping import ColumnMap
from hotspots.registry import Registry
from hotspots.service.app import create_app
from hotspots.synthetic import COLUMN_MAP, TIMEZONE

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

RunCli = Any  # tests/conftest.py run_cli
LAST_DAY = "2023-12-31"  # a Sunday: the year city's last day
BURGLARY_AS_OF, DRUGS_AS_OF = "2023-12-25", "2024-01-01"


@pytest.fixture(scope="module")
def drugs_panel(year_city_dir: Path) -> Panel:
    """The year city with its drug arrests (discretionary, left out by default)."""
    options = IngestOptions(
        column_map=ColumnMap.parse(COLUMN_MAP),
        timezone=TIMEZONE,
        policy=CategoryPolicy(include_discretionary=True),
    )
    events = ingest_file(year_city_dir / "events.csv.gz", options).events
    return events_to_panel(events, 8, "W")


@pytest.fixture
def env(
    tmp_path: Path, year_city_dir: Path, year_panel: Panel, drugs_panel: Panel
) -> Iterator[Env]:
    """The year city's export, its last day's rows made drug arrests, a burglary model read
    by the default policy and a drugs model that keeps discretionary crimes."""
    rows = pd.read_csv(year_city_dir / "events.csv.gz", dtype=str)
    last = rows["occurred"].str.startswith(LAST_DAY).fillna(False)
    assert last.sum() > 10
    rows.loc[last, "offence"] = "Drugs"
    rows.to_csv(tmp_path / "events.csv", index=False)
    registry = Registry(tmp_path / "models")
    for name, target, panel, discretionary in (
        ("burglary", TARGET, year_panel, False),
        ("drugs", "Drugs", drugs_panel, True),
    ):
        model = make_forecaster("historical_mean", target=(target,)).fit(panel)
        data = {"map": COLUMN_MAP, "timezone": TIMEZONE, "include_discretionary": discretionary}
        registry.publish(name, model, spec={"data": data}, data={"timezone": TIMEZONE}, backtest={})
    read = key_store(tmp_path).create("r", ["forecasts:read"])[1]
    get_settings.cache_clear()  # the CLI reads HOTSPOTS_* as the test sets them
    yield Env(tmp_path, read, "", "", 0.0, 0.0)
    get_settings.cache_clear()


def plan_cli(run_cli: RunCli, env: Env, out: Path, *flags: str) -> Any:
    return run_cli(
        "plan", "--models-dir", env.root / "models", "--events", env.root / "events.csv",
        "--output", out, *flags,
    )  # fmt: skip


def test_a_type_of_another_as_of_is_left_out_of_both_plans(
    env: Env, run_cli: RunCli, tmp_path: Path
) -> None:
    settings = settings_of(env.root).model_copy(update={"events_path": env.root / "events.csv"})
    auth = {"Authorization": f"Bearer {env.read}"}
    with TestClient(create_app(settings)) as client:
        as_of = {
            name: client.get(f"/v1/forecasts/latest?model={name}", headers=auth).json()["as_of"]
            for name in ("burglary", "drugs")
        }
        api = {}
        for fmt in ("json", "geojson"):
            got = client.get(f"/v1/plans/latest?format={fmt}", headers=auth)
            assert got.status_code == 200, got.text
            api[fmt] = got.content
        asked = client.get("/v1/plans/latest?category=drugs", headers=auth)
    assert as_of == {"burglary": BURGLARY_AS_OF, "drugs": DRUGS_AS_OF}  # each its own reading
    served = json.loads(api["json"])
    assert served["as_of"] == BURGLARY_AS_OF and list(served["types"]) == ["burglary"]
    assert asked.status_code == 422  # asked for by name, the API refuses it: not in its plan
    assert "left out (another period, H3 resolution or as_of" in asked.json()["detail"]
    for fmt in ("json", "geojson"):
        out = tmp_path / f"plan.{fmt}"
        done = plan_cli(run_cli, env, out)
        assert done.code == 0, done.out + done.err
        assert out.read_bytes() == api[fmt], fmt
        assert (
            f"warning: drugs left out: it is as of {DRUGS_AS_OF} and burglary as of "
            f"{BURGLARY_AS_OF} (the end of the last whole week of the events as each model "
            "reads them)"
        ) in done.err
    # --category drugs (no --model): refused as the API refuses category=drugs
    refused = plan_cli(run_cli, env, tmp_path / "drugs.json", "--category", "drugs")
    assert refused.code == 2, refused.out + refused.err
    assert "--category 'drugs' is not a crime type of this plan" in refused.err
    assert "left out (another period, H3 resolution or as_of" in refused.err
    assert not (tmp_path / "drugs.json").exists()


def test_named_types_of_different_as_of_are_refused_unless_as_of_is_given(
    env: Env, run_cli: RunCli, tmp_path: Path
) -> None:
    out = tmp_path / "plan.json"
    both = ("--model", "burglary", "--model", "drugs")
    done = plan_cli(run_cli, env, out, *both)
    assert done.code == 2, done.out + done.err
    assert done.err.strip().splitlines()[-1] == (  # after the reading's report
        f"error: --model drugs is as of {DRUGS_AS_OF} and burglary as of {BURGLARY_AS_OF} (the "
        "end of the last whole week of the events as each model reads them): a plan is of one "
        "as_of, and the API leaves drugs out of its plan; give --as-of "
        f"{BURGLARY_AS_OF} or --as-of {DRUGS_AS_OF} to plan both"
    )
    assert not out.exists()
    # given one as_of, every named type is planned at it
    done = plan_cli(run_cli, env, out, *both, "--as-of", BURGLARY_AS_OF)
    assert done.code == 0, done.out + done.err
    doc = json.loads(out.read_bytes())
    assert doc["as_of"] == BURGLARY_AS_OF and sorted(doc["types"]) == ["burglary", "drugs"]
    # named alone, drugs is planned at its own as_of
    out.unlink()
    done = plan_cli(run_cli, env, out, "--model", "drugs")
    assert done.code == 0, done.out + done.err
    assert json.loads(out.read_bytes())["as_of"] == DRUGS_AS_OF


def test_a_category_two_types_count_plans_the_one_of_the_plans_as_of_as_the_api(
    env: Env, run_cli: RunCli, tmp_path: Path, drugs_panel: Panel
) -> None:
    # a drugs model that counts burglaries too, as of another date: the API leaves it out of
    # its plan first, so category=<burglary's category> is the burglary model's plan; the CLI
    # refused it before reading ("burglary and drugs both forecast ..."), exit 2
    model = make_forecaster("historical_mean", target=("Drugs", TARGET)).fit(drugs_panel)
    data = {"map": COLUMN_MAP, "timezone": TIMEZONE, "include_discretionary": True}
    Registry(env.root / "models").publish(
        "drugs", model, spec={"data": data}, data={"timezone": TIMEZONE}, backtest={}
    )
    settings = settings_of(env.root).model_copy(update={"events_path": env.root / "events.csv"})
    auth = {"Authorization": f"Bearer {env.read}"}
    with TestClient(create_app(settings)) as client:
        got = client.get(f"/v1/plans/latest?category={TARGET}", headers=auth)
    assert got.status_code == 200, got.text
    served = json.loads(got.content)
    assert served["as_of"] == BURGLARY_AS_OF and list(served["types"]) == ["burglary"]
    out = tmp_path / "plan.json"
    done = plan_cli(run_cli, env, out, "--category", TARGET)
    assert done.code == 0, done.out + done.err
    assert out.read_bytes() == got.content
    assert f"warning: drugs left out: it is as of {DRUGS_AS_OF}" in done.err
    # of one as_of, the two are refused as before, naming both
    out.unlink()
    both = plan_cli(run_cli, env, out, "--category", TARGET, "--as-of", BURGLARY_AS_OF)
    assert both.code == 2, both.out + both.err
    assert "burglary and drugs both forecast the categories" in both.err
    assert not out.exists()
