"""Backtest reports: ``report.json`` and one self-contained ``report.html`` with its plots."""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from hotspots.atomic import atomic_path
from hotspots.errors import ConfigError, DataValidationError
from hotspots.evaluation.metrics import Cutoff
from hotspots.evaluation.result import BacktestResult, jsonable

_NO_META: Mapping[str, Any] = MappingProxyType({})
_DIGITS = {"hit_rate": 3, "pai": 2, "pei": 3, "deviance": 3}
_HEADERS = {
    "hit_rate": "Hit rate",
    "pai": "PAI",
    "pei": "PEI",
    "deviance": "Poisson deviance",
}
_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
tr.best td { font-weight: bold; }
tr.reference td { font-style: italic; background: #f8f8f0; }
img { max-width: 100%; display: block; margin: 0.5em 0 1.5em; }
p.note { color: #555; font-size: 0.9em; }
"""
_DEFINITIONS = (
    "Cells are ranked by forecast count (ties by cell id). Hit rate: share of the period's "
    "events in the flagged cells. PAI: hit rate divided by the share of the area flagged "
    "(1 = random). PEI: events caught over the most any equally many cells caught (1 = "
    "perfect). Periods without events are left out of the means. Intervals: 95% bootstrap "
    "over folds. Deviance: mean Poisson deviance per cell (lower is better)."
)


@dataclass(frozen=True)
class ReportText:
    """A backtest report rendered: the text of ``report.json`` and of ``report.html``."""

    json: str
    html: str


def render_report(
    result: BacktestResult,
    *,
    title: str,
    meta: Mapping[str, Any] = _NO_META,
    feature_importance: Mapping[str, pd.Series] | None = None,
) -> ReportText:
    """``report.json`` (title, meta and ``result.to_dict()``) and ``report.html``, rendered
    in memory (the plots take most of the time: a cluster renders them on a worker)."""
    payload = {"title": title, "meta": jsonable(dict(meta)), "result": result.to_dict()}
    json_text = json.dumps(payload, indent=1, allow_nan=False) + "\n"
    html_text = render_html(result, title=title, meta=meta, feature_importance=feature_importance)
    return ReportText(json_text, html_text)


def write_report(
    result: BacktestResult,
    out_dir: Path,
    *,
    title: str,
    meta: Mapping[str, Any] = _NO_META,
    feature_importance: Mapping[str, pd.Series] | None = None,
) -> dict[str, Path]:
    """Write ``report.json`` and ``report.html`` (``render_report``); returns ``{"json":
    ..., "html": ...}``."""
    text = render_report(result, title=title, meta=meta, feature_importance=feature_importance)
    return write_report_text(text, out_dir)


def write_report_text(text: ReportText, out_dir: Path) -> dict[str, Path]:
    """Write a rendered report as ``report.json`` and ``report.html`` in ``out_dir``.

    Both are written atomically together: on any error neither file is replaced and no
    temporary file is left. Returns ``{"json": ..., "html": ...}``.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"report folder {str(out)!r} exists and is not a folder")
    paths = {"json": out / "report.json", "html": out / "report.html"}
    # nested: the html is renamed into place first, then the json; a failure anywhere before
    # the last rename removes both temporary files
    with atomic_path(paths["json"]) as json_tmp, atomic_path(paths["html"]) as html_tmp:
        json_tmp.write_text(text.json, encoding="utf-8")
        html_tmp.write_text(text.html, encoding="utf-8")
    return paths


def render_html(
    result: BacktestResult,
    *,
    title: str,
    meta: Mapping[str, Any] = _NO_META,
    feature_importance: Mapping[str, pd.Series] | None = None,
) -> str:
    """The report page: tables, plots as inline base64 PNG, every text HTML-escaped."""
    from hotspots.evaluation import plots  # matplotlib loads only when a report is drawn

    first = result.cutoffs[0]
    map_cutoff = next((c for c in result.cutoffs if c.kind == "coverage"), first)
    best = _best_or_first(result, map_cutoff)
    parts = [
        f"<h1>{_esc(title)}</h1>",
        f"<p>{_esc(_overview(result))}</p>",
        "<h2>Model comparison</h2>",
        *(_comparison(result, c) for c in result.cutoffs),
        "<h2>Hit rate and PAI against area flagged</h2>",
        _img(plots.curves_png(result), "hit rate and PAI curves"),
        f"<h2>Last period: {_esc(best)}'s top cells and the events</h2>",
        f"<p>{_esc(_map_caption(result, best, map_cutoff))}</p>",
        _img(plots.last_fold_map_png(result, best, map_cutoff), "map of the last fold"),
        f"<h2>PAI per period at {_esc(first.label)}</h2>",
        _img(plots.pai_series_png(result, first), "PAI per period"),
        _plans(result),
        "<h2>Calibration</h2>",
        _img(plots.calibration_png(result), "calibration"),
        _totals(result),
        *_importance(feature_importance, plots.importance_png),
        "<h2>Specification</h2>",
        _meta_table(meta),
        f'<p class="note">{_esc(_DEFINITIONS)}</p>',
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(p for p in parts if p)
        + "\n</body>\n</html>\n"
    )


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _map_caption(result: BacktestResult, model: str, cutoff: Cutoff) -> str:
    """Which period the map shows and why this model: the highest mean PAI at the map's
    coverage, which need not be the model a training run publishes."""
    start = result.last_fold.as_of.date()
    return (
        f"The last fold: the {_PERIOD_NAMES.get(result.freq, result.freq)} starting {start}. "
        f"{model} has the highest mean PAI at {cutoff.label} over the folds above; the model "
        "published (see Specification) is chosen on the selection folds before them."
    )


_PERIOD_NAMES = {"D": "day", "W": "week", "M": "month"}


def _best_or_first(result: BacktestResult, cutoff: Cutoff) -> str:
    try:
        return result.best("pai", cutoff)
    except DataValidationError:  # no fold had events: any model shows the same empty map
        return result.models[0]


def _overview(result: BacktestResult) -> str:
    folds = result.folds
    n_fits = len({f.fit_until for f in folds})
    return (
        f"Target: {', '.join(result.target)}. {len(folds)} folds forecasting the periods "
        f"{folds[0].as_of.date()} to {folds[-1].as_of.date()} ('{result.freq}'), "
        f"{n_fits} fit(s) per model, {result.n_cells} H3 cells at resolution "
        f"{result.resolution}. Models: {', '.join(result.models)}."
        + (
            f" References (scored like a model, never published): {', '.join(result.references)}"
            "; the oracle ranks cells by the true expected counts, the best any model can do "
            "on average."
            if result.references
            else ""
        )
    )


def _number(value: Any, digits: int) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{float(value):.{digits}f}"


def _comparison(result: BacktestResult, cutoff: Cutoff) -> str:
    """One table: models by row, each metric as ``mean [low, high]``; best PAI in bold.

    References follow the models, in italics, and each adds a column: every row's PAI as a
    share of that reference's.
    """
    table = result.table(cutoff, references=True)
    k = cutoff.k(result.n_cells)
    heading = (
        f"{cutoff.label} of the study area ({k} cells)"
        if cutoff.kind == "coverage"
        else f"Top {k} cells"
    )
    best = _best_or_first(result, cutoff)
    head = "".join(f"<th>{_esc(_HEADERS[m])} [95% CI]</th>" for m in _DIGITS)
    head += "".join(f"<th>PAI / {_esc(ref)}</th>" for ref in result.references)
    rows = []
    for name, row in table.iterrows():
        cells = "".join(
            f"<td>{_number(row[m], d)} [{_number(row[f'{m}_ci_low'], d)}, "
            f"{_number(row[f'{m}_ci_high'], d)}]</td>"
            for m, d in _DIGITS.items()
        )
        cells += "".join(
            f"<td>{_number(_share(row['pai'], table.loc[ref, 'pai']), 3)}</td>"
            for ref in result.references
        )
        folds = f"{int(row['n_folds'])} ({int(row['n_excluded'])})"
        is_ref = name in result.references
        mark = ' class="reference"' if is_ref else (' class="best"' if name == best else "")
        label = f"{name} (reference)" if is_ref else name
        rows.append(f"<tr{mark}><td>{_esc(label)}</td>{cells}<td>{folds}</td></tr>")
    return (
        f"<h3>{_esc(heading)}</h3>\n<table>\n<tr><th>Model</th>{head}"
        "<th>Folds (no events)</th></tr>\n" + "\n".join(rows) + "\n</table>"
    )


def _share(value: Any, of: Any) -> float:
    """``value / of``, NaN where ``of`` is not a positive number."""
    return float(value) / float(of) if float(of) > 0 else float("nan")


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{_esc(alt)}" src="data:image/png;base64,{data}">'


def _plans(result: BacktestResult) -> str:
    """Patrol plans against the top cells of the same area: per model, then per fold of the
    best model (empty when the backtest scored no plans)."""
    from hotspots.evaluation.plans import plan_summary

    if result.plans.empty or result.plan_budget is None:
        return ""
    b = result.plan_budget
    limit = f"at most {b['max_area_km2']:g} km2 each" if b.get("max_area_km2") else ""
    total = f"{b['total_km2']:g} km2 in all" if b.get("total_km2") else ""
    budget = f"{b['areas']} areas of {' and '.join(x for x in (limit, total) if x)}"
    summary = plan_summary(result.plans)
    cols = (("plan_hit_rate", 3), ("top_hit_rate", 3), ("plan_pai", 2), ("top_pai", 2),
            ("capture_ratio", 3), ("forecast_ratio", 3))  # fmt: skip
    rows = "".join(
        f"<tr><td>{_esc(name)}</td><td>{_number(row['area_km2'], 2)}</td>"
        + "".join(f"<td>{_number(row[c], d)}</td>" for c, d in cols)
        + "</tr>"
        for name, row in summary.iterrows()
    )
    best = _best_or_first(result, result.cutoffs[0])
    mine = result.plans[result.plans["model"] == best]
    fold_rows = "".join(
        f"<tr><td>{_esc(pd.Timestamp(day).date())}</td><td>{n}</td><td>{km2:.2f}</td>"
        f"<td>{hits}</td><td>{top:.1f}</td>"
        f"<td>{_number(hits / top if top else math.nan, 3)}</td></tr>"
        for day, n, km2, hits, top in zip(
            mine["as_of"].tolist(),
            mine["n_events"].tolist(),
            mine["area_km2"].tolist(),
            mine["plan_hits"].tolist(),
            mine["top_hits"].tolist(),
            strict=True,
        )
    )
    return (
        f"<h2>Patrol plans against the top cells of the same area ({_esc(budget)})</h2>\n"
        f'<p class="note">{_esc(_PLAN_NOTE)}</p>\n<table>\n<tr><th>Model</th><th>km2</th>'
        "<th>Hit rate, plan</th><th>Hit rate, top cells</th><th>PAI, plan</th>"
        "<th>PAI, top cells</th><th>Capture ratio (events)</th><th>Capture ratio (forecast)"
        f"</th></tr>\n{rows}\n</table>\n<h3>Per fold: {_esc(best)}</h3>\n<table>\n<tr>"
        "<th>as_of</th><th>Events</th><th>km2</th><th>Events in the plan</th>"
        f"<th>Events in the top cells</th><th>Ratio</th></tr>\n{fold_rows}\n</table>"
    )


_PLAN_NOTE = (
    "Each fold's forecast is turned into contiguous, non-overlapping patrol areas (greedy region "
    "growing over H3 neighbours, as hotspots plan and /v1/plans/latest build them); the top "
    "cells are the highest-forecast cells of the same total km2, scattered (the last one in "
    "part, to cover exactly that km2). Capture ratio: "
    "events in the plans over events in the top cells, summed over folds (1 = contiguity costs "
    "nothing); the forecast ratio is the same for the forecast the areas were grown on."
)


def _totals(result: BacktestResult) -> str:
    rows = "".join(
        f"<tr><td>{_esc(name)}</td><td>{cal.total_predicted:.1f}</td>"
        f"<td>{cal.total_observed:.0f}</td></tr>"
        for name, cal in result.calibration.items()
    )
    return (
        "<table>\n<tr><th>Model</th><th>Predicted events, all folds</th>"
        f"<th>Observed events</th></tr>\n{rows}\n</table>"
    )


def _importance(
    importance: Mapping[str, pd.Series] | None, draw: Callable[[str, pd.Series], bytes]
) -> list[str]:
    given = {name: s for name, s in (importance or {}).items() if len(s)}
    if not given:
        return []
    out = ["<h2>Feature importance</h2>"]
    out += [_img(draw(name, s), f"feature importance of {name}") for name, s in given.items()]
    return out


def _meta_table(meta: Mapping[str, Any]) -> str:
    if not meta:
        return '<p class="note">No specification given.</p>'
    rows = "".join(
        f"<tr><td>{_esc(key)}</td><td>{_esc(_meta_text(value))}</td></tr>"
        for key, value in meta.items()
    )
    return f"<table>\n<tr><th>Setting</th><th>Value</th></tr>\n{rows}\n</table>"


def _meta_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(jsonable(value), ensure_ascii=False)
