"""The feedback-loop monitor in the effectiveness report: per model, the figures
``GET /v1/monitor`` serves (the same ``ModelMonitor``) as CSVs, and a page section with the
plot, the tables and, when the monitor flags, a warning in plain words."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

import pandas as pd

from hotspots.feedback.html_parts import data_link, esc, img_html, table_html
from hotspots.feedback.monitor_reference import why_no_reference
from hotspots.feedback.monitor_report import monitor_png
from hotspots.feedback.monitor_served import ModelMonitor

SUMMARY = "monitor_summary.csv"
PERIODS = "monitor_periods.csv"
DISTRIBUTION = "monitor_distribution.csv"
FLAGS = "monitor_flags.csv"
GROUPS = "monitor_groups.csv"
ABOUT = {
    SUMMARY: "feedback-loop monitor per model: thresholds, reference, whether flagged",
    PERIODS: "feedback-loop monitor: every figure per model and period",
    DISTRIBUTION: "feedback-loop monitor: cells by how often they were flagged",
    FLAGS: "feedback-loop monitor: the flags raised",
    GROUPS: "feedback-loop monitor: flagged area and dosage per group of the area layer",
}
"""What each CSV holds."""
FLAG_COLUMNS = ["figure", "period", "value", "threshold", "message"]
SHOWN = (
    "period", "events", "flagged_cells", "repeat_share", "turnover", "prior_area_share",
    "prior_event_share", "concentration", "pooled_concentration", "pooled_contrast",
    "patrol_minutes", "dosage_in_flagged_share",
)  # fmt: skip
"""The columns of the periods table on the page (the CSV has them all)."""


def monitor_frames(monitors: Mapping[str, ModelMonitor]) -> dict[str, pd.DataFrame]:
    """The CSVs (name -> frame), one row per model, period, times-flagged count, flag or
    group, each with its model and version first; ``monitor_groups.csv`` only when an area
    layer was given."""
    found = [monitors[name] for name in sorted(monitors)]
    out = {
        SUMMARY: pd.DataFrame([_summary(m) for m in found], columns=_SUMMARY_COLUMNS),
        PERIODS: _stack(found, lambda m: m.monitor.periods),
        DISTRIBUTION: _stack(found, lambda m: m.monitor.distribution),
        FLAGS: _stack(found, lambda m: pd.DataFrame(m.monitor.flags, columns=FLAG_COLUMNS)),
    }
    if any(m.monitor.groups is not None for m in found):
        out[GROUPS] = _stack(found, lambda m: m.monitor.groups)
    return out


def verdict(found: ModelMonitor) -> tuple[bool, str]:
    """Whether the monitor flags the model's last period, and what that means in words."""
    mon = found.monitor
    last = mon.last_period
    if last is None:
        return False, (
            f"Nothing to monitor yet: no period that {found.name} served a forecast for has "
            "passed with its events."
        )
    now = [f for f in mon.flags if f["period"] == last]
    if now:
        said = " ".join(f"{f['figure']}: {f['message']}." for f in now)
        return True, (
            f"Feedback-loop warning for {found.name} in the period from {last}: {said} "
            f"{_meaning({f['figure'] for f in now})} Read the contrast with the cells around "
            "and the patrol figures below before acting; a real change in where crime happens "
            "raises it too, and retraining renews the reference."
        )
    if mon.reference is None:
        th = mon.thresholds
        return False, (
            f"No flag can be raised for {found.name} yet: the model recorded no "
            f"training-time reference, and {why_no_reference(mon.periods, th)}. Retraining "
            f"with a backtest of at least {th.window + th.pool} folds may record one."
        )
    earlier = sorted({f["period"] for f in mon.flags})
    before = f" Earlier periods were flagged: {', '.join(earlier)}." if earlier else ""
    return False, (
        f"No feedback loop flagged for {found.name} in the period from {last}: new crime "
        "from previously flagged or patrolled cells, and how often the same cells are "
        f"flagged, stay within the thresholds of the reference.{before}"
    )


def _meaning(figures: set[str]) -> str:
    """What the flags raised may mean, in words."""
    meaning = []
    if figures - {"group"}:
        meaning.append(
            "Patrols may be recording crime where the model sent them and the model learning "
            "it back, flagging the same cells again (a runaway loop)."
        )
    if "group" in figures:
        meaning.append(
            "A group's areas are flagged beyond their share of reported crime: is it the "
            "crime, or where the records come from?"
        )
    return " ".join(meaning)


