"""Specs alike in what decides their panel ([data], [grid], [window], covariates) prepare it
once (``jobs.prepare.SharedPanels``); each gets what ``prepare`` alone would give it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hotspots.jobs import prepare as jobs_prepare
from hotspots.jobs.prepare import SharedPanels, for_spec, panel_key, prepare
from hotspots.jobs.spec import TrainingSpec, spec_from_dict
from hotspots.synthetic import COLUMN_MAP, TIMEZONE


def _spec(city: Path, name: str, target: str, **extra: Any) -> TrainingSpec:
    raw: dict[str, Any] = {
        "name": name,
        "data": {"events": str(city / "events.csv.gz"), "map": COLUMN_MAP, "timezone": TIMEZONE},
        "target": {"categories": [target]},
        "grid": {"resolution": 8, "period": "W"},
        "window": {"until": "2023-10-04"},  # a Wednesday: a note, snapped to Monday
        "backtest": {"folds": 2},
        **extra,
    }
    return spec_from_dict(raw)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the specs ``jobs.prepare.prepare`` read events for."""
    seen: list[str] = []

    def counted(spec: TrainingSpec, *args: Any, **kw: Any) -> jobs_prepare.Prepared:
        seen.append(spec.name)
        return prepare(spec, *args, **kw)

    monkeypatch.setattr(jobs_prepare, "prepare", counted)
    return seen


def test_two_specs_sharing_data_grid_and_window_prepare_once(
    year_city_dir: Path, calls: list[str]
) -> None:
    burglary = _spec(year_city_dir, "burglary", "Burglary Residential")
    assault = _spec(
        year_city_dir, "assault", "Assault", model={"kind": "historical_mean"}, backtest={}
    )
    panels = SharedPanels([burglary, assault])
    assert panels.reads(burglary)
    first = panels.prepare(burglary)
    assert not panels.reads(assault)
    second = panels.prepare(assault)
    assert calls == ["burglary"]
    assert panels.held == {}  # the last spec of the panel has it: nothing kept
    assert second.panel is first.panel and second.loaded is first.loaded  # not copies
    alone = prepare(assault)  # as the spec prepared alone
    assert second.spec == assault and second.target == alone.target == ("Assault",)
    assert (second.until, second.notes) == (alone.until, alone.notes)
    assert second.notes and second.until == pd.Timestamp("2023-10-02")
    assert second.data_summary() == alone.data_summary()
    assert second.target_events == alone.target_events > 100
    assert np.array_equal(second.panel.counts, alone.panel.counts)
    assert np.array_equal(second.panel.cells, alone.panel.cells)
    assert second.panel.periods.equals(alone.panel.periods)
    pd.testing.assert_frame_equal(second.loaded.events, alone.loaded.events)


def test_a_panel_is_held_only_until_the_last_spec_sharing_it(
    year_city_dir: Path, calls: list[str]
) -> None:
    a1, a2 = (_spec(year_city_dir, f"a{i}", "Assault") for i in (1, 2))
    monthly = _spec(year_city_dir, "monthly", "Assault", grid={"resolution": 8, "period": "M"})
    panels = SharedPanels([a1, monthly, a2])
    panels.prepare(a1)
    assert list(panels.held) == [panel_key(a1)]
    panels.prepare(monthly)  # another panel: read, and not kept (no spec after shares it)
    assert list(panels.held) == [panel_key(a1)]
    assert panels.prepare(a2).spec == a2
    assert calls == ["a1", "monthly"] and panels.held == {}


def test_what_decides_the_panel_is_data_grid_window_and_covariates(year_city_dir: Path) -> None:
    base = _spec(year_city_dir, "base", "Assault")
    alike = [
        _spec(year_city_dir, "other-name", "Robbery", model={"kind": "kde"}),
        _spec(year_city_dir, "base", "Assault", backtest={"folds": 5, "seed": 3}),
    ]
    assert {panel_key(s) for s in alike} == {panel_key(base)}
    covariate = {"path": str(year_city_dir / "pois.csv"), "kind": "count", "name": "pois"}
    differ = [
        _spec(year_city_dir, "base", "Assault", grid={"resolution": 7, "period": "W"}),
        _spec(year_city_dir, "base", "Assault", grid={"resolution": 8, "k_ring": 1}),
        _spec(year_city_dir, "base", "Assault", window={"start": "2023-02-06"}),
        _spec(year_city_dir, "base", "Assault", covariates=[covariate]),
    ]
    other_data = base.model_copy(update={"data": base.data.model_copy(update={"bbox": "1,2,3,4"})})
    keys = {panel_key(s) for s in [base, *differ, other_data]}
    assert len(keys) == 6


def test_a_spec_of_another_panel_cannot_take_one(year_city_dir: Path) -> None:
    prepared = prepare(_spec(year_city_dir, "a", "Assault"))
    later = _spec(year_city_dir, "b", "Assault", window={"until": "2023-06-05"})
    with pytest.raises(ValueError, match="spec 'b' has another panel than 'a': their window"):
        for_spec(prepared, later)


def test_a_spec_taking_a_panel_is_checked_as_prepare_checks_it(year_city_dir: Path) -> None:
    from hotspots.errors import ConfigError

    prepared = prepare(_spec(year_city_dir, "a", "Assault"))
    with pytest.raises(ConfigError, match="target category 'Arson' matches no category"):
        for_spec(prepared, _spec(year_city_dir, "b", "Arson"))
    with pytest.raises(ConfigError, match="model.kind 'nope' is not a model"):
        for_spec(prepared, _spec(year_city_dir, "c", "Assault", model={"kind": "nope"}))


def test_the_serial_backtest_of_two_specs_sharing_a_panel_reads_once(
    run_cli: Any, year_city_dir: Path, tmp_path: Path, calls: list[str]
) -> None:
    specs = []
    for name, target in (("burglary", "Burglary Residential"), ("assault", "Assault")):
        text = (
            f'name = "{name}"\n[data]\nevents = "{year_city_dir / "events.csv.gz"}"\n'
            f'map = "{COLUMN_MAP}"\ntimezone = "{TIMEZONE}"\n[target]\ncategories = ["{target}"]\n'
            '[grid]\nresolution = 8\n[model]\nkind = "historical_mean"\n'
            "[backtest]\nfolds = 2\nselect_folds = 0\ncoverages = [0.05]\nselect_coverage = 0.05\n"
            "select_also = []\n"
        )
        (path := tmp_path / f"{name}.toml").write_text(text)
        specs.append(path)
    done = run_cli("backtest", *specs, "--out", tmp_path / "out")
    assert done.code == 0, done.err[-2000:]
    assert calls == ["burglary"]
    assert (tmp_path / "out" / "assault" / "report.json").is_file()
    assert done.err.count("panel: ") == 2  # each spec still shows its panel and target
