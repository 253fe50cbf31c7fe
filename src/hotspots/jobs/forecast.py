"""Forecasts from a fitted model and an event history, for one or many ``as_of`` times.

The model is never refitted: each forecast reads only the whole periods before its
``as_of`` (see ``hotspots.forecasters.base``). ``history_panel`` is the one rule that turns
events into the panel a forecast reads, for the CLI and the API alike (the forecast document
is ``hotspots.publishing``'s). The table output has one row per (as_of, period, study cell)
with ``rank`` 1 for the highest expected count of that as_of and period.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hotspots.atomic import atomic_path
from hotspots.errors import ConfigError, DataValidationError
from hotspots.features import Panel, events_to_panel, period_floor, period_range
from hotspots.features.lags import plan_for
from hotspots.forecasters import Forecaster, check_horizon, next_period_start
from hotspots.grid import StudyArea, cells_to_geojson, cells_to_strings
from hotspots.jobs.data import (
    local_times,
    quiet_end_note,
    whole_periods_end,
    whole_periods_start,
)
from hotspots.jobs.dates import check_year_first
from hotspots.jobs.fit_check import check_events_fit

FORECAST_COLUMNS: tuple[str, ...] = ("as_of", "period_start", "cell", "expected_count", "rank")
OUTPUT_SUFFIXES: tuple[str, ...] = (".csv", ".parquet", ".geojson", ".json")
"""``.json`` and (from the CLI) ``.geojson`` are the forecast document of ``publishing``."""


def parse_as_of(values: Iterable[str], freq: str) -> list[pd.Timestamp]:
    """Dates from ``--as-of`` values: single dates, or ``START..END`` for every period start
    from START to END inclusive. Sorted, duplicates dropped."""
    out: set[pd.Timestamp] = set()
    for value in values:
        if ".." in value:
            lo, _, hi = value.partition("..")
            start, end = _date(lo, value), _date(hi, value)
            if end < start:
                raise ConfigError(f"--as-of range {value!r} ends before it starts")
            first = next_period_start(start, freq)  # starts at or after START, up to END
            out.update(period_range(first, end + pd.Timedelta(days=1), freq))
        else:
            out.add(_date(value, value))
    if not out:
        raise ConfigError("no --as-of date: give one or more dates, or a START..END range")
    return sorted(out)


def _date(text: str, whole: str) -> pd.Timestamp:
    check_year_first(text, f"--as-of {whole!r}:")
    try:
        ts = pd.Timestamp(text.strip())
    except (TypeError, ValueError) as err:
        raise ConfigError(f"--as-of {whole!r}: {text!r} is not a date (use YYYY-MM-DD)") from err
    if ts is pd.NaT:
        raise ConfigError(f"--as-of {whole!r}: {text!r} is not a date (use YYYY-MM-DD)")
    return ts.tz_localize(None) if ts.tz is not None else ts


def forecast_events(
    model: Forecaster,
    events: pd.DataFrame,
    as_ofs: Sequence[pd.Timestamp],
    horizon: int = 1,
    manifest: Mapping[str, Any] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Forecasts for every ``as_of`` from ``events``, plus warnings worth showing a user.

    Events that do not fit the model (``check_events_fit``; ``manifest`` gives its training
    window and rate) are refused before anything is forecast, as is a horizon beyond a year
    (``check_horizon``).
    """
    check_horizon(horizon, model.freq_)
    warnings = forecast_warnings(model, events, as_ofs, manifest)
    panel, _ = history_panel(model, events, max(as_ofs))
    frames = [model.predict(panel, as_of, horizon).assign(as_of=as_of) for as_of in as_ofs]
    return rank_forecast(pd.concat(frames, ignore_index=True)), warnings


def forecast_warnings(
    model: Forecaster,
    events: pd.DataFrame,
    as_ofs: Sequence[pd.Timestamp],
    manifest: Mapping[str, Any] | None = None,
) -> list[str]:
    """What a user should hear before forecasting ``as_ofs`` from ``events``: events that do
    not fit the model are refused (``check_events_fit``), no history before the first as_of
    too; the rest (a gap before an as_of, a changed rate) come back as warnings."""
    fit_warnings = check_events_fit(model, events, manifest)
    times = local_times(events)
    if not (times < min(as_ofs)).any():
        raise DataValidationError(
            f"no event before the first as_of {min(as_ofs).date()}: the model needs history"
        )
    quiet = quiet_end_note(events, model.freq_)
    if quiet is None or whole_periods_end(events, model.freq_) not in set(as_ofs):
        quiet = None  # said only of the default as_of, the one it moved back
    return fit_warnings + _gap_warnings(times, as_ofs, model.freq_) + ([quiet] if quiet else [])


