"""What a patrol log is read against: the model's grid, named areas and the areas of the plans
served (``POST /v1/patrols`` and ``hotspots patrols import`` alike)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hotspots.config import Settings
from hotspots.errors import HotspotsError
from hotspots.feedback.patrols import PatrolOptions
from hotspots.feedback.places import plan_areas
from hotspots.forecasters import Forecaster
from hotspots.jobs.data import event_options
from hotspots.publishing.plan_store import PLANS_DIR, PlanStore
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


def recorded_plan_areas(state_dir: Path) -> dict[str, npt.NDArray[np.uint64]]:
    """The areas of every default plan the service recorded at a publish (``plans/`` of the
    state folder, ``first`` "published") by their ids ``<as_of>/<rank>``: a log of last
    week's patrols, posted or imported after the next week's plan is served (or a retry of
    it), names last week's plan. Of two records for one ``as_of`` (a promotion mid-week
    republishes it) the later wins."""
    out: dict[str, npt.NDArray[np.uint64]] = {}
    for record in PlanStore(state_dir / PLANS_DIR).read():  # by period, then recording time
        if record.get("first") != "published":
            continue
        try:
            out.update(plan_areas(record))
        except HotspotsError as err:
            logger.warning("patrol log: a recorded plan's areas are not known: %s", err)
    return out


def served_plan_areas(state: ServiceState) -> dict[str, npt.NDArray[np.uint64]]:
    """The areas of the plan served now (``GET /v1/plans/latest`` with the default budget)
    and of the default plans served before (``recorded_plan_areas``) by their ids
    ``<as_of>/<rank>``; none when no plan was served."""
    areas = recorded_plan_areas(state.settings.state_dir)
    book = state.plans
    if book is None:
        return areas
    try:
        view = book.get(book.query())
    except HotspotsError as err:
        logger.warning("patrol log: the served plan's areas are not known: %s", err)
        return areas
    return {**areas, **plan_areas(json.loads(view.bytes))}
