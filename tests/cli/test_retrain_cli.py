"""``hotspots retrain SPEC`` for cron: one line per outcome and exit 0 whether or not it
promoted; one error line and exit 2 on bad input. ``serve --retrain-every`` durations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from hotspots.cli.serve_cmd import duration_seconds
from hotspots.errors import ConfigError
from retrain_env import NAME, make_env

RunCli = Callable[..., Any]  # tests/conftest.py run_cli: returns .code .out .err


def _args(root: Path) -> tuple[str, ...]:
    return ("--models-dir", str(root / "models"), "--state-dir", str(root / "state"))


def test_one_line_per_outcome_and_exit_0(
    run_cli: RunCli, tmp_path: Path, year_city_events: pd.DataFrame
) -> None:
    env = make_env(tmp_path, year_city_events)
    first = run_cli("retrain", env.spec_file, *_args(tmp_path), columns=None)
    assert first.code == 0, first.err
    [line] = first.out.strip().splitlines()
    assert line.startswith(f"retrain {NAME}: promoted v2 (historical_mean) over v1: ")
    assert "PAI@5%" in line and "fold resamples" in line
    again = run_cli("retrain", env.spec_file, *_args(tmp_path), columns=None)
    assert again.code == 0, again.err
    [line] = again.out.strip().splitlines()
    assert line.startswith(f"retrain {NAME}: nothing published: no whole W period after 2023-12-25")
    assert env.registry.versions(NAME) == ["v1", "v2"] and env.registry.current(NAME) == "v2"


def test_no_promote_publishes_and_keeps_the_champion(
    run_cli: RunCli, tmp_path: Path, year_city_events: pd.DataFrame
) -> None:
    env = make_env(tmp_path, year_city_events)
    done = run_cli("retrain", env.spec_file, *_args(tmp_path), "--no-promote", columns=None)
    assert done.code == 0, done.err
    assert f"retrain {NAME}: published v2 (historical_mean), not promoted:" in done.out
    assert env.registry.current(NAME) == "v1"
    record = env.registry.manifest(NAME, "v2")["notes"]["retrain"]
    assert record["outcome"] == "won, not promoted (--no-promote)"


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("missing.toml", "training spec"),
        ("bad.toml", "is not valid TOML"),
        ("kind.toml", "model.kind 'nonsense' is not a model"),
        ("unknown.toml", "no model named 'burglary'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    run_cli: RunCli, tmp_path: Path, spec: str, fragment: str
) -> None:
    (tmp_path / "bad.toml").write_text("name = [", encoding="utf-8")
    events = tmp_path / "e.csv"
    events.write_text("time,lat,lng\n", encoding="utf-8")
    good = f'name = "{NAME}"\n[data]\nevents = "{events}"\n'
    (tmp_path / "kind.toml").write_text(good + '[model]\nkind = "nonsense"\n', encoding="utf-8")
    (tmp_path / "unknown.toml").write_text(good, encoding="utf-8")
    result = run_cli("retrain", tmp_path / spec, *_args(tmp_path), columns=None)
    assert result.code == 2
    assert result.out == ""
    [line] = result.err.strip().splitlines()
    assert line.startswith("error: ") and fragment in line
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("7d", 604800.0), ("12h", 43200.0), ("30m", 1800.0), ("90s", 90.0), ("1w", 604800.0),
     ("45", 45.0), ("0.5", 0.5)],
)  # fmt: skip
def test_durations(text: str, seconds: float) -> None:
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "-1d", "weekly", "7x", "inf"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ConfigError, match="--retrain-every .* is not a duration"):
        duration_seconds(text)


def test_serve_refuses_a_bad_retrain_interval(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    result = run_cli(
        "serve", "--models-dir", tmp_path / "models", "--retrain-every", "weekly", columns=None
    )
    assert result.code == 2
    [line] = result.err.strip().splitlines()
    assert "--retrain-every 'weekly' is not a duration" in line


def test_the_effectiveness_report_lists_the_retrains(
    run_cli: RunCli, tmp_path: Path, year_city_events: pd.DataFrame
) -> None:
    from hotspots.config import Settings
    from hotspots.serving.state import ServiceState

    env = make_env(tmp_path, year_city_events, kind="last_period", baselines=("historical_mean",))
    settings = Settings(
        models_dir=tmp_path / "models",
        state_dir=tmp_path / "state",
        events_path=tmp_path / "events.parquet",
    )
    ServiceState(settings).load_all()  # the service published a forecast of v1
    assert run_cli("retrain", env.spec_file, *_args(tmp_path)).code == 0
    out = tmp_path / "report"
    flags = (*_args(tmp_path), "--events", tmp_path / "events.parquet")
    done = run_cli("report", "effectiveness", "--out", out, *flags)
    assert done.code == 0, done.err
    table = pd.read_csv(out / "retraining.csv")
    assert table[["model", "version", "current", "outcome"]].values.tolist() == [
        [NAME, "v2", False, "published, not promoted"]
    ]
    reason = env.registry.manifest(NAME, "v2")["notes"]["retrain"]["reason"]
    assert table["reason"].tolist() == [reason]
    html = (out / "effectiveness.html").read_text(encoding="utf-8")
    assert "Retraining (champion against challenger)" in html and "v1 stays current" in html
