"""The monitor where people read it: the training-time reference a manifest records (and the
model card shows), the monitor of a model in use, and its plot (the effectiveness report's
section is ``feedback.report_monitor``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.evaluation import BacktestResult
from hotspots.feedback.monitor import (
    Monitor,
    dosage_to_array,
    monitor,
    ranked_to_flags,
    top_share_flags,
)
from hotspots.feedback.monitor_groups import GroupLayer
from hotspots.feedback.monitor_reference import (
    Reference,
    Thresholds,
    concentration_bar,
    reference_from_frame,
)

MANIFEST_KEY = "feedback_monitor"
"""Where a manifest's ``notes`` keep the training-time monitor (``registry.card`` renders it)."""


def backtest_monitor(
    result: BacktestResult, model: str, thresholds: Thresholds | None = None
) -> Monitor | None:
    """The monitor over ``model``'s reported backtest folds (what it would have flagged each
    fold, and the crime recorded there): the reference its use is compared with later.
    None when the backtest holds no forecasts of ``model``."""
    th = thresholds or Thresholds()
    expected = result.forecasts.get(model)
    if expected is None or not len(result.folds):
        return None
    cells = result.last_fold.cells
    flagged = top_share_flags(expected, cells, th.coverage)
    periods = [f.as_of for f in result.folds]
    first = monitor(cells, periods, flagged, result.actual, thresholds=th)
    reference = reference_from_frame(
        first.periods,
        f"{model} on the backtest at training time",
        th.min_events,
        th.pool,
        th.window,
    )
    return monitor(cells, periods, flagged, result.actual, reference=reference, thresholds=th)


def training_record(
    result: BacktestResult, model: str, thresholds: Thresholds | None = None
) -> dict[str, Any]:
    """The JSON-able record a manifest keeps under ``notes[MANIFEST_KEY]`` (empty when the
    backtest cannot give one)."""
    found = backtest_monitor(result, model, thresholds)
    if found is None or found.reference is None:
        return {}
    p = found.periods
    return {
        "model": model,
        "reference": found.reference.to_dict(),
        "thresholds": asdict(found.thresholds),
        "periods": len(p),
        "mean_repeat_share": _mean(p["repeat_share"]),
        "mean_turnover": _mean(p["turnover"]),
        "mean_contrast": _mean(p["pooled_contrast"]),
        "distribution": found.distribution.to_dict(orient="records"),
    }


def kept_record(manifest: Mapping[str, Any], version: str) -> dict[str, Any]:
    """The training-time record a retrain of ``version`` (its ``manifest``) keeps: the
    retrain's folds are weeks ``version`` was in use, where a loop would already be, so the
    reference stays the one measured before use, saying so (empty when it had none)."""
    record = dict(_notes(manifest))
    reference = record.get("reference")
    if not isinstance(reference, Mapping) or reference.get("concentration") is None:
        return {}
    if "kept_from" in record:  # kept by an earlier retrain: the version it was measured on
        return record
    source = (
        f"{reference.get('source')} (of {version}, kept by retrain: its folds were weeks "
        f"{version} was in use)"
    )
    return {**record, "reference": {**reference, "source": source}, "kept_from": version}


def monitor_png(found: Monitor) -> bytes:
    """Pooled concentration against the reference and its flag line, and the repeat share,
    per period (matplotlib's Agg canvas, no pyplot)."""
    from matplotlib.figure import Figure

    from hotspots.feedback.html_parts import figure_png

    fig = Figure(figsize=(10, 3.5))
    conc_ax, repeat_ax = fig.subplots(1, 2)
    p = found.periods
    if not p.empty:
        x = pd.to_datetime(p["period"])
        conc_ax.plot(x, p["pooled_concentration"], marker=".", label="pooled concentration")
        repeat_ax.plot(x, p["repeat_share"], marker=".", label="repeat share")
    if found.reference is not None:
        ref = found.reference
        conc_ax.axhline(ref.concentration, color="grey", linestyle=":", label="reference")
        if not p.empty:
            bar = concentration_bar(p, ref, found.thresholds)
            conc_ax.plot(x, bar, color="red", linestyle="--", label="flag")
        if ref.repeat_share is not None:
            repeat_ax.axhline(ref.repeat_share, color="grey", linestyle=":", label="reference")
    conc_ax.set(title="New events in prior cells / their area share", xlabel="period")
    repeat_ax.set(title="Flagged area flagged again and again", xlabel="period", ylim=(0, 1.05))
    if conc_ax.get_legend_handles_labels()[0]:  # an empty legend warns
        conc_ax.legend(fontsize="small")
    fig.autofmt_xdate()
    return figure_png(fig)


