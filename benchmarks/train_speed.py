"""Training benchmark: LightGBMForecaster on ~15,000 cells x 156 weeks (~2.3 million rows).

Synthetica's box is fixed (about 5,500 resolution-9 cells), so the panel is built here: the
resolution-9 cells within 70 steps of a point (14,911 contiguous cells), five categories, and
Poisson counts around a Poisson-gamma intensity (a smooth lognormal map of places x a yearly
rhythm x gamma noise per cell and week), about 150,000 events a year.

Prints seconds, rows, features and peak RSS for the feature build alone and for
``fit`` (features + LightGBM), one ``predict`` and publishing the forecast document of every
cell (``publish_forecast``: ranked cells with intervals, relative risk and reasons, serialised
as JSON and GeoJSON, what a service does on each new model or events). The point process
(``hawkes``) needs events known to the day, which this panel of counts has not: it is fitted
on Synthetica's events instead (about 150,000 simulated over two years, ingested here as the
accuracy suite and ``make demo`` ingest them, boundary included: 136,045 once the defective
rows and the officer-initiated types are left out), over every crime type kept. Each stage
runs in its own process so its peak RSS is its own. Targets: fit <= 60 s, one predict <= 1 s,
the document <= 10 s, the point process's fit on 150,000 events within a few minutes (<= 180 s
here).

    .venv/bin/python benchmarks/train_speed.py [--k 70] [--weeks 156] [--events-per-year 150000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

from ingest import machine, peak_rss_mb

CENTER = (51.5, -0.12)  # lat, lng of the disk's centre
SHARES = (0.35, 0.25, 0.2, 0.12, 0.08)  # of all events, per category


def make_panel(k: int, weeks: int, events_per_year: float, seed: int = 0) -> Any:
    """A weekly resolution-9 panel over grid_disk(k) with a Poisson-gamma intensity."""
    import h3
    import numpy as np
    import pandas as pd

    from hotspots.features import Panel
    from hotspots.grid import grid_disk_cells

    rng = np.random.default_rng(seed)
    centre = h3.str_to_int(h3.latlng_to_cell(*CENTER, 9))
    cells = grid_disk_cells(np.array([centre], dtype=np.uint64), k)
    n = cells.size
    from hotspots.features.lags import neighbours_of

    ring = neighbours_of(cells, 9).ring1
    place = rng.normal(0.0, 1.0, n)
    for _ in range(3):  # smooth the map so places cluster like neighbourhoods do
        place = (place + ring @ place) / (1 + ring.sum(axis=1).A1)
    place = np.exp(1.6 * place / place.std())
    week = np.arange(weeks)
    season = 1.0 + 0.15 * np.sin(2 * np.pi * week / 52.18)
    counts = np.empty((len(SHARES), weeks, n), dtype=np.int32)
    scale = events_per_year / 52.18 / place.sum()
    for c, share in enumerate(SHARES):
        own = place * rng.gamma(4.0, 0.25, n)  # each category has its own places
        noise = rng.gamma(2.0, 0.5, (weeks, n))  # Poisson-gamma: overdispersed counts
        lam = share * scale * season[:, None] * own[None, :] * noise
        counts[c] = rng.poisson(lam)
    periods = pd.date_range("2022-01-03", periods=weeks, freq="7D")
    categories = ("Assault", "Theft", "Burglary", "Criminal Damage", "Robbery")
    return Panel(counts, cells, periods, categories, "W", 9)


def stage_features(args: argparse.Namespace) -> dict[str, Any]:
    from hotspots.features.matrix import FeatureBuilder, FeatureOptions
    from hotspots.forecasters.lgbm import LightGBMForecaster

    panel = make_panel(args.k, args.weeks, args.events_per_year)
    model = LightGBMForecaster()
    t = time.perf_counter()
    builder = FeatureBuilder(
        panel.cells,
        panel.resolution,
        panel.freq,
        panel.categories,
        panel.categories,
        FeatureOptions(related=model.related, near_repeat=model.near_repeat),
    )
    train = builder.training_set(
        panel.counts,
        panel.total(),
        panel.periods,
        min_history=model.min_history,
        zero_row_fraction=model.zero_row_fraction,
    )
    seconds = time.perf_counter() - t
    return {
        "seconds": seconds,
        "rows": int(train.y.size),
        "candidates": train.n_candidates,
        "features": len(train.names),
        "cells": int(panel.cells.size),
        "events": int(panel.counts.sum()),
        "rss_mb": peak_rss_mb(),
    }


def after_last_period(panel: Any) -> Any:
    """The start of the period after the panel's last: a forecast of the next period."""
    import pandas as pd

    from hotspots.forecasters.origin import next_period_start

    return next_period_start(panel.periods[-1] + pd.Timedelta(days=1), panel.freq)


