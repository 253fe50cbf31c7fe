"""The H3 resolution chosen by the selection backtest (``grid.resolutions``).

Each candidate resolution gets its own panel and the spec's selection backtest (the periods
just before the reported folds, never the reported folds themselves). The selection at each
resolution publishes what it would publish there (``select_model``); the resolution whose
published model has the highest mean PAI at the selection coverage wins. PAI at a fixed
share of the study area compares across resolutions: 1% of the area is 1% of the area
whatever the cell size. Ties go to the spec's own ``grid.resolution``, then to the coarser
resolution (fewer cells, cheaper to serve).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from hotspots.errors import ConfigError
from hotspots.evaluation import BacktestResult
from hotspots.jobs.data import Progress
from hotspots.jobs.spec import TrainingSpec
from hotspots.jobs.train import (
    FoldProgress,
    Prepared,
    Selection,
    prepare,
    run_selection,
    select_model,
)


@dataclass(frozen=True)
class Candidate:
    """One resolution's selection: what it would publish and that model's PAI there."""

    resolution: int
    cells: int
    selection: Selection

    @property
    def score(self) -> float:
        return self.selection.scores.get(self.selection.name, float("-inf"))


@dataclass(frozen=True)
class ResolutionChoice:
    """The candidates in resolution order and the chosen one."""

    candidates: tuple[Candidate, ...]
    chosen: int

    @property
    def reason(self) -> str:
        best = next(c for c in self.candidates if c.resolution == self.chosen)
        cutoff, n_folds = best.selection.cutoff, best.selection.n_folds
        each = ", ".join(
            f"{c.score:.2f} at res {c.resolution} ({c.selection.name}, {c.cells:,} cells)"
            for c in self.candidates
        )
        return (
            f"resolution {self.chosen} chosen on {n_folds} selection folds: the published "
            f"model's PAI@{cutoff} {each}"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able record for the manifest and the report."""
        return {
            "chosen": self.chosen,
            "reason": self.reason,
            "candidates": [
                {
                    "resolution": c.resolution,
                    "cells": c.cells,
                    "published": c.selection.name,
                    "pai": c.score,
                    "cutoff": c.selection.cutoff,
                    "folds": c.selection.n_folds,
                }
                for c in self.candidates
            ],
        }


def at_resolution(spec: TrainingSpec, resolution: int) -> TrainingSpec:
    """``spec`` with ``grid.resolution`` set to ``resolution`` (candidates kept, as asked)."""
    return spec.model_copy(update={"grid": spec.grid.model_copy(update={"resolution": resolution})})


def choose_resolution(
    spec: TrainingSpec,
    progress: Progress | None = None,
    on_candidate: Callable[[Candidate], None] | None = None,
    fold_progress: Callable[[int], FoldProgress | None] | None = None,
) -> tuple[Prepared, BacktestResult, ResolutionChoice]:
    """Prepare and run the selection backtest at each of ``spec.grid.resolutions``.

    Returns the chosen resolution's prepared panel (its spec's ``grid.resolution`` set to
    it), its selection backtest (so the caller need not run it again) and the choice.
    ``on_candidate`` is told each candidate as its selection ends; ``fold_progress(r)``
    gives the fold callback for resolution ``r``. ConfigError when there are no candidates
    or the window leaves no room for selection folds before the reported ones.
    """
    if not spec.grid.resolutions:
        raise ConfigError("grid.resolutions is empty: there is no resolution to choose")
    loaded = None
    best: tuple[Candidate, Prepared, BacktestResult] | None = None
    candidates: list[Candidate] = []
    for resolution in spec.grid.resolutions:
        prepared = prepare(at_resolution(spec, resolution), progress, loaded)
        loaded = prepared.loaded
        inner = run_selection(
            prepared, progress=fold_progress(resolution) if fold_progress else None
        )
        if inner is None:
            raise ConfigError(
                f"grid.resolutions are chosen on selection folds before the reported ones, "
                f"but the window ({len(prepared.panel.periods)} {prepared.panel.freq} periods) "
                f"has no room for them after backtest.folds {spec.backtest.folds}: train on a "
                "longer history or give fewer --folds"
            )
        candidate = Candidate(
            resolution,
            int(prepared.panel.cells.size),
            select_model(inner, prepared.spec, "selection"),
        )
        candidates.append(candidate)
        if on_candidate is not None:
            on_candidate(candidate)
        if best is None or candidate_rank(candidate, spec) > candidate_rank(best[0], spec):
            best = (candidate, prepared, inner)
        del prepared, inner  # one losing panel at a time in memory
    assert best is not None
    _, prepared, inner = best
    choice = ResolutionChoice(tuple(candidates), prepared.panel.resolution)
    return replace(prepared, resolution_choice=choice.to_dict()), inner, choice


def candidate_rank(c: Candidate, spec: TrainingSpec) -> tuple[float, bool, int]:
    """The order of preference: the score, then the spec's own resolution, then coarser."""
    return (c.score, c.resolution == spec.grid.resolution, -c.resolution)
