"""Report figures as PNG bytes, drawn with matplotlib's Agg canvas (no pyplot, no display)."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from hotspots.evaluation.metrics import Cutoff, rank_cells
from hotspots.evaluation.result import BacktestResult
from hotspots.grid import cell_to_boundary, cells_to_latlng

_DPI = 100


def _png(fig: Figure) -> bytes:
    """The figure as PNG bytes; Figure + FigureCanvasAgg keeps pyplot's global state out."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight")
    return buf.getvalue()


def curves_png(result: BacktestResult) -> bytes:
    """Mean hit rate and PAI against area coverage, one line per model."""
    fig = Figure(figsize=(10, 4))
    rate_ax, pai_ax = fig.subplots(1, 2)
    for name in result.models:
        curve = result.curves[result.curves["model"] == name]
        pct = curve["coverage"].to_numpy() * 100
        rate_ax.plot(pct, curve["hit_rate"].to_numpy(), marker=".", label=name)
        pai_ax.plot(pct, curve["pai"].to_numpy(), marker=".", label=name)
    rate_ax.plot([0, 20], [0, 0.2], color="grey", linestyle=":", label="random")
    pai_ax.axhline(1.0, color="grey", linestyle=":", label="random")
    rate_ax.set(xlabel="area flagged (%)", ylabel="mean hit rate", title="Hit rate")
    pai_ax.set(xlabel="area flagged (%)", ylabel="mean PAI", title="PAI")
    rate_ax.legend(fontsize="small")
    return _png(fig)


def pai_series_png(result: BacktestResult, cutoff: Cutoff) -> bytes:
    """PAI of each fold's period at one cutoff, one line per model."""
    fig = Figure(figsize=(10, 3.5))
    ax = fig.subplots()
    rows = result.per_fold[result.per_fold["cutoff"] == cutoff.label]
    for name in result.models:
        mine = rows[rows["model"] == name]
        ax.plot(pd.DatetimeIndex(mine["as_of"]), mine["pai"].to_numpy(), marker="o", label=name)
    ax.axhline(1.0, color="grey", linestyle=":")
    ax.set(xlabel="forecast period", ylabel=f"PAI at {cutoff.label}", title="PAI per period")
    ax.legend(fontsize="small")
    fig.autofmt_xdate()
    return _png(fig)


def calibration_png(result: BacktestResult) -> bytes:
    """Mean observed against mean predicted count per decile bin, with the diagonal."""
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    top = 0.0
    for name in result.models:
        table = result.calibration[name].table
        ax.plot(table["mean_predicted"], table["mean_observed"], marker="o", label=name)
        top = max(top, float(table["mean_predicted"].max()), float(table["mean_observed"].max()))
    top = top if top > 0 else 1.0
    ax.plot([0, top], [0, top], color="grey", linestyle=":", label="perfect")
    ax.set(
        xlabel="mean predicted count per cell-period",
        ylabel="mean observed count",
        title="Calibration by predicted decile",
    )
    ax.legend(fontsize="small")
    return _png(fig)


IMPORTANCE_LABELS = {
    "gain": "share of the loss reduction of all splits (gain), %",
    "split": "share of all splits, %",
}
"""What a bar of the importance chart is a share of, by the importance's kind (its name)."""


def importance_bars(importance: pd.Series, top: int = 20) -> tuple[pd.Series, str]:
    """The ``top`` features' shares of the whole importance in %, the largest last (the top
    bar), and the axis label saying what they are shares of (a raw total gain has no unit a
    reader knows)."""
    values = importance.astype(float)
    total = float(values.sum())
    shares = values * (100.0 / total) if total > 0 else values * 0.0
    label = IMPORTANCE_LABELS.get(str(importance.name), "share of the total importance, %")
    return shares.sort_values(ascending=False, kind="stable").head(top)[::-1], label


def importance_png(name: str, importance: pd.Series, top: int = 20) -> bytes:
    """Horizontal bars of a model's ``top`` most important features, as shares of the whole."""
    values, label = importance_bars(importance, top)
    fig = Figure(figsize=(7, 0.3 * len(values) + 1.2))
    ax = fig.subplots()
    ax.barh([str(i) for i in values.index], values.to_numpy())
    shown = f"top {len(values)} of {len(importance)} features"
    ax.set(xlabel=label, title=f"Feature importance: {name} ({shown})")
    return _png(fig)


def last_fold_map_png(result: BacktestResult, model: str, cutoff: Cutoff) -> bytes:
    """The study cells as hexagons: events of the last fold, and ``model``'s top cells."""
    last = result.last_fold
    k = cutoff.k(last.cells.size)
    flagged = rank_cells(last.expected[model], last.cells)[:k]
    # matplotlib draws (x, y) = (lng, lat); cell_to_boundary gives (lat, lng) pairs. A list,
    # not one array: cells on an icosahedron edge have more than six vertices.
    hexes = [np.array(cell_to_boundary(c))[:, ::-1] for c in last.cells]
    fig = Figure(figsize=(8, 8))
    ax = fig.subplots()
    norm = Normalize(vmin=0, vmax=max(int(last.actual.max(initial=0)), 1))
    events = PolyCollection(hexes, cmap="Reds", norm=norm, edgecolors="#dddddd")
    events.set_array(last.actual.astype(float))
    events.set_linewidth(0.3)
    ax.add_collection(events)
    outline = PolyCollection([hexes[i] for i in flagged], facecolors="none", edgecolors="#1f4e9c")
    outline.set_linewidth(1.6)
    ax.add_collection(outline)
    fig.colorbar(events, ax=ax, shrink=0.6, label="events in the period")
    ax.autoscale_view()
    mid_lat = float(np.mean(cells_to_latlng(last.cells)[0])) if last.cells.size else 0.0
    ax.set_aspect(1.0 / max(math.cos(math.radians(mid_lat)), 0.01))
    hits = int(last.actual[flagged].sum())
    ax.set(
        xlabel="longitude",
        ylabel="latitude",
        title=(
            f"{model}: top {k} cells ({cutoff.label}) for {last.as_of.date()}; "
            f"{hits} of {int(last.actual.sum())} events"
        ),
    )
    ax.legend(
        handles=[Patch(facecolor="none", edgecolor="#1f4e9c", label=f"flagged by {model}")],
        loc="upper right",
        fontsize="small",
    )
    return _png(fig)
