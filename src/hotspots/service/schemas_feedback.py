"""Response shapes of ``POST /v1/patrols`` and ``GET /v1/effectiveness`` (OpenAPI only: the
routes answer with bytes they build themselves; the schema tests check each answer fits)."""

from __future__ import annotations

from typing import Any, Literal

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
    around them and the rest; ``before_*``: the mean per period of the ``periods_before``
    periods before. A count of fewer events than ``HOTSPOTS_MIN_EVENTS_SHOWN`` (a mean: over
    its periods) is null and ``suppressed`` true, and so is the rest beside it (the three add
    up to the period's ``n_events``), as a forecast cell's counts are withheld."""

    patrolled_cells: int
    patrol_minutes: float
    events_patrolled: float | None
    events_ring: float | None
    events_rest: float | None
    before_patrolled: float | None
    before_ring: float | None
    before_rest: float | None
    periods_before: int = Field(description="The periods the ``before_*`` means are over.")
    suppressed: bool = Field(description="Some counts are withheld (null): too few events to show.")


class PatrolTime(Strict):
    """Patrol minutes of one period at one place, as the log named it, and one tactic (the
    rows of the report's ``patrol_time.csv``). Never per unit: that would be one crew's hours."""

    place_kind: Literal["area", "cells", "polygon"] = Field(
        description="How the log gave the place: `area` (a plan area `AS_OF/RANK` or a named "
        "area), `cells` or `polygon` (those patrols pooled per kind)."
    )
    place: str | None = Field(description="The area's name; null for cells or polygons.")
    tactic: str | None = Field(description="The tactic code; null when none was given.")
    patrols: int = Field(description="Patrols with minutes in the period (one crossing a "
                         "period boundary counts in each).")  # fmt: skip
    minutes: float
    share: float = Field(description="Share of the period's patrol minutes.")


class PlanFigures(Strict):
    """One patrol plan's realised figures in one period (null: no events)."""

    areas: int
    area_km2: float
    plan_hits: int
    plan_hit_rate: float | None
    plan_pai: float | None
    top_hits: int = Field(description="Events in the top cells of the same km2.")
    top_pai: float | None


class PlanParams(Strict):
    """The parameters a plan was made with (as ``/v1/plans/latest`` takes them)."""

    areas: int = Field(description="The budget's number of areas.")
    max_area_km2: float | None
    total_km2: float | None
    stop: str = Field(description="The stop rule: `cap` or `top-cells`.")


class PlanFiguresBySource(PlanParams):
    """One served plan beside each baseline's plan grown with the same parameters."""

    plan: Literal["stored", "rebuilt"] = Field(
        description="`stored`: the plan as the service recorded it when it served it; "
        "`rebuilt`: no plan was recorded for the period and horizon (an older deployment, "
        "or a later period no one asked a plan for), so the plan is grown again from the "
        "served forecast of that period and horizon at the default budget."
    )
    etag: str | None = Field(description="The stored plan's ETag (JSON); null when rebuilt.")
    served: PlanFigures | None
    baselines: dict[str, PlanFigures]


class PlanMeans(Strict):
    """Mean figures of a set of plans over their periods (null: no period with events)."""

    plan_hit_rate: float | None
    plan_pai: float | None
    top_pai: float | None = Field(description="PAI of the top cells of the same km2.")


class PlansEvaluated(PlanParams):
    """How many served plans of one horizon, kind and parameters a model's figures score,
    and their mean figures beside the baselines' plans grown with the same parameters."""

    horizon: int = Field(description="Periods ahead of the plan's as_of (1: the next).")
    plan: Literal["stored", "rebuilt"]
    plans: int
    periods: int
    served_mean: PlanMeans | None
    baselines_mean: dict[str, PlanMeans]


class CombinedPlanPeriod(Strict):
    """The plans of several crime types served for one period."""

    as_of: str
    horizon: int
    period_start: str
    plans: list[PlanFiguresBySource]


class CombinedPlans(Strict):
    """Served plans that combine several crime types (e.g. a service's default plan)."""

    types: list[str]
    plans_evaluated: list[PlansEvaluated]
    periods: list[CombinedPlanPeriod]


class PlanNotScored(Strict):
    """A recorded served plan that is not scored, and why."""

    etag: str
    as_of: str | None = Field(description="The as_of of the forecast it was built from.")
    period_start: str
    types: list[str]
    horizon: int
    why: str


class RealisedPeriod(Strict):
    """One served forecast whose period has passed and whose events have arrived."""

    as_of: str = Field(description="The as_of it was served for (its first period's start).")
    horizon: int = Field(description="Periods ahead of as_of (1: the next period).")
    period_start: str = Field(description="The period scored (as_of at horizon 1).")
    period_end: str
    version: str
    cutoffs: dict[str, CutoffFigures] = Field(description="By cutoff label, e.g. '1%'.")
    dosage: Dosage | None = Field(
        description="Null when no patrol was logged, and for a later period (horizon > 1)."
    )
    patrol_time: list[PatrolTime] | None = Field(
        description="Where the period's patrol time went, by place as the log named it and "
        "tactic (empty when no patrol was logged; null for a later period, horizon > 1)."
    )
    plans: list[PlanFiguresBySource] = Field(
        default_factory=list,
        description="Each plan served for the period (empty when none could be scored, e.g. "
        "cells over the area limit).",
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
    horizon: int
    period_start: str
    version: str
    why: str


class Means(Strict):
    """Mean realised figures over a horizon's periods with events."""

    hit_rate: float | None
    pai: float | None
    pei: float | None


class HorizonMeans(Strict):
    """A model's forecasts served ``horizon`` periods ahead: the mean figures of what was
    served beside each baseline forecasting as far ahead from the same as_of."""

    horizon: int
    cutoff: str = Field(description="The flag's cutoff (the selection coverage).")
    periods: int
    periods_with_events: int
    served: Means | None
    baselines: dict[str, Means]


class RealisedModel(Strict):
    """One model's realised effectiveness."""

    name: str
    flag: Flag | None
    plans_evaluated: list[PlansEvaluated] = Field(
        description="The served plans scored, by horizon, kind and parameters, with their "
        "counts and mean figures."
    )
    by_horizon: list[HorizonMeans] = Field(
        description="Mean figures per horizon: the next period's forecasts beside those "
        "served 2, 3, ... periods ahead."
    )
    periods: list[RealisedPeriod] = Field(description="The next period's (horizon 1).")
    later_periods: list[RealisedPeriod] = Field(
        description="Forecasts served for a later period (horizon > 1), by horizon then as_of."
    )
    pending: list[Pending]


class ModelFailed(Strict):
    """A model (or a part of its figures) that could not be computed, and why."""

    model: str
    part: Literal["registry", "realised", "monitor", "plans"]
    reason: str = Field(description="One line, e.g. a damaged snapshot file named.")


class Effectiveness(Strict):
    """``GET /v1/effectiveness``."""

    since: str | None
    until: str | None
    category: str | None
    k_periods: int
    models: list[RealisedModel]
    combined_plans: list[CombinedPlans] = Field(
        description="Served plans of several crime types, scored on all their events."
    )
    plans_not_scored: list[PlanNotScored] = Field(
        description="Recorded served plans not scored (e.g. a period that has not passed "
        "yet), and why."
    )
    failed: list[ModelFailed] = Field(
        description="Served models whose figures could not be computed (a damaged or "
        "unreadable record), each with the part and the reason; the other models are "
        "scored without them."
    )
    definitions: str
