"""A plan document as a file: JSON (the document), GeoJSON (one feature per area, its
properties flat columns) or CSV (the same columns, one row per area)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from hotspots.atomic import atomic_path
from hotspots.errors import ConfigError

PLAN_SUFFIXES: tuple[str, ...] = (".json", ".geojson", ".csv")


def plan_suffix(out: Path) -> str:
    """The output format of a plan file by its suffix; ConfigError for any other."""
    suffix = out.suffix.lower()
    if suffix not in PLAN_SUFFIXES:
        raise ConfigError(f"--output {out.name}: the suffix must be one of {list(PLAN_SUFFIXES)}")
    return suffix


def plan_to_geojson(plan: dict[str, Any]) -> dict[str, Any]:
    """A FeatureCollection with one feature per area (its dissolved boundary, ``id`` its rank)
    whose properties are the area's CSV row (``area_to_row``): scalars only, so QGIS, ArcGIS
    and GDAL read each as a column. The plan's own fields (as_of, budget, summary, ...) ride
    along as the foreign member ``plan``, which GDAL ignores."""
    features = [
        {
            "type": "Feature",
            "id": area["rank"],
            "geometry": area["boundary"],
            "properties": area_to_row(plan, area),
        }
        for area in plan["areas"]
    ]
    meta = {k: v for k, v in plan.items() if k != "areas"}
    return {"type": "FeatureCollection", "plan": meta, "features": features}


def plan_to_bytes(plan: dict[str, Any], fmt: str) -> bytes:
    """The document as ``json`` or ``geojson`` bytes: what ``hotspots plan`` writes, so a
    service answering with these bytes serves the CLI's file byte for byte."""
    if fmt not in ("json", "geojson"):
        raise ConfigError(f"format {fmt!r}: must be json or geojson")
    doc = plan if fmt == "json" else plan_to_geojson(plan)
    return json.dumps(doc, separators=(",", ":")).encode("utf-8")


def plan_to_rows(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat row per area (``area_to_row``): the CSV file's rows."""
    return [area_to_row(plan, area) for area in plan["areas"]]


def area_to_row(plan: dict[str, Any], area: dict[str, Any]) -> dict[str, Any]:
    """An area as scalar columns, the same for every area of a plan (a CSV row, a GeoJSON
    feature's properties): its plan's as_of and period; the interval's bounds and level;
    ``expected_<type>`` per crime type; cells joined by ';', reasons by ' | ', shift blocks
    and hours as labels (``when`` is the busiest hours of the week); the events its ``when``
    counts, leaves out for want of a time of day, and does not count at heaped clock minutes
    (``'12:00 200; 00:00 12'``), null for a ``when`` unknown (no time of day) or withheld."""
    when = area["when"]
    keys = ("top_blocks", "top_blocks_of_day", "top_hours", "top_hours_of_day")
    blocks, blocks_of_day, week, day = (
        (when if isinstance(when, str) else _labels(when, key)) for key in keys
    )
    row = {
        "as_of": plan["as_of"],
        "period_start": plan["period_start"],
        "rank": area["rank"],
        "area_km2": area["area_km2"],
        "n_cells": area["n_cells"],
        "expected_count": area["expected_count"],
        "interval_low": area["interval"]["low"],
        "interval_high": area["interval"]["high"],
        "interval_level": area["interval"].get("level"),
        "score": area["score"],
    }
    for name, count in area["expected_by_type"].items():
        # a crime type named "count" must not overwrite the area's total
        column = f"expected_{name}" if f"expected_{name}" not in row else f"expected_type_{name}"
        row[column] = count
    row.update(
        {
            "when_blocks": blocks,
            "when_blocks_of_day": blocks_of_day,
            "when": week,
            "when_of_day": day,
            **_when_counts(when),
            "reasons": " | ".join(area["reasons"]),
            "suppressed": area.get("suppressed", False),
            "cells": ";".join(area["cells"]),
        }
    )
    return row


def _when_counts(when: dict[str, Any] | str) -> dict[str, Any]:
    """The counts beside an area's busy hours that say how much history they rest on."""
    if isinstance(when, str):  # "unknown": no time of day to count by
        return dict.fromkeys(_WHEN_COUNTS)
    excess = when["placeholder_excess"]
    return {
        "when_events_with_time": when["events_with_time"],
        "when_events_without_time": when["events_without_time"],
        "when_not_counted": "; ".join(f"{minute} {n}" for minute, n in excess.items()),
    }


_WHEN_COUNTS = ("when_events_with_time", "when_events_without_time", "when_not_counted")


def _labels(when: dict[str, Any], key: str) -> str:
    return "; ".join(h["label"] for h in when[key])


def write_plan(plan: dict[str, Any], out: Path) -> None:
    """Write a plan as JSON, GeoJSON or CSV (by suffix), atomically."""
    suffix = plan_suffix(out)
    with atomic_path(out) as tmp:
        if suffix == ".csv":
            rows = plan_to_rows(plan)
            with Path(tmp).open("w", newline="", encoding="utf-8") as fh:
                names = list(rows[0]) if rows else ["rank"]
                writer = csv.DictWriter(fh, fieldnames=names)
                writer.writeheader()
                writer.writerows(rows)
        else:
            Path(tmp).write_bytes(plan_to_bytes(plan, suffix.lstrip(".")))
