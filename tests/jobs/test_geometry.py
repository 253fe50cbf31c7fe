"""The H3 resolution chosen by the selection backtest (``grid.resolutions``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotspots.errors import ConfigError
from hotspots.jobs.geometry import (
    Candidate,
    ResolutionChoice,
    at_resolution,
    candidate_rank,
    choose_resolution,
)
from hotspots.jobs.spec import TrainingSpec, check_spec, spec_from_dict
from hotspots.jobs.train import Selection, prepare, run_selection, select_model
from hotspots.synthetic import COLUMN_MAP, TIMEZONE


def _spec(city: Path, **extra: object) -> TrainingSpec:
    return spec_from_dict(
        {
            "name": "t",
            "data": {
                "events": str(city / "events.csv.gz"),
                "map": COLUMN_MAP,
                "timezone": TIMEZONE,
            },
            "target": {"categories": ["Burglary Residential"]},
            "grid": {"resolution": 8, "resolutions": [7, 8], "period": "W"},
            "model": {"kind": "historical_mean", "baselines": ["last_period", "kde"]},
            "backtest": {"folds": 2, "select_folds": 4},
            **extra,
        }
    )


def test_the_resolution_with_the_best_selection_score_is_chosen(year_city_dir: Path) -> None:
    spec = _spec(year_city_dir)
    prepared, inner, choice = choose_resolution(spec)
    # each candidate's score is what the spec's own selection gives at that resolution
    expected = {}
    for r in (7, 8):
        alone = prepare(at_resolution(spec, r))
        sel = select_model(run_selection(alone), alone.spec, "selection")
        expected[r] = (sel.name, sel.scores[sel.name], alone.panel.cells.size)
    got = {c.resolution: (c.selection.name, c.score, c.cells) for c in choice.candidates}
    assert got == expected
    best = max(expected, key=lambda r: expected[r][1])
    assert choice.chosen == best == prepared.panel.resolution == prepared.spec.grid.resolution
    assert prepared.spec.grid.resolutions == (7, 8)  # the candidates stay on record
    assert len(inner.folds) == 4  # the selection folds, handed back for reuse
    record = prepared.data_summary()["resolution_choice"]
    assert record["chosen"] == best and [c["resolution"] for c in record["candidates"]] == [7, 8]
    assert f"resolution {best} chosen on 4 selection folds" in record["reason"]
    assert f"{expected[7][1]:.2f} at res 7" in record["reason"]


def _candidate(resolution: int, score: float) -> Candidate:
    sel = Selection("historical_mean", "", "1%", {"historical_mean": score}, "selection", 4)
    return Candidate(resolution, 100, sel)


def test_ties_go_to_the_spec_resolution_then_the_coarser(year_city_dir: Path) -> None:
    spec = _spec(year_city_dir)  # grid.resolution 8
    tied = [_candidate(7, 5.0), _candidate(8, 5.0), _candidate(9, 5.0)]
    assert max(tied, key=lambda c: candidate_rank(c, spec)).resolution == 8
    spec9 = spec.model_copy(update={"grid": spec.grid.model_copy(update={"resolution": 6})})
    assert max(tied, key=lambda c: candidate_rank(c, spec9)).resolution == 7
    assert max([*tied, _candidate(9, 5.1)], key=lambda c: candidate_rank(c, spec)).resolution == 9
    choice = ResolutionChoice(tuple(tied), 8)
    assert choice.to_dict()["candidates"][2] == {
        "resolution": 9, "cells": 100, "published": "historical_mean", "pai": 5.0,
        "cutoff": "1%", "folds": 4,
    }  # fmt: skip


def test_no_room_for_selection_folds_is_one_clear_error(year_city_dir: Path) -> None:
    spec = _spec(year_city_dir, window={"until": "2023-01-30"})  # 4 weeks: 2 reported folds, 2 left
    with pytest.raises(ConfigError, match="has no room for them after backtest.folds 2"):
        choose_resolution(spec)


def test_candidates_are_checked_in_the_spec(year_city_dir: Path) -> None:
    raw = {"name": "t", "data": {"events": str(year_city_dir / "events.csv.gz"),
                                 "map": COLUMN_MAP, "timezone": TIMEZONE}}  # fmt: skip
    with pytest.raises(ConfigError, match=r"H3 resolutions are 0-15, got \[16\]"):
        spec_from_dict({**raw, "grid": {"resolutions": [9, 16]}})
    with pytest.raises(ConfigError, match=r"resolutions repeat: \[9, 9\]"):
        spec_from_dict({**raw, "grid": {"resolutions": [9, 9]}})
    assert spec_from_dict({**raw, "grid": {"resolutions": [10, 8]}}).grid.resolutions == (8, 10)
    off = spec_from_dict({**raw, "grid": {"resolutions": [8, 9]}, "backtest": {"select_folds": 0}})
    with pytest.raises(ConfigError, match="select_folds = 0 turns off"):
        check_spec(off)
    with pytest.raises(ConfigError, match="grid.resolutions is empty"):
        choose_resolution(spec_from_dict(raw))