def _mean(series: pd.Series) -> float | None:
    values = series.dropna()
    return float(values.mean()) if len(values) else None


def _num(value: Any) -> str:
    return "?" if value is None else f"{float(value):.2f}"


def _pct(value: Any) -> str:
    return "?" if value is None else f"{float(value):.0%}"


def served_monitor(
    cells: npt.ArrayLike,
    periods: pd.DatetimeIndex,
    recorded: npt.ArrayLike,
    ranked: Mapping[pd.Timestamp, npt.ArrayLike],
    manifest: Mapping[str, Any],
    *,
    dosage: pd.DataFrame | None = None,
    groups: GroupLayer | None = None,
    overrides: Mapping[str, int | None] | None = None,
    first_window: Reference | None = None,
    history: int = 0,
) -> Monitor:
    """The monitor of a model in use: ``ranked`` holds the cells it served for each period
    (rank 1 first; a period it served nothing for flags no cell), ``recorded`` the target
    counts (periods x cells) of ``periods``, which have all passed. The thresholds and the
    reference are those its manifest recorded at training time (defaults and the series'
    own first window when it recorded none). ``overrides`` (``window``, ``repeat``; None
    values ignored) replace recorded thresholds; a reference measured with another window
    or repeat is not comparable, so the series' own first window is used then.
    ``first_window``: the first full window of everything served, when ``periods`` begin
    after it (``monitor_served``), used in place of the series' own, or for what the
    training-time reference did not measure (a repeat share). The first
    ``history`` of ``periods`` are served periods before those monitored, only looked back
    on (prior cells, times flagged), so the first periods monitored count back P periods
    as the later ones do. Periods before the first one served are left out."""
    th, reference, why = thresholds_asked(manifest, overrides)
    notes = [] if why is None else [why]
    fallback = None if reference is None else first_window
    if reference is None and first_window is not None:
        reference = first_window
        notes.append(
            f"no training-time reference: compared with {first_window.source} of everything "
            "served, before the periods shown"
        )
    ids = np.asarray(cells, dtype=np.uint64)
    starts = pd.DatetimeIndex(periods)
    served = [i for i, p in enumerate(starts) if pd.Timestamp(p) in ranked]
    first = served[0] if served else len(starts)
    keep = starts[first:]
    empty = np.empty(0, dtype=np.uint64)
    orders = [np.asarray(ranked.get(pd.Timestamp(p), empty), dtype=np.uint64) for p in keep]
    flagged = ranked_to_flags(orders, ids, th.coverage)
    counts = np.asarray(recorded, dtype=np.float64)[first:]
    found = monitor(
        ids,
        keep,
        flagged,
        counts,
        dosage=dosage_to_array(dosage, keep, ids),
        groups=groups,
        reference=reference,
        thresholds=th,
        history=max(0, history - first),
        fallback=fallback,
    )
    return replace(found, notes=[*notes, *found.notes]) if notes else found


def thresholds_asked(
    manifest: Mapping[str, Any], overrides: Mapping[str, int | None] | None
) -> tuple[Thresholds, Reference | None, str | None]:
    """The thresholds and reference the manifest recorded, with ``overrides`` applied (then
    no reference, and why); a window asked for without a repeat keeps the model's repeat
    when it fits, else takes the window itself. Overrides that do not fit raise
    ``ConfigError``."""
    record = _notes(manifest)
    th = Thresholds(**record["thresholds"]) if record.get("thresholds") else Thresholds()
    reference = Reference.from_dict(record.get("reference"))
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    if "repeat" not in given:  # the model's X, at most the P asked for
        given["repeat"] = min(th.repeat, given.get("window", th.window))
    given["min_lookback"] = min(th.min_lookback, given.get("window", th.window))
    asked = replace(th, **given)
    if asked == th:
        return th, reference, None
    why = (
        f"window {asked.window} and repeat {asked.repeat} asked for, not the model's "
        f"{th.window} and {th.repeat}: its training-time reference does not apply"
    )
    return asked, None, why


def _notes(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    notes = manifest.get("notes")
    record = notes.get(MANIFEST_KEY) if isinstance(notes, Mapping) else None
    return record if isinstance(record, Mapping) else {}
