"""The effectiveness report: ``effectiveness.html`` (tables and plots inline) and one CSV per
table (``periods.csv``, ``dosage.csv``, ``cells.csv``, ``flags.csv``, ``pending.csv``,
``plans.csv``, ``unscored_plans.csv``, ``failures.csv``, ``horizons.csv``, and
``retraining.csv`` when given), written together atomically, in the style of the backtest
report (``evaluation.report``). A model whose figures could not be computed has a section
saying which part and why, and a row in ``failures.csv``; the other models are reported.
Forecasts and plans served for a later period (``horizon`` > 1) have rows of their own in
the CSVs and tables of their own on the page, beside the means per horizon."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from hotspots.atomic import atomic_path
from hotspots.errors import ConfigError
from hotspots.feedback.effectiveness import SERVED, Realised
from hotspots.feedback.failures import frame_to_failures
from hotspots.feedback.html_parts import cell_text as _cell
from hotspots.feedback.html_parts import data_link
from hotspots.feedback.html_parts import esc as _esc
from hotspots.feedback.html_parts import img_html as _img
from hotspots.feedback.html_parts import table_html as _table
from hotspots.feedback.monitor_served import ModelMonitor
from hotspots.feedback.realised_horizons import horizon_table
from hotspots.feedback.realised_io import DEFINITIONS, plans_evaluated
from hotspots.feedback.report_monitor import ABOUT as MONITOR_ABOUT
from hotspots.feedback.report_monitor import monitor_frames, monitor_html, verdict
from hotspots.feedback.report_plots import dosage_png, pai_png

TABLES = (
    "periods", "dosage", "cells", "patrol_time", "flags", "pending", "plans", "unscored_plans",
    "failures",
)  # fmt: skip
ABOUT = {
    "periods.csv": "realised hit rate, PAI and PEI of each served forecast and of each "
    "baseline for the same period, per cutoff and horizon",
    "dosage.csv": "patrol minutes per model and period, beside the crime in, around and away "
    "from the patrolled cells, and before (counts under HOTSPOTS_MIN_EVENTS_SHOWN empty)",
    "cells.csv": "each patrolled cell per period: minutes, events, events before (counts "
    "under HOTSPOTS_MIN_EVENTS_SHOWN empty)",
    "patrol_time.csv": "patrol minutes per period by place as the log named it (a plan or "
    "named area; cells or polygons pooled) and tactic, and their share of the period's minutes",
    "flags.csv": "per model: periods of realised PAI below the best baseline's, and the flag",
    "pending.csv": "served periods not scored yet, and why",
    "plans.csv": "each served patrol plan and each baseline's plan, scored on its period",
    "unscored_plans.csv": "recorded served plans not scored, and why",
    "failures.csv": "models (or parts of their figures) that could not be computed, and why",
    "horizons.csv": "means per horizon of the realised figures",
    "retraining.csv": "the versions hotspots retrain published, and why",
    **MONITOR_ABOUT,
}
"""What each CSV holds (the page's list of the data behind it)."""
_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
tr.flagged td { font-weight: bold; color: #a00; }
img { max-width: 100%; display: block; margin: 0.5em 0 1.5em; }
p.note { color: #555; font-size: 0.9em; }
p.data { font-size: 0.85em; margin: 0.2em 0; }
p.warning { font-weight: bold; color: #a00; border-left: 4px solid #a00; padding-left: 0.6em; }
"""


def write_effectiveness_report(
    realised: Realised,
    out_dir: Path,
    *,
    title: str,
    retraining: pd.DataFrame | None = None,
    monitors: Mapping[str, ModelMonitor] | None = None,
    served_baselines: Mapping[str, Mapping[str, str]] | None = None,
    warnings: Sequence[str] = (),
) -> dict[str, Path]:
    """Write the HTML page and the CSV tables into ``out_dir``; all are rendered first and
    renamed into place together, so a failure leaves none half-written; a table of the
    report's this run does not write (an earlier run's in the same folder) is removed, any
    other file left alone. ``retraining``:
    the versions ``hotspots retrain`` published and why (``retraining.csv`` and a section).
    ``monitors``: each model's feedback-loop monitor (``monitor_*.csv`` and a section).
    ``served_baselines``: per model, its versions that serve a baseline's map and which (the
    page says their rows equal that baseline's by construction). ``warnings``: what the
    reader must know first (lines at the top of the page)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"report folder {str(out)!r} exists and is not a folder")
    texts = {f"{name}.csv": getattr(realised, name).to_csv(index=False) for name in TABLES}
    texts["horizons.csv"] = horizons_frame(realised).to_csv(index=False)
    if retraining is not None:
        texts["retraining.csv"] = retraining.to_csv(index=False)
    if monitors is not None:
        texts |= {k: v.to_csv(index=False) for k, v in monitor_frames(monitors).items()}
    texts["effectiveness.html"] = render_html(
        realised,
        title=title,
        retraining=retraining,
        monitors=monitors,
        files=list(texts),
        served_baselines=served_baselines,
        warnings=warnings,
    )
    paths = {name: out / name for name in texts}
    with contextlib.ExitStack() as stack:
        for name, text in texts.items():
            tmp = stack.enter_context(atomic_path(paths[name]))
            tmp.write_text(text, encoding="utf-8")
    for stale in sorted(set(ABOUT) - set(texts)):  # an earlier report's, not this one's
        (out / stale).unlink(missing_ok=True)
    return paths


def render_html(
    realised: Realised,
    *,
    title: str,
    retraining: pd.DataFrame | None = None,
    monitors: Mapping[str, ModelMonitor] | None = None,
    files: Sequence[str] = (),
    served_baselines: Mapping[str, Mapping[str, str]] | None = None,
    warnings: Sequence[str] = (),
) -> str:
    """The page: the flags, per model the PAI per period beside the baselines and the
    dosage beside the crime that followed, then what is pending, the retraining and the
    feedback-loop monitor; ``files``: the CSVs written beside it (each linked)."""
    parts = [
        f"<h1>{_esc(title)}</h1>",
        *(f'<p class="warning">{_esc(w)}</p>' for w in warnings),
        *_files(files),
        "<h2>Flags</h2>",
        _link(files, "flags.csv"),
        _flags(realised.flags),
        *_monitor_flags(monitors or {}),
        *_failures(realised.failures, files),
    ]
    for name in sorted(set(realised.periods.get("model", []))):
        every = realised.periods.loc[realised.periods["model"] == name]
        cutoff = _cutoff(realised, name)
        periods = every.loc[every["horizon"] == 1]
        if len(periods):
            parts += [
                f"<h2>{_esc(name)}: realised PAI at {_esc(cutoff)} per period</h2>",
                *_same_as_baseline(name, (served_baselines or {}).get(name, {})),
                _link(files, "periods.csv"),
                _img(pai_png(periods, cutoff), f"realised PAI of {name}"),
                _table(_wide(periods, cutoff)),
            ]
        if (every["horizon"] > 1).any():
            parts += _later(name, every, cutoff)
        plans = realised.plans.loc[realised.plans["model"] == name]
        if len(plans):
            parts += [
                f"<h2>{_esc(name)}: the served patrol plans and the baselines' plans</h2>",
                _link(files, "plans.csv"),
                "<p>The plans evaluated:</p>",
                _table(_evaluated(plans)),
                _table(_plans_wide(plans)),
            ]
        dose = (
            realised.dosage.loc[realised.dosage["model"] == name] if len(realised.dosage) else None
        )
        if dose is not None and len(dose):
            parts += [
                f"<h2>{_esc(name)}: patrol dosage and the crime that followed</h2>",
                _link(files, "dosage.csv"),
                _img(dosage_png(dose), f"dosage of {name}"),
                _table(dose.drop(columns=["model"])),
                "<p>Where the time went, as the log named the places:</p>",
                _link(files, "patrol_time.csv"),
                _table(_where(realised.patrol_time.loc[realised.patrol_time["model"] == name])),
            ]
    names = set(realised.periods.get("model", []))
    for name in sorted({str(m) for m in realised.plans.get("model", [])} - names):
        plans = realised.plans.loc[realised.plans["model"] == name]
        parts += [
            f"<h2>{_esc(name)}: the served plans of several crime types and the baselines'</h2>",
            _link(files, "plans.csv"),
            _table(_evaluated(plans)),
            _table(_plans_wide(plans)),
        ]
    if len(realised.pending):
        parts += ["<h2>Not scored yet</h2>", _link(files, "pending.csv"), _table(realised.pending)]
    if len(realised.unscored_plans):
        parts += [
            "<h2>Served plans not scored</h2>",
            _link(files, "unscored_plans.csv"),
            _table(realised.unscored_plans),
        ]
    if retraining is not None:
        parts += [
            "<h2>Retraining (champion against challenger)</h2>",
            _link(files, "retraining.csv"),
            _retraining(retraining),
        ]
    for name in sorted(monitors or {}):
        parts += monitor_html((monitors or {})[name], files)
    parts.append(f'<p class="note">{_esc(DEFINITIONS)}</p>')
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(parts)
        + "\n</body>\n</html>\n"
    )


def _cutoff(realised: Realised, name: str) -> str:
    """The model's flag cutoff (the first of its periods' when it has no flag)."""
    flags = realised.flags.loc[realised.flags["model"] == name, "cutoff"]
    if len(flags):
        return str(flags.iloc[0])
    return str(realised.periods.loc[realised.periods["model"] == name, "cutoff"].iloc[0])


def horizons_frame(realised: Realised) -> pd.DataFrame:
    """``horizon_table`` of every model (``horizons.csv``)."""
    frames = [
        horizon_table(
            realised.periods.loc[realised.periods["model"] == name], _cutoff(realised, name)
        ).assign(model=name)
        for name in sorted(set(realised.periods.get("model", [])))
    ]
    if not frames:
        return horizon_table(realised.periods).assign(model=pd.Series(dtype=object))
    out = pd.concat(frames, ignore_index=True)
    return out[["model", *(c for c in out.columns if c != "model")]]


def _same_as_baseline(name: str, versions: Mapping[str, str]) -> list[str]:
    """A line for the versions of ``name`` that serve a baseline's map: their served figures
    and that baseline's are one forecast, so equal rows there are no fault."""
    if not versions:
        return []
    which = "; ".join(f"{v}: {kind}" for v, kind in sorted(versions.items()))
    return [
        f"<p>Versions of {_esc(name)} that serve a baseline's map ({_esc(which)}): the served "
        "figures of their periods are that map's, the same forecast as its row among the "
        "baselines where it has one (the training's backtest found no model that beat it).</p>"
    ]


def _later(name: str, periods: pd.DataFrame, cutoff: str) -> list[str]:
    """The means per horizon, then one table per later horizon (by the period scored)."""
    means = horizon_table(periods, cutoff).round(3)
    parts = [
        f"<h2>{_esc(name)}: realised figures at {_esc(cutoff)} by horizon</h2>",
        "<p>Horizon 1 is the next period; h is a forecast served h periods ahead of its "
        "as_of, beside each baseline forecasting as far ahead from the same as_of.</p>",
        _table(means),
    ]
    for _, part in periods.loc[periods["horizon"] > 1].groupby("horizon", sort=True):
        wide = _wide(part, cutoff, "period_start").rename(columns={"as_of": "period"})
        ahead = int(part["horizon"].iloc[0])
        parts += [f"<h3>{_esc(name)}: PAI of forecasts {ahead} periods ahead</h3>", _table(wide)]
    return parts


def _wide(periods: pd.DataFrame, cutoff: str, by: str = "as_of") -> pd.DataFrame:
    """PAI per period (rows) and source (columns) at one cutoff, with the events."""
    rows = periods.loc[periods["cutoff"] == cutoff]
    wide = rows.pivot_table(index=by, columns="source", values="pai", aggfunc="first")
    order = [SERVED, *sorted(c for c in wide.columns if c != SERVED)]
    wide = wide[[c for c in order if c in wide.columns]].round(2)
    events = rows.groupby(by)["n_events"].first()
    wide.insert(0, "events", events)
    wide.index = [pd.Timestamp(t).strftime("%Y-%m-%d") for t in wide.index]
    return wide.reset_index(names="as_of")


def _evaluated(plans: pd.DataFrame) -> pd.DataFrame:
    """``plans_evaluated`` as a table: per horizon, kind and parameters, the count and the
    mean plan hit rate and PAI of the served plans, and each baseline's mean plan PAI."""
    rows = []
    for row in plans_evaluated(plans):
        served = row.pop("served_mean") or {}
        baselines = row.pop("baselines_mean")
        row["served hit rate"] = served.get("plan_hit_rate")
        row["served PAI"] = served.get("plan_pai")
        rows.append(row | {f"PAI {b}": m["plan_pai"] for b, m in sorted(baselines.items())})
    return pd.DataFrame(rows)


def _plans_wide(plans: pd.DataFrame) -> pd.DataFrame:
    """Plan PAI per served plan (rows: horizon, as_of, period, stored or rebuilt, ETag) and source
    (columns), with the served plan's areas, km2, hit rate and capture ratio (plan events
    over the top cells' of the same km2)."""
    keyed = plans.assign(
        as_of=[pd.Timestamp(t).strftime("%Y-%m-%d") for t in plans["as_of"]],
        period_start=[pd.Timestamp(t).strftime("%Y-%m-%d") for t in plans["period_start"]],
        etag=[str(e).strip('"')[:12] if isinstance(e, str) else "" for e in plans["etag"]],
    )
    index = ["horizon", "as_of", "period_start", "plan", "etag"]
    wide = keyed.pivot_table(index=index, columns="source", values="plan_pai", aggfunc="first")
    order = [SERVED, *sorted(c for c in wide.columns if c != SERVED)]
    wide = wide[[c for c in order if c in wide.columns]].round(2)
    wide.columns = [f"PAI {c}" for c in wide.columns]
    mine = keyed.loc[keyed["source"] == SERVED].set_index(index)
    top = mine["top_hits"].astype(float)
    front = pd.DataFrame(
        {
            "stop": mine["stop"],
            "events": mine["n_events"],
            "areas": mine["areas"],
            "km2": mine["area_km2"].astype(float).round(2),
            "served hit rate": mine["plan_hit_rate"].astype(float).round(3),
            "capture": (mine["plan_hits"].astype(float) / top.where(top > 0)).round(2),
        }
    )
    return front.join(wide, how="outer").reset_index()


def _where(time: pd.DataFrame) -> pd.DataFrame:
    """Per period: the patrol minutes by how the log gave the place, and the areas named."""
    if time.empty:
        return pd.DataFrame()
    wide = time.pivot_table("minutes", "as_of", "place_kind", aggfunc="sum", fill_value=0.0)
    named = time.loc[time["place_kind"] == "area"].groupby("as_of")["place"].nunique()
    out = pd.DataFrame({"minutes": wide.sum(axis=1), "areas named": named}).fillna(0)
    out = out.join(wide.rename(columns=lambda kind: f"minutes by {kind}"))
    return out.reset_index()


def _flags(flags: pd.DataFrame) -> str:
    if flags.empty:
        return "<p>No model has a scored period yet.</p>"
    head = "".join(f"<th>{_esc(c)}</th>" for c in flags.columns)
    rows = []
    for _, row in flags.iterrows():
        css = ' class="flagged"' if bool(row["flagged"]) else ""
        cells = "".join(f"<td>{_esc(_cell(v))}</td>" for v in row)
        rows.append(f"<tr{css}>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _files(files: Sequence[str]) -> list[str]:
    """The list of the CSVs beside the page, each linked, with what it holds."""
    csvs = [f for f in files if f.endswith(".csv")]
    if not csvs:
        return []
    items = "".join(
        f'<li><a href="{_esc(quote(f))}">{_esc(f)}</a>: {_esc(ABOUT.get(f, ""))}</li>' for f in csvs
    )
    return ["<h2>The data behind this page</h2>", f"<ul>{items}</ul>"]


def _link(files: Sequence[str], name: str) -> str:
    """A link to the CSV ``name`` behind a table, when it is written beside the page."""
    return data_link(name, ABOUT.get(name, "")) if name in files else ""


def _monitor_flags(monitors: Mapping[str, ModelMonitor]) -> list[str]:
    """The feedback-loop warnings of the last period, at the top of the page."""
    said = [verdict(monitors[name]) for name in sorted(monitors)]
    return [f'<p class="warning">{_esc(words)}</p>' for flagged, words in said if flagged]


def _failures(failures: pd.DataFrame, files: Sequence[str]) -> list[str]:
    """A section per model with a part not computed: which part and why, one line each
    (the rest of the page holds the other models, and this model's other parts)."""
    found = frame_to_failures(failures)
    parts = []
    for name in sorted({f.model for f in found}):
        parts += [f"<h2>{_esc(name)}: not reported in full</h2>", _link(files, "failures.csv")]
        parts += [f'<p class="warning">{_esc(f.line())}</p>' for f in found if f.model == name]
    return parts


def _retraining(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "<p>No version was published by <code>hotspots retrain</code>.</p>"
    return _table(frame)
