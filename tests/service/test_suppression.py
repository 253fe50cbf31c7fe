"""Suppression is on by default (HOTSPOTS_MIN_EVENTS_SHOWN = 3): counts under it are not shown,
cells and plan areas stay ranked, on the API and in the CLI's documents alike."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from served_env import Env, settings_of

from hotspots.config import Settings, get_settings
from hotspots.service.app import create_app
from hotspots.synthetic import COLUMN_MAP, TIMEZONE

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

RunCli = Any  # tests/conftest.py run_cli
FORECAST = "/v1/forecasts/latest?coverage=1"
PLAN = "/v1/plans/latest?areas=3&max_area_km2=2"
COUNTED = re.compile(r"\b\d+ events\b|\d+(\.\d+)? a (week|day|month)\b|\d+(\.\d+)?x the city's")
"""A plan reason that shows a number of past events, or a rate of them against the city's
(since plan reasons need a count beyond chance, the test city's shown areas give only that)."""


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.delenv("HOTSPOTS_MIN_EVENTS_SHOWN", raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_the_default_is_three(clean_env: pytest.MonkeyPatch) -> None:
    assert Settings().min_events_shown == 3 == get_settings().min_events_shown
    clean_env.setenv("HOTSPOTS_MIN_EVENTS_SHOWN", "0")
    assert Settings().min_events_shown == 0


def api(env: Env, path: str, **settings: Any) -> tuple[dict[str, Any], Any]:
    """The API's answer to ``path`` and the served snapshot."""
    with TestClient(create_app(settings_of(env.root, **settings))) as c:
        got = c.get(path, headers={"Authorization": f"Bearer {env.read}"})
        snapshot = c.app.state.service.pick(None).snapshot  # type: ignore[attr-defined]
    assert got.status_code == 200, got.text
    return got.json(), snapshot


def test_the_api_hides_counts_under_three_by_default(
    env_copy: Env, clean_env: pytest.MonkeyPatch
) -> None:
    doc, snapshot = api(env_copy, FORECAST)
    table = snapshot.tables[0]
    flags = [h["suppressed"] for h in doc["hotspots"]]
    assert flags == (table.events < 3).tolist()  # by each cell's history, in rank order
    assert 0 < sum(flags) < len(flags)
    assert [h["rank"] for h in doc["hotspots"]] == list(range(1, len(flags) + 1))
    shown, _ = api(env_copy, FORECAST, min_events_shown=0)
    assert not any(h["suppressed"] for h in shown["hotspots"])
    # the same cells in the same order: suppression changes what is shown, not the ranking
    assert [h["cell"] for h in shown["hotspots"]] == [h["cell"] for h in doc["hotspots"]]


def forecast_doc(run_cli: RunCli, env: Env, out: Path) -> dict[str, Any]:
    done = run_cli(
        "forecast",
        *("--model", "burglary", "--models-dir", env.root / "models"),
        *("--events", env.root / "events.parquet", "--output", out),
    )
    assert done.code == 0, done.out + done.err
    return dict(json.loads(out.read_text()))


def test_the_cli_document_hides_the_same_counts(
    env_copy: Env, run_cli: RunCli, tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    doc, _ = api(env_copy, FORECAST)
    hidden = forecast_doc(run_cli, env_copy, tmp_path / "default.json")
    assert [h["suppressed"] for h in hidden["hotspots"]] == [
        h["suppressed"] for h in doc["hotspots"]
    ]
    clean_env.setenv("HOTSPOTS_MIN_EVENTS_SHOWN", "0")
    get_settings.cache_clear()
    shown = forecast_doc(run_cli, env_copy, tmp_path / "all.json")
    assert not any(h["suppressed"] for h in shown["hotspots"])
    assert [h["cell"] for h in shown["hotspots"]] == [h["cell"] for h in hidden["hotspots"]]


def check_withheld(hidden: dict[str, Any], shown: dict[str, Any]) -> None:
    """Every area of ``hidden`` suppressed, ``shown`` none; the same areas, ranked alike."""
    assert [a["cells"] for a in hidden["areas"]] == [a["cells"] for a in shown["areas"]]
    assert [a["rank"] for a in hidden["areas"]] == [1, 2, 3]
    for h, s in zip(hidden["areas"], shown["areas"], strict=True):
        assert h["suppressed"] and not s["suppressed"]
        assert h["when"] == "withheld" and s["when"] != "withheld"
        assert h["reasons"] == [f"forecast: {h['expected_count']:.1f} expected next week"]
        assert h["expected_count"] == s["expected_count"]  # a forecast, not a past count
        assert not any(COUNTED.search(r) for r in h["reasons"])
    assert any(COUNTED.search(r) for a in shown["areas"] for r in a["reasons"])


def test_the_plans_api_hides_an_area_under_the_threshold(
    env_copy: Env, clean_env: pytest.MonkeyPatch
) -> None:
    default, _ = api(env_copy, PLAN)
    assert not any(a["suppressed"] for a in default["areas"])  # busy areas: all shown
    hidden, _ = api(env_copy, PLAN, min_events_shown=10**6)
    shown, _ = api(env_copy, PLAN, min_events_shown=0)
    assert default["areas"] == shown["areas"]
    check_withheld(hidden, shown)


def test_the_plan_cli_hides_what_the_api_hides(
    env_copy: Env, run_cli: RunCli, tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    def plan(out: Path) -> dict[str, Any]:
        done = run_cli(
            "plan",
            *("--model", "burglary", "--models-dir", env_copy.root / "models"),
            *("--events", env_copy.root / "events.parquet", "--map", COLUMN_MAP),
            *("--tz", TIMEZONE, "--as-of", "2024-01-01", "--areas", "3"),
            *("--max-area-km2", "2", "--output", out),
        )
        assert done.code == 0, done.out + done.err
        return dict(json.loads(out.read_text()))

    clean_env.setenv("HOTSPOTS_MIN_EVENTS_SHOWN", str(10**6))
    get_settings.cache_clear()
    hidden = plan(tmp_path / "hidden.json")
    clean_env.setenv("HOTSPOTS_MIN_EVENTS_SHOWN", "0")
    get_settings.cache_clear()
    shown = plan(tmp_path / "shown.json")
    check_withheld(hidden, shown)
    served, _ = api(env_copy, PLAN, min_events_shown=10**6)
    assert [a["cells"] for a in served["areas"]] == [a["cells"] for a in hidden["areas"]]
    assert np.all([a["suppressed"] for a in served["areas"]])
