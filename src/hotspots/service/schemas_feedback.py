"""Response shapes of ``POST /v1/patrols`` and ``GET /v1/effectiveness`` (OpenAPI only: the
routes answer with bytes they build themselves; the schema tests check each answer fits)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from hotspots.service.schemas import Strict


class PatrolsStored(Strict):
    """``POST /v1/patrols``: what was stored, and the validation report of the rows."""

    batch: str | None = Field(description="The stored batch (null: nothing new).")
    stored: int
    already_stored: int = Field(description="Patrols whose id was stored before (a retry).")
    report: dict[str, Any] = Field(description="Rows read, accepted, rejected per reason.")


class Figures(Strict):
    """One ranking's realised figures in one period at one cutoff (null: no events)."""

    n_events: int
    hits: int
    flagged: int = Field(description="Cells flagged at this cutoff.")
    hit_rate: float | None
    pai: float | None
    pei: float | None


class CutoffFigures(Strict):
    """What was served beside each baseline, at one cutoff."""

    served: Figures | None
    baselines: dict[str, Figures]


class Dosage(Strict):
    """Patrol minutes in a period beside the target events in the patrolled cells, the ring
    around them and the rest; ``before_*``: the mean per period of the periods before."""

    patrolled_cells: int
    patrol_minutes: float
    events_patrolled: float
    events_ring: float
    events_rest: float
    before_patrolled: float | None
    before_ring: float | None
    before_rest: float | None


class PlanFigures(Strict):
    """One patrol plan's realised figures in one period (null: no events)."""

    areas: int
    area_km2: float
    plan_hits: int
    plan_hit_rate: float | None
    plan_pai: float | None
    top_hits: int = Field(description="Events in the top cells of the same km2.")
    top_pai: float | None


class PlanFiguresBySource(Strict):
    """The served plan (grown again at the default budget) beside each baseline's."""

    served: PlanFigures | None
    baselines: dict[str, PlanFigures]


class RealisedPeriod(Strict):
    """One served period whose events have arrived."""

    as_of: str
    period_end: str
    version: str
    cutoffs: dict[str, CutoffFigures] = Field(description="By cutoff label, e.g. '1%'.")
    dosage: Dosage | None = Field(description="Null when no patrol was logged.")
    plans: PlanFiguresBySource | None = Field(
        None, description="Null when no plan could be grown (e.g. cells over the area limit)."
    )


class Flag(Strict):
    """Whether the model's realised PAI fell below the best baseline's for K periods."""

    cutoff: str
    k_periods: int
    periods_below: int
    flagged: bool
    last_as_of: str | None
    served_pai: float | None
    best_baseline: str | None
    best_baseline_pai: float | None


class Pending(Strict):
    """A served period not scored (yet), and why."""

    as_of: str
    version: str
    why: str


class RealisedModel(Strict):
    """One model's realised effectiveness."""

    name: str
    flag: Flag | None
    periods: list[RealisedPeriod]
    pending: list[Pending]


class Effectiveness(Strict):
    """``GET /v1/effectiveness``."""

    since: str | None
    until: str | None
    category: str | None
    k_periods: int
    models: list[RealisedModel]
    definitions: str