def monitor_html(found: ModelMonitor, files: Collection[str] = ()) -> list[str]:
    """The page section of one model; each table links its CSV when in ``files``."""
    mon, name = found.monitor, found.name
    flagged, words = verdict(found)
    th = mon.thresholds
    ref = mon.reference
    parts = [
        f"<h2>{esc(name)}: feedback-loop monitor</h2>",
        f'<p class="{"warning" if flagged else "note"}">{esc(words)}</p>',
        f"<p>Version {esc(found.version)}, as of {esc(found.as_of.date())}: "
        f"{found.periods_served} served periods monitored. Flagged: the top "
        f"{th.coverage:.0%} of the area; P = {th.window} periods, X = {th.repeat}; "
        + (
            f"reference concentration {ref.concentration:.2f} and repeat share "
            f"{_share(ref.repeat_share)} ({esc(ref.source)}).</p>"
            if ref is not None
            else f"no reference yet ({esc(why_no_reference(mon.periods, th))}).</p>"
        ),
        _link(files, SUMMARY),
        *(f'<p class="note">{esc(n)}</p>' for n in mon.notes),
        img_html(monitor_png(mon), f"feedback-loop monitor of {name}"),
    ]
    if mon.flags:
        parts += ["<h3>Flags raised</h3>", _link(files, FLAGS)]
        parts.append(table_html(pd.DataFrame(mon.flags, columns=FLAG_COLUMNS)))
    shown = mon.periods[[c for c in SHOWN if c in mon.periods.columns]]
    parts += [
        "<h3>Per period</h3>",
        _link(files, PERIODS),
        table_html(shown),
        f"<h3>How often each cell was flagged in the last {th.window} periods</h3>",
        _link(files, DISTRIBUTION),
        table_html(mon.distribution),
    ]
    if mon.groups is not None:
        # what the shares are over (none yet: right after a first publish nothing has ended)
        window = [] if mon.periods.empty else mon.periods["period"].tolist()[-th.window :]
        over = f": the last {len(window)} periods, {window[0]} to {window[-1]}" if window else ""
        parts += [
            f"<h3>Per group of the area layer{esc(over)}</h3>",
            _link(files, GROUPS),
            table_html(mon.groups),
        ]
    return parts


def _share(value: float | None) -> str:
    """A reference repeat share, or that it was not measured (never 0%)."""
    return "not measured" if value is None else f"{value:.0%}"


def _link(files: Collection[str], name: str) -> str:
    return data_link(name, ABOUT[name]) if name in files else ""


_SUMMARY_COLUMNS = [
    "model", "version", "as_of", "periods_served", "last_period", "flagged", "window",
    "repeat", "coverage", "pool", "reference_concentration", "reference_repeat_share",
    "reference_source", "notes",
]  # fmt: skip


def _summary(found: ModelMonitor) -> dict[str, object]:
    mon = found.monitor
    ref = mon.reference
    return {
        "model": found.name,
        "version": found.version,
        "as_of": found.as_of.date().isoformat(),
        "periods_served": found.periods_served,
        "last_period": mon.last_period,
        "flagged": mon.flagged,
        "window": mon.thresholds.window,
        "repeat": mon.thresholds.repeat,
        "coverage": mon.thresholds.coverage,
        "pool": mon.thresholds.pool,
        "reference_concentration": None if ref is None else ref.concentration,
        "reference_repeat_share": None if ref is None else ref.repeat_share,
        "reference_source": None if ref is None else ref.source,
        "notes": "; ".join(mon.notes),
    }


def _stack(
    found: list[ModelMonitor], part: Callable[[ModelMonitor], pd.DataFrame | None]
) -> pd.DataFrame:
    """``part(m)`` of every monitor, with ``model`` and ``version`` columns first."""
    frames = [
        frame.assign(model=m.name, version=m.version)
        for m in found
        if (frame := part(m)) is not None
    ]
    if not frames:
        return pd.DataFrame(columns=["model", "version"])
    out = pd.concat(frames, ignore_index=True)
    return out[["model", "version", *(c for c in out.columns if c not in ("model", "version"))]]