def stage_fit(args: argparse.Namespace) -> dict[str, Any]:
    from hotspots.forecasters.lgbm import LightGBMForecaster

    panel = make_panel(args.k, args.weeks, args.events_per_year)
    t = time.perf_counter()
    model = LightGBMForecaster().fit(panel)
    fit_seconds = time.perf_counter() - t
    as_of = after_last_period(panel)
    model.predict(panel, as_of)  # warm: builds the cached neighbour tables once
    t = time.perf_counter()
    frame = model.predict(panel, as_of)
    predict_seconds = time.perf_counter() - t
    from hotspots.publishing.forecast_document import publish_forecast

    t = time.perf_counter()
    snap = publish_forecast(model, panel, name="bench", version="1", as_of=as_of)
    publish_seconds = time.perf_counter() - t
    top = model.feature_importances().head(5)
    return {
        "fit_seconds": fit_seconds,
        "predict_seconds": predict_seconds,
        "publish_seconds": publish_seconds,
        "published_cells": snap.n_cells,
        "rows": model.n_train_rows_,
        "features": len(model.feature_names_),
        "predicted_rows": len(frame),
        "top_features": [f"{k} {v:.0f}" for k, v in top.items()],
        "rss_mb": peak_rss_mb(),
    }


def stage_hawkes(args: argparse.Namespace) -> dict[str, Any]:
    import tempfile
    from pathlib import Path

    from accuracy_data import synthetic_city
    from hotspots.features.panel import events_to_panel
    from hotspots.forecasters.hawkes import SelfExcitingForecaster
    from hotspots.ingest import ingest_file
    from hotspots.jobs.data import ingest_options

    with tempfile.TemporaryDirectory() as tmp:
        city = synthetic_city(0, Path(tmp))  # as the accuracy suite and `make demo` ingest it
        events = ingest_file(city["events"], ingest_options(**city["data"])).events
    panel = events_to_panel(events, 9, "W")
    t = time.perf_counter()
    model = SelfExcitingForecaster().fit(panel)
    fit_seconds = time.perf_counter() - t
    as_of = after_last_period(panel)
    t = time.perf_counter()
    model.predict(panel, as_of)
    return {
        "fit_seconds": fit_seconds,
        "predict_seconds": time.perf_counter() - t,
        "events": int(panel.counts.sum()),
        "cells": int(panel.cells.size),
        "weeks": len(panel.periods),
        "fitted": {k: round(v, 3) for k, v in model.fitted_in_words().items()},
        "rss_mb": peak_rss_mb(),
    }


STAGES = {"features": stage_features, "fit": stage_fit, "hawkes": stage_hawkes}


def run_stage(stage: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--stage", stage, "--k", str(args.k)]
    cmd += ["--weeks", str(args.weeks), "--events-per-year", str(args.events_per_year)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=70, help="grid_disk radius (70: 14,911 cells)")
    ap.add_argument("--weeks", type=int, default=156)
    ap.add_argument("--events-per-year", type=float, default=150_000)
    ap.add_argument("--stage", choices=list(STAGES), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stage:
        print(json.dumps(STAGES[args.stage](args)))
        return
    load_before = os.getloadavg()[0]
    feats, fit = run_stage("features", args), run_stage("fit", args)
    hawkes = run_stage("hawkes", args)
    import lightgbm

    print(f"machine: {machine()} | lightgbm {lightgbm.__version__}")
    print(
        f"load average (1 min) before {load_before:.2f}, after {os.getloadavg()[0]:.2f}: "
        "other work on the 2 cores slows every figure below"
    )
    print(
        f"panel: {feats['cells']:,} cells x {args.weeks} weeks, 5 categories, "
        f"{feats['events']:,} events"
    )
    print(
        f"feature build   {feats['seconds']:6.2f} s   {feats['rows']:,} rows of "
        f"{feats['candidates']:,} x {feats['features']} features   peak RSS "
        f"{feats['rss_mb']:6.0f} MB"
    )
    ok = "met" if fit["fit_seconds"] <= 60 else "NOT met"
    print(
        f"fit (default)   {fit['fit_seconds']:6.2f} s   {fit['rows']:,} rows x "
        f"{fit['features']} features   peak RSS {fit['rss_mb']:6.0f} MB (target <= 60 s: {ok})"
    )
    ok = "met" if fit["predict_seconds"] <= 1 else "NOT met"
    print(
        f"predict, 1 week {fit['predict_seconds']:6.2f} s   {fit['predicted_rows']:,} rows "
        f"(target <= 1 s: {ok})"
    )
    ok = "met" if fit["publish_seconds"] <= 10 else "NOT met"
    print(
        f"publish, 1 week {fit['publish_seconds']:6.2f} s   {fit['published_cells']:,} cells "
        f"ranked with reasons, JSON + GeoJSON (target <= 10 s: {ok})"
    )
    print(f"top features by gain: {', '.join(fit['top_features'])}")
    ok = "met" if hawkes["fit_seconds"] <= 180 else "NOT met"
    print(
        f"hawkes fit      {hawkes['fit_seconds']:6.2f} s   {hawkes['events']:,} Synthetica events, "
        f"{hawkes['cells']:,} cells x {hawkes['weeks']} weeks, every type   peak RSS "
        f"{hawkes['rss_mb']:6.0f} MB (target <= 180 s: {ok}); predict "
        f"{hawkes['predict_seconds']:.2f} s; fitted {hawkes['fitted']}"
    )


if __name__ == "__main__":
    main()
