"""The shapes of ``/v1/plans/latest``'s answers, for OpenAPI (``publishing.build_plan``'s
document; the tests validate the served bytes against them, ``additionalProperties`` false)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from hotspots.service.schemas import Interval, Strict


class PlanBudgetShape(Strict):
    """The budget the plan was built for."""

    areas: int
    max_area_km2: float | None
    total_km2: float | None
    note: str | None = Field(
        default=None,
        description="Present when the default budget was fitted to a study area too small "
        "for it (fewer or smaller areas: HOTSPOTS_PLAN_AREAS, HOTSPOTS_PLAN_MAX_AREA_KM2), "
        "saying what was configured and why; a budget asked for is never fitted.",
    )


class PlanType(Strict):
    """A crime type (served model) the plan combines."""

    weight: float = Field(description="Severity weight in the areas' score.")
    categories: list[str] | None = Field(description="Event categories it counts (null: all).")


class PlanSummary(Strict):
    """The plan's totals, and what the same km2 of the highest single cells would hold."""

    areas: int
    area_km2: float
    expected_count: float
    score: float
    share_of_forecast: float
    top_cells_share_same_area: float


EVENTS = (
    "The {}'s own past events in the area, without severity weights; those at a heaped clock "
    "minute (`placeholder_excess`) at their weight, rounded."
)


class HourOfWeek(Strict):
    day: str
    hour: int
    label: str
    share: float
    lift: float = Field(description="Share over an even spread's (1/168).")
    events: int = Field(description=EVENTS.format("hour"))


class HourOfDay(Strict):
    hour: int
    label: str
    share: float
    lift: float = Field(description="Share over an even spread's (1/24).")
    events: int = Field(description=EVENTS.format("hour"))


class BlockOfDay(Strict):
    start: int = Field(description="The hour the block starts (a start of `shifts`).")
    end: int = Field(description="The hour it ends (the next start; below start: next day).")
    hours: int
    label: str
    share: float
    lift: float = Field(description="Share over an even spread's (hours / 24).")
    events: int = Field(description=EVENTS.format("block"))


class BlockOfWeek(BlockOfDay):
    day: str = Field(description="The day the block starts (a block past midnight too).")
    lift: float = Field(description="Share over an even spread's (hours / 168).")


class When(Strict):
    """The blocks of the week (shifts) and hours with the most (weighted) events of the
    area's history, each named only when it stands out from an even spread."""

    top_blocks: list[BlockOfWeek]
    top_blocks_of_day: list[BlockOfDay]
    top_hours: list[HourOfWeek]
    top_hours_of_day: list[HourOfDay]
    events_with_time: int
    events_without_time: int = Field(
        description="The area's past events left out of the when for want of a time of day: "
        "dates or months only, or a placeholder clock time (an export's 00:01 for an unknown "
        "time) read as a date at ingest."
    )
    placeholder_excess: dict[str, int] = Field(
        default_factory=dict,
        description="Per clock minute heaped far above what the neighbouring hours predict "
        "for it (an export's stand-in for an unknown time of day, such as 12:00), about how "
        "many of the area's events there are beyond that prediction: the hours and blocks, "
        "and their `events`, count that minute's events at weight predicted / observed, so "
        "these are not counted. Empty when no minute is heaped.",
    )


class Boundary(Strict):
    """The area's dissolved outline (GeoJSON, ``[lng, lat]``)."""

    type: Literal["Polygon", "MultiPolygon"]
    coordinates: list[Any]


class _AreaFields(Strict):
    rank: int = Field(description="1 = the most forecast crime (weighted).")
    area_km2: float
    n_cells: int
    expected_count: float
    interval: Interval
    score: float = Field(description="Severity-weighted expected count.")
    expected_by_type: dict[str, float] = Field(description="For what: per crime type.")
    when: When | Literal["unknown", "withheld"] = Field(
        description='When; "unknown" without times of day, "withheld" when suppressed.'
    )
    reasons: list[str] = Field(description="Why, in words.")
    suppressed: bool = Field(
        description="Fewer past events here than HOTSPOTS_MIN_EVENTS_SHOWN: ranked, but no "
        "counts of past events (hours withheld, reasons from the forecast only)."
    )
    cells: list[str] = Field(description="H3 cells (hexadecimal).")


class PlanArea(_AreaFields):
    """One patrol area."""

    boundary: Boundary


class _PlanHead(Strict):
    as_of: str
    period_start: str | None = Field(description="The first day of the period planned for.")
    freq: str
    resolution: int
    shifts: list[int] = Field(
        description="The hours the blocks of the day start at (HOTSPOTS_PLAN_SHIFTS, shifts=)."
    )
    budget: PlanBudgetShape
    types: dict[str, PlanType]
    algorithm: str
    summary: PlanSummary


class PlanDocument(_PlanHead):
    """``/v1/plans/latest`` (JSON): what ``hotspots plan --output plan.json`` writes."""

    areas: list[PlanArea]


class PlanAreaProperties(Strict):
    """One area's values flat and typed, a column each in QGIS, ArcGIS or a GeoPackage (the
    columns of ``hotspots plan --output plan.csv``), plus ``expected_<type>`` per crime type
    of the plan (a number each; ``expected_type_count`` for a type named ``count``)."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, float] = Field(init=False)

    as_of: str
    period_start: str | None
    rank: int = Field(description="1 = the most forecast crime (weighted); the feature's id.")
    area_km2: float
    n_cells: int
    expected_count: float
    interval_low: int
    interval_high: int
    interval_level: float
    score: float = Field(description="Severity-weighted expected count.")
    when_blocks: str = Field(
        description='The shift blocks of the week that stand out, "; "-joined labels '
        '("Fri 18:00-00:00"); "" for none; "unknown" or "withheld" as in the JSON.'
    )
    when_blocks_of_day: str = Field(description="The shift blocks of the day, the same way.")
    when: str = Field(description="The hours of the week that stand out, the same way.")
    when_of_day: str = Field(description="The hours of the day, the same way.")
    when_events_with_time: int | None = Field(description="Null when the when is not known.")
    when_events_without_time: int | None
    when_not_counted: str | None = Field(
        description='Events not counted at heaped clock minutes: "12:00 200; 00:00 12".'
    )
    reasons: str = Field(description='Why, in words, joined by " | ".')
    suppressed: bool
    cells: str = Field(description='H3 cells (hexadecimal) joined by ";".')


class PlanFeature(Strict):
    """One area as a GeoJSON Feature (``id`` is its rank)."""

    type: Literal["Feature"]
    id: int
    geometry: Boundary
    properties: PlanAreaProperties


class PlanFeatureCollection(Strict):
    """``/v1/plans/latest?format=geojson``: one feature per area, its properties flat; the
    plan's own fields as the foreign member ``plan``."""

    type: Literal["FeatureCollection"]
    plan: _PlanHead
    features: list[PlanFeature]