def history_panel(
    model: Forecaster, events: pd.DataFrame, as_of: Any = None
) -> tuple[Panel, pd.Timestamp]:
    """The model's study cells counted from the events for a forecast at ``as_of``, and that
    ``as_of`` (default: the end of the events' last whole period, the next forecast due).

    One rule for ``hotspots forecast``, the API and training alike: the panel starts at the
    first whole period of the events' dense data (``whole_periods_start``: a period the export
    covers only in part would look quiet, and a few stray early events would stretch the
    history a whole-history mean averages over) and ends where the period holding ``as_of``
    starts (``predict`` reads nothing later). Periods between the last event and ``as_of``
    count as having no crime (``forecast_events`` warns of such a gap, and refuses one that
    spans the model's recent counts).
    """
    freq = model.freq_
    start = whole_periods_start(events, freq)
    if as_of is None:
        as_of = end = whole_periods_end(events, freq)
    else:
        as_of = pd.Timestamp(as_of)
        end = pd.Timestamp(period_floor([as_of], freq)[0])
    if start >= end:
        raise DataValidationError(
            f"the events cover no whole {freq} period before as_of {as_of.date()} (their "
            f"first whole period starts {start.date()})"
        )
    area = StudyArea(np.asarray(model.cells_, dtype=np.uint64), model.resolution_)
    panel = events_to_panel(events, freq=freq, study_area=area, start=start, end=end)
    return panel, pd.Timestamp(as_of)


_UNITS = {"D": "days", "W": "weeks", "M": "months"}


def _gap_warnings(times: pd.Series, as_ofs: Sequence[pd.Timestamp], freq: str) -> list[str]:
    """A warning when the events stop well before an as_of: missing weeks look crime-free.
    A gap of as many whole periods as the model's longest recent count (8 weeks, 3 months,
    7 days) is refused: every recent count would then be of periods with no data, and the
    forecast a plausible-looking wrong one."""
    last = times.max()
    limit = max(plan_for(freq).sums)
    pandas_freq = {"W": "W-SUN", "M": "M", "D": "D"}[freq]  # W: Monday to Sunday
    out = []
    for as_of in as_ofs:
        missing = (pd.Period(as_of, pandas_freq) - pd.Period(last, pandas_freq)).n - 1
        if missing >= limit:
            raise DataValidationError(
                f"the events end {last.date()}, {missing} whole {_UNITS[freq]} before as_of "
                f"{as_of.date()}: the model's recent counts (up to {limit} {_UNITS[freq]}) "
                "would all be of periods with no data; give events up to the as_of, or an "
                "as_of nearer their end"
            )
        gap = (as_of - last).days
        if gap > {"D": 2, "W": 14, "M": 62}[freq]:
            out.append(
                f"the events end {last.date()}, {gap} days before as_of {as_of.date()}: the "
                "periods in between count as having no crime"
            )
    return out


def rank_forecast(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``rank`` per (as_of, period_start): 1 = highest expected count, ties by cell id."""
    order = np.lexsort(
        (
            frame["cell"].to_numpy(np.uint64),
            -frame["expected_count"].to_numpy(np.float64),
            frame["period_start"].to_numpy(),
            frame["as_of"].to_numpy(),
        )
    )
    ranked = frame.iloc[order].reset_index(drop=True)
    group = ranked.groupby(["as_of", "period_start"], sort=False).cumcount()
    ranked["rank"] = group.to_numpy(np.int64) + 1
    return ranked.loc[:, list(FORECAST_COLUMNS)]


def output_suffix(out: Path) -> str:
    """The output format of a forecast file by its suffix; ConfigError for any other."""
    suffix = out.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise ConfigError(f"--output {out.name}: the suffix must be one of {list(OUTPUT_SUFFIXES)}")
    return suffix


def write_forecast(frame: pd.DataFrame, out: Path) -> None:
    """Write a ranked forecast as CSV, Parquet or GeoJSON (by suffix), atomically."""
    suffix = output_suffix(out)
    if suffix == ".json":
        raise ConfigError(
            f"{out.name}: a .json forecast is the forecast document (hotspots.publishing)"
        )
    edge = frame.assign(cell=cells_to_strings(frame["cell"].to_numpy(np.uint64)))
    with atomic_path(out) as tmp:
        if suffix == ".csv":
            edge.to_csv(tmp, index=False, date_format="%Y-%m-%d", float_format="%.6g")
        elif suffix == ".parquet":
            edge.to_parquet(tmp, index=False)
        else:
            props = {
                "as_of": edge["as_of"].dt.strftime("%Y-%m-%d").to_numpy(),
                "period_start": edge["period_start"].dt.strftime("%Y-%m-%d").to_numpy(),
                "expected_count": edge["expected_count"].to_numpy(np.float64),
                "rank": edge["rank"].to_numpy(np.int64),
            }
            collection = cells_to_geojson(frame["cell"].to_numpy(np.uint64), props)
            Path(tmp).write_text(json.dumps(collection), encoding="utf-8")
