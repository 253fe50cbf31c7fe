"""One part's training rows (``cell_parts``), built from the part's slice of the panel alone:
what a Dask worker builds so that no process holds the whole feature matrix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.features.cell_parts import CellPart, RowPart
from hotspots.features.event_table import EventTable
from hotspots.features.matrix import FeatureBuilder, FeatureOptions, TrainingSet


@dataclass(frozen=True)
class PartInputs:
    """A part's cells and halo with their slice of the counts, target, covariates and target
    events (cell positions among ``cells``): all a builder of the part's rows needs."""

    cells: npt.NDArray[np.uint64]
    resolution: int
    freq: str
    categories: tuple[str, ...]
    target_categories: tuple[str, ...]
    options: FeatureOptions
    static: npt.NDArray[np.float32]
    static_names: tuple[str, ...]
    counts: npt.NDArray[Any]
    target: npt.NDArray[Any]
    periods: pd.DatetimeIndex
    events: EventTable | None
    rows: RowPart


def part_inputs(
    builder: FeatureBuilder,
    counts: npt.ArrayLike,
    target: npt.ArrayLike,
    periods: pd.DatetimeIndex,
    events: EventTable | None,
    part: CellPart,
) -> PartInputs:
    """The slice of ``builder``'s panel (the arguments of its ``training_set``) for ``part``."""
    sub = part.cells
    cells = builder.cells[sub]
    if events is not None:
        everything = np.iinfo(np.int64).max
        cats = builder.categories
        events = events.realign(builder.cells, cats, cells, cats, everything)
    return PartInputs(
        cells,
        builder.resolution,
        builder.freq,
        builder.categories,
        builder.target_categories,
        builder.options,
        builder.static[sub],
        builder.static_names,
        np.asarray(counts)[:, :, sub],
        np.asarray(target)[:, sub],
        periods,
        events,
        part.rows,
    )


def part_training_set(inputs: PartInputs, **options: Any) -> TrainingSet:
    """The part's rows of ``FeatureBuilder.training_set(**options)`` of the whole panel: the
    same rows (block-major, then cell) with the same values and weights."""
    builder = FeatureBuilder(
        inputs.cells,
        inputs.resolution,
        inputs.freq,
        inputs.categories,
        inputs.target_categories,
        inputs.options,
        static=inputs.static,
        static_names=inputs.static_names,
    )
    return builder.training_set(
        inputs.counts,
        inputs.target,
        inputs.periods,
        events=inputs.events,
        part=inputs.rows,
        **options,
    )
