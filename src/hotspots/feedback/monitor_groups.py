"""The monitor's area-level layer: flagged area and patrol time per group of areas (census
areas with a population, districts with a group attribute: any polygon file), beside each
group's share of the population and of reported crime.

A cell belongs to the polygon its centre lies in (as named areas do); cells in no polygon
are left out of every share. Top-k flagging concentrates by design: the group with most
crime gets more than its crime share of a 1% map. A ratio over ``group_ratio`` is a reason
to look (is it the crime, or where the records come from?), not proof of bias.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.errors import ConfigError, InputFileError
from hotspots.grid import StudyArea

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class GroupLayer:
    """Each cell's group (-1: in no polygon), the group names and their population (NaN
    when the layer has no population attribute)."""

    code: npt.NDArray[np.int64]
    names: tuple[str, ...]
    population: FloatArray


@dataclass(frozen=True, eq=False)
class AreaLayer:
    """A polygon file's groups, read once (``read_area_layer``): each group's polygons as
    one geometry (shapely's ``x=lng, y=lat``) and its population. ``on`` gives the groups
    of a model's cells; the cells inside each group are found once per resolution and kept,
    so the models of one report share one reading and one search."""

    path: str
    names: tuple[str, ...]
    shapes: tuple[Any, ...]
    population: FloatArray
    _inside: dict[int, tuple[npt.NDArray[np.uint64], ...]] = field(default_factory=dict)

    def on(self, cells: npt.ArrayLike, resolution: int) -> GroupLayer:
        """The group of each of ``cells`` (at ``resolution``; -1: in no polygon)."""
        ids = np.asarray(cells, dtype=np.uint64)
        code = np.full(ids.size, -1, dtype=np.int64)
        for g, inside in enumerate(self._cells_inside(resolution)):
            code[np.isin(ids, inside) & (code < 0)] = g
        return GroupLayer(code, self.names, self.population)

    def _cells_inside(self, resolution: int) -> tuple[npt.NDArray[np.uint64], ...]:
        found = self._inside.get(resolution)
        if found is None:
            found = self._inside[resolution] = tuple(
                _cells_in(shape, resolution) for shape in self.shapes
            )
        return found


def _cells_in(shape: Any, resolution: int) -> npt.NDArray[np.uint64]:
    try:
        return StudyArea.from_geometry(shape, resolution).cells
    except ConfigError:  # no cell centre in it at this resolution
        return np.empty(0, dtype=np.uint64)


def read_area_layer(
    path: str | Path,
    *,
    group_field: str | None = None,
    population_field: str | None = None,
) -> AreaLayer:
    """The groups of a polygon file: one group per ``group_field`` value, or per polygon
    (named by its row) when there is none; population summed per group."""
    import geopandas as gpd

    if group_field is None and population_field is None:
        raise ConfigError(
            f"area layer {str(path)!r} needs a group field, a population field or both "
            "(HOTSPOTS_MONITOR_GROUP_FIELD, HOTSPOTS_MONITOR_POPULATION_FIELD; "
            "--monitor-group-field, --monitor-population-field)"
        )
    try:
        frame = gpd.read_file(Path(path))
    except Exception as err:  # the GDAL drivers raise many types; name the file once
        raise InputFileError(f"cannot read area layer {path}: {err}") from err
    for name in (group_field, population_field):
        if name is not None and name not in frame.columns:
            raise ConfigError(
                f"field {name!r} not found in {path}; fields are: "
                f"{[c for c in frame.columns if c != 'geometry']}"
            )
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    labels = frame[group_field].astype(str) if group_field else frame.index.astype(str)
    names = tuple(sorted(set(labels)))
    people = None if population_field is None else _population(frame, population_field, path)
    shapes = []
    population = np.full(len(names), np.nan)
    for g, name in enumerate(names):
        inside = np.asarray(labels == name)
        shapes.append(frame.loc[inside].geometry.union_all())
        if people is not None:
            population[g] = people[inside].sum()
    return AreaLayer(str(path), names, tuple(shapes), population)


def _population(frame: pd.DataFrame, field: str, path: str | Path) -> FloatArray:
    """The population field as numbers (an empty value counts 0). A value that is not a
    number, or is negative, raises ``InputFileError`` naming the field and a few of them:
    coerced, a text such as '1,234' or 'n/a' would count as 0 and skew every share."""
    raw = frame[field]
    values = pd.to_numeric(raw, errors="coerce")
    bad = (values.isna() & raw.notna() & (raw.astype(str).str.strip() != "")) | (values < 0)
    if bad.any():
        rows, given = np.flatnonzero(bad.to_numpy()), raw.tolist()
        shown = ", ".join(f"{given[i]!r} (row {i + 1})" for i in rows[:3])
        raise InputFileError(
            f"population field {field!r} of area layer {path}: {rows.size} of {len(raw)} "
            f"values are not a number of people >= 0, e.g. {shown}"
        )
    return values.fillna(0.0).to_numpy(np.float64)


def read_group_layer(
    path: str | Path,
    cells: npt.ArrayLike,
    resolution: int,
    *,
    group_field: str | None = None,
    population_field: str | None = None,
) -> GroupLayer:
    """Groups of ``cells`` from a polygon file (``read_area_layer``, then ``on``)."""
    layer = read_area_layer(path, group_field=group_field, population_field=population_field)
    return layer.on(cells, resolution)


def group_table(
    layer: GroupLayer,
    flagged: BoolArray,
    counts: FloatArray,
    dosage: FloatArray | None,
    area: FloatArray,
) -> pd.DataFrame:
    """Per group, over the given periods: its share of the population, of reported crime,
    of the area, of the flagged area (flagged cell-periods weighted by area) and of patrol
    minutes, with the flagged share over the crime and population shares; beside them the
    flagged cell-periods and the events the shares rest on."""
    inside = layer.code >= 0
    n = len(layer.names)
    code = layer.code[inside]

    def shares(per_cell: FloatArray) -> FloatArray:
        sums = np.bincount(code, weights=per_cell[inside], minlength=n)
        total = sums.sum()
        return sums / total if total > 0 else np.full(n, np.nan)

    pop = layer.population
    frame = pd.DataFrame(
        {
            "group": layer.names,
            "cells": np.bincount(code, minlength=n),
            "population_share": pop / np.nansum(pop) if np.isfinite(pop).any() else np.nan,
            "area_share": shares(area),
            "crime_share": shares(counts.sum(axis=0)),
            "flagged_share": shares((flagged * area).sum(axis=0)),
            # the bases of the two shares, so a ratio on a handful of cells shows as such
            "flagged_cell_periods": np.bincount(
                code, weights=flagged.sum(axis=0)[inside], minlength=n
            ).astype(np.int64),
            "events": np.bincount(code, weights=counts.sum(axis=0)[inside], minlength=n),
        }
    )
    if dosage is not None:
        frame["dosage_share"] = shares(dosage.sum(axis=0))
    frame["flagged_vs_crime"] = frame["flagged_share"] / frame["crime_share"].where(
        frame["crime_share"] > 0
    )
    frame["flagged_vs_population"] = frame["flagged_share"] / frame["population_share"].where(
        frame["population_share"] > 0
    )
    return frame


def group_flags(
    frame: pd.DataFrame, ratio: float, period: str | None, since: str | None = None
) -> list[dict[str, Any]]:
    """A flag for each group whose flagged share is at least ``ratio`` times its crime share,
    at ``period`` (the last of the window); the message names the window's first period,
    ``since``, as the shares are over the window, not that period alone."""
    over = f" from {since} to {period}" if since is not None else ""
    then = " then" if since is not None else ""
    total = float(frame["events"].sum())
    out = []
    for row in frame.loc[frame["flagged_vs_crime"] >= ratio].to_dict("records"):
        value = float(row["flagged_vs_crime"])
        flagged = f" ({int(row['flagged_cell_periods'])} flagged cell-periods)"
        events = f" ({float(row['events']):g} of {total:g} events)"
        out.append(
            {
                "figure": "group",
                "period": str(period),
                "value": value,
                "threshold": ratio,
                "message": (
                    f"group {row['group']!r} holds {row['flagged_share']:.0%} of the area "
                    f"flagged{over}{flagged} but {row['crime_share']:.0%} of the crime "
                    f"reported{then}{events} ({value:.1f}x)"
                ),
            }
        )
    return out
