"""The shapes of the API's answers, for OpenAPI (generated clients need the fields).

The forecast documents are bytes built at publish time (``snapshot.Snapshot.render``), never
validated through these models on the hot path; the tests check that the served bytes match
them (schemathesis validates every answer against the schema, and ``additionalProperties``
is false, so a field added to one and not the other fails).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

DATA_THROUGH = (
    "Start of the last whole period of events the forecast read: events after it (and in "
    "it, up to as_of) were not seen. A gap between data_through and as_of means the events "
    "stop early."
)


class Strict(BaseModel):
    """A response shape with no field beyond those declared."""

    model_config = ConfigDict(extra="forbid")


class Period(Strict):
    """A forecast period, ``[start, end)`` in local time."""

    start: str = Field(description="First day (local time, ISO 8601).")
    end: str = Field(description="The next period's start (exclusive).")


class Interval(Strict):
    """The central 80% interval of the period's count (Poisson around the forecast mean)."""

    low: int
    high: int
    level: float


class ModelRef(Strict):
    """A model version."""

    name: str
    version: str


class Budget(Strict):
    """How much of the study area the answer covers."""

    cells: int
    area_km2: float
    coverage: float = Field(description="Share of the study cells.")


class Centroid(Strict):
    """A cell's centre in degrees."""

    lat: float
    lng: float


class Polygon(Strict):
    """A GeoJSON Polygon: ``[lng, lat]`` positions, rings closed."""

    type: Literal["Polygon"]
    coordinates: list[list[list[float]]]


class Hotspot(Strict):
    """One ranked cell of the JSON document."""

    rank: int = Field(description="Rank among every study cell (1 = highest).")
    cell: str = Field(description="H3 cell id (hexadecimal).")
    expected_count: float
    interval: Interval
    relative_risk: float = Field(description="Expected count over the study-wide mean.")
    centroid: Centroid
    drivers: list[str] = Field(description="Up to three readable reasons.")
    suppressed: bool = Field(description="Too few events in the history to show counts.")
    boundary: Polygon | None = Field(None, description="The cell polygon, with boundary=true.")


class _Head(Strict):
    issued_at: str = Field(description="When the forecast was published (UTC, ISO 8601).")
    model: ModelRef
    data_through: str = Field(description=DATA_THROUGH)
    as_of: str = Field(description="The forecast's date: horizon 1 is the period from it.")
    period: Period
    target: list[str] = Field(description="The offence categories forecast.")
    budget: Budget


class ForecastDocument(_Head):
    """``/v1/forecasts/latest`` (JSON) and ``/v1/forecasts``: ranked hotspots of one period."""

    hotspots: list[Hotspot]


class FeatureProperties(Strict):
    """A hotspot's values flat and typed (a column each in QGIS or a GeoPackage)."""

    rank: int
    cell: str
    expected_count: float
    interval_low: int
    interval_high: int
    interval_level: float
    relative_risk: float
    centroid_lat: float
    centroid_lng: float
    driver_1: str | None
    driver_2: str | None
    driver_3: str | None
    suppressed: bool


class Feature(Strict):
    """One hotspot as a GeoJSON Feature."""

    type: Literal["Feature"]
    geometry: Polygon
    properties: FeatureProperties


class ForecastFeatureCollection(_Head):
    """``/v1/forecasts/latest?format=geojson``: the document fields as foreign members."""

    type: Literal["FeatureCollection"]
    features: list[Feature]


class Area(Strict):
    """A named area ``within=`` accepts."""

    name: str
    cells: int = Field(description="Study cells whose centre is inside it.")


class AreaList(Strict):
    """``/v1/areas``."""

    model: ModelRef
    areas: list[Area]


class EventsStored(Strict):
    """``POST /v1/events``: what was stored, and the validation report of the rows."""

    batch: str | None = Field(description="The stored batch (null: nothing new).")
    stored: int
    already_stored: int = Field(description="Rows whose id was stored before (a retry).")
    first_event: str | None
    last_event: str | None
    report: dict[str, Any] = Field(description="Rows read, accepted, rejected per reason.")
    republish: str = Field(description="When the forecasts will include the new rows.")


class Republished(Strict):
    """One model as republished."""

    name: str
    version: str
    as_of: str
    data_through: str = Field(description=DATA_THROUGH)
    issued_at: str
    etag: str


class Refreshed(Strict):
    """``POST /v1/forecasts/refresh``."""

    models: list[Republished]
    failed: dict[str, str] = Field(description="Models that could not be served, with why.")
    batches: int = Field(description="Posted batches included.")


def components(*models: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI component schemas of ``models`` (and the models they use), for a media type
    FastAPI's ``response_model`` does not cover (``application/geo+json``)."""
    _, top = models_json_schema(
        [(m, "serialization") for m in models], ref_template="#/components/schemas/{model}"
    )
    return dict(top.get("$defs", {}))


def ref(model: type[BaseModel]) -> dict[str, str]:
    """A schema pointing at ``model``'s component."""
    return {"$ref": f"#/components/schemas/{model.__name__}"}
