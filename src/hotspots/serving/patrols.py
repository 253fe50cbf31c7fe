"""What a patrol log is read against: the model's grid, named areas and the areas of the plan
served now (``POST /v1/patrols`` and ``hotspots patrols import`` alike)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from hotspots.config import Settings
from hotspots.errors import HotspotsError
from hotspots.feedback.patrols import PatrolOptions
from hotspots.feedback.places import plan_areas
from hotspots.forecasters import Forecaster
from hotspots.jobs.data import event_options
from hotspots.publishing.served import named_areas
from hotspots.serving.state import ServiceState

logger = logging.getLogger(__name__)


def patrol_options(
    model: Forecaster,
    manifest: Mapping[str, Any],
    settings: Settings,
    max_reject_fraction: float | None = None,
    plans: Mapping[str, npt.NDArray[np.uint64]] | None = None,
) -> PatrolOptions:
    """The grid, named areas (and ``plans``' areas), timezone and limits a patrol log for
    this model is read with (the API and ``hotspots patrols import`` alike)."""
    cells = np.asarray(model.cells_, dtype=np.uint64)
    masks = named_areas(model, settings)
    named = {name: cells[mask] for name, mask in masks.items()}
    timezone = event_options(manifest).get("timezone") or settings.timezone
    ceiling = settings.max_reject_fraction if max_reject_fraction is None else max_reject_fraction
    return PatrolOptions(
        resolution=int(model.resolution_),
        timezone=str(timezone),
        areas={**named, **(plans or {})},
        study_cells=cells,
        max_hours=settings.patrol_max_hours,
        max_reject_fraction=ceiling,
    )


def served_plan_areas(state: ServiceState) -> dict[str, npt.NDArray[np.uint64]]:
    """The areas of the plan served now (``GET /v1/plans/latest`` with the default budget)
    by their ids ``<as_of>/<rank>``; none when no plan is served."""
    book = state.plans
    if book is None:
        return {}
    try:
        view = book.get(book.query())
    except HotspotsError as err:
        logger.warning("patrol log: the served plan's areas are not known: %s", err)
        return {}
    return plan_areas(json.loads(view.bytes))
