"""The effectiveness report's plots: realised PAI per period beside the baselines', and
patrol dosage beside the crime in and around the patrolled cells (PNG bytes, drawn without
pyplot's global state)."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from hotspots.feedback.effectiveness import SERVED
from hotspots.feedback.html_parts import figure_png as _png


def pai_png(periods: pd.DataFrame, cutoff: str) -> bytes:
    """Realised PAI per period: what was served (thick) beside each baseline."""
    fig = Figure(figsize=(10, 3.5))
    ax = fig.subplots()
    rows = periods.loc[periods["cutoff"] == cutoff]
    for source, part in rows.groupby("source", sort=True):
        served = source == SERVED
        ax.plot(
            pd.DatetimeIndex(part["as_of"]),
            part["pai"].to_numpy(float),
            marker="o",
            linewidth=2.5 if served else 1.0,
            label=str(source),
        )
    ax.axhline(1.0, color="grey", linestyle=":")
    ax.set(xlabel="period", ylabel=f"PAI at {cutoff}", title="Realised PAI")
    ax.legend(fontsize="small")
    fig.autofmt_xdate()
    return _png(fig)


def dosage_png(dosage: pd.DataFrame) -> bytes:
    """Patrol minutes per period beside the events in, around and away from patrolled cells
    (bars), with the mean of the periods before (dots): a displacement check."""
    fig = Figure(figsize=(10, 4))
    minutes_ax, events_ax = fig.subplots(1, 2)
    labels = [pd.Timestamp(t).strftime("%Y-%m-%d") for t in dosage["as_of"]]
    x = range(len(labels))
    minutes_ax.bar(x, dosage["patrol_minutes"].to_numpy(float), color="#4a7")
    minutes_ax.set(ylabel="patrol minutes", title="Dosage")
    width = 0.4
    for i, (part, colour) in enumerate((("patrolled", "#c44"), ("ring", "#e93"))):
        shift = [v + (i - 0.5) * width for v in x]
        events_ax.bar(
            shift, dosage[f"events_{part}"].to_numpy(float), width, color=colour, label=part
        )
        events_ax.plot(
            shift,
            dosage[f"before_{part}"].to_numpy(float),
            "k.",
            label=None if i else "before (mean)",
        )
    events_ax.set(ylabel="target events", title="Crime in patrolled cells and the ring around")
    events_ax.legend(fontsize="small")
    for ax in (minutes_ax, events_ax):
        ax.set_xticks(list(x), labels, rotation=30, ha="right")
    return _png(fig)
