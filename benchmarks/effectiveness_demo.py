"""A worked example of closing the loop on the synthetic city, with the figures it prints.

A year of Synthetica (seed 11, as the tests' year city). A LightGBM model of residential
burglary, fitted on the weeks before the first served one, is registered and served for the
last ``weeks + 1`` weeks as a service would serve it: each week the events so far are
published (``ServiceState.load_all``, one snapshot per week), and patrols are logged to the
served top 1% cells (two hours on each, Tuesday 10:00) through ``hotspots patrols import``.
Once the weeks have passed, ``hotspots report effectiveness`` scores what was served beside
the baselines and prints the dosage beside the crime that followed, and ``GET
/v1/effectiveness`` is asked of a service on the same records (its figures computed once,
timed). Timings are wall-clock on whatever machine runs it.

    .venv/bin/python benchmarks/effectiveness_demo.py [--weeks 8] [--out reports/effectiveness]
        [--resolution 8] [--horizon 4] [--keep DIR]

A larger case: ``--resolution 9 --weeks 26`` (3,311 cells, about 4x the resolution-8 ones; 27 weeks
served). ``--keep DIR`` keeps the records, to score them again with other code.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TARGET = "Burglary Residential"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "effectiveness")
    parser.add_argument("--resolution", type=int, default=8, help="H3 resolution of the model")
    parser.add_argument("--horizon", type=int, default=4, help="periods served ahead")
    parser.add_argument(
        "--keep",
        type=Path,
        help="serve into this folder and keep it; when it already holds the records, only "
        "score them again (time a change to the scoring on the same records)",
    )
    args = parser.parse_args()
    if args.keep is not None:
        run(args.keep, args.weeks, args.out, args.resolution, args.horizon)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(Path(tmp), args.weeks, args.out, args.resolution, args.horizon)


def run(root: Path, weeks: int, out: Path, resolution: int = 8, horizon: int = 4) -> None:
    from hotspots.config import Settings

    settings = Settings(
        models_dir=root / "models",
        state_dir=root / "state",
        events_path=root / "events.parquet",
        forecast_horizon=horizon,
    )
    served_s = None
    if not (root / "patrols.csv").is_file():
        served_s = serve_weeks(root, settings, weeks, resolution)
    state_flags = ["--state-dir", str(settings.state_dir), "--models-dir", str(settings.models_dir)]
    hotspots = str(Path(sys.executable).parent / "hotspots")
    started = time.perf_counter()
    subprocess.run(
        [hotspots, "report", "effectiveness", "--out", str(out), *state_flags,
         "--events", str(settings.events_path)],
        check=True,
    )  # fmt: skip
    report_s = time.perf_counter() - started
    api_s = time_api(settings)
    show(out, weeks, served_s, report_s)
    print(f"GET /v1/effectiveness (computed once, no cache): {api_s:.1f} s")


def serve_weeks(root: Path, settings: Any, weeks: int, resolution: int) -> float:
    """Fit, register and serve the model for the last ``weeks + 1`` weeks and import the
    patrols to its top 1%; the seconds the weekly publishes took."""
    from hotspots.features import events_to_panel
    from hotspots.forecasters import make_forecaster
    from hotspots.grid import cells_to_strings
    from hotspots.ingest import IngestOptions, ingest_file, write_events
    from hotspots.ingest.mapping import ColumnMap
    from hotspots.registry import Registry
    from hotspots.serving.state import ServiceState
    from hotspots.synthetic import COLUMN_MAP, TIMEZONE, generate_city, write_city

    city = generate_city(seed=11, start="2023-01-02", days=364, target_events=12_000)
    write_city(city, root / "city")
    options = IngestOptions(column_map=ColumnMap.parse(COLUMN_MAP), timezone=TIMEZONE)
    events = ingest_file(root / "city" / "events.csv.gz", options).events
    panel = events_to_panel(events, resolution, "W")
    first = panel.periods[-weeks - 1]  # the model never sees the weeks it serves
    model = make_forecaster("lightgbm", target=(TARGET,), n_estimators=100).fit(panel, first)
    spec = {
        "data": {"map": COLUMN_MAP, "timezone": TIMEZONE},
        "model": {"kind": "lightgbm"},
        "backtest": {"coverages": [0.01, 0.05], "select_coverage": 0.01},
    }
    Registry(root / "models").publish(
        "burglary", model, spec=spec, data={"timezone": TIMEZONE}, backtest={}
    )
    local = events["occurred_at"].dt.tz_localize(None)
    log = []
    started = time.perf_counter()
    for week in panel.periods[-weeks - 1 :]:
        write_events(events.loc[local < week].reset_index(drop=True), settings.events_path, {})
        state = ServiceState(settings)
        state.load_all()
        table = state.served["burglary"].snapshot.tables[0]
        top = max(1, round(0.01 * len(table)))
        day = (week + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
        log += [
            f"W{week:%Y%m%d}-{i},{c},{day} 10:00,{day} 12:00,unit{i % 4}"
            for i, c in enumerate(cells_to_strings(table.cell[:top]))
        ]
    served_s = time.perf_counter() - started
    write_events(events, settings.events_path, {})
    patrols = root / "patrols.tmp.csv"
    patrols.write_text("id,cells,start,end,unit\n" + "\n".join(log) + "\n", encoding="utf-8")
    state_flags = ["--state-dir", str(settings.state_dir), "--models-dir", str(settings.models_dir)]
    hotspots = str(Path(sys.executable).parent / "hotspots")
    subprocess.run([hotspots, "patrols", "import", str(patrols), *state_flags], check=True)
    patrols.rename(root / "patrols.csv")  # the records are whole: --keep scores them again
    return served_s


def time_api(settings: Any) -> float:
    """Seconds of the first ``GET /v1/effectiveness`` of a service on these records."""
    import warnings

    from hotspots.access.keys import KEYS_FILE, KeyStore
    from hotspots.service.app import create_app

    with warnings.catch_warnings():  # starlette asks for httpx2, not a dependency
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    key = KeyStore(settings.state_dir / KEYS_FILE).create("bench", ["forecasts:read"])[1]
    with TestClient(create_app(settings)) as client:
        started = time.perf_counter()
        answer = client.get("/v1/effectiveness", headers={"Authorization": f"Bearer {key}"})
        seconds = time.perf_counter() - started
    assert answer.status_code == 200, answer.text
    return seconds


def show(out: Path, weeks: int, served_s: float | None, report_s: float) -> None:
    periods = pd.read_csv(out / "periods.csv")
    one = periods.loc[(periods["cutoff"] == "1%") & (periods["horizon"] == 1)]
    wide = one.pivot_table(index="as_of", columns="source", values="pai")
    served = "kept records" if served_s is None else f"served {weeks + 1} weeks in {served_s:.1f} s"
    print(f"{served}; report in {report_s:.1f} s")
    print("realised PAI at 1% per week (served beside each baseline):")
    print(wide.round(2).to_string())
    mean = wide.mean()
    print("mean:", ", ".join(f"{k} {v:.2f}" for k, v in mean.items()))
    best = wide.drop(columns="served").max(axis=1)
    wins = int((wide["served"] > best).sum())
    print(f"weeks the served PAI beat the best baseline: {wins} of {len(wide)}")
    dosage = pd.read_csv(out / "dosage.csv")
    cols = ["as_of", "patrolled_cells", "patrol_minutes", "events_patrolled", "before_patrolled",
            "events_ring", "before_ring"]  # fmt: skip
    print(dosage[cols].round(2).to_string(index=False))
    print(pd.read_csv(out / "flags.csv").to_string(index=False))
    horizons = pd.read_csv(out / "horizons.csv").query("cutoff == '1%'")
    by = horizons.pivot_table(index="horizon", columns="source", values="pai")
    by.insert(0, "periods", horizons.groupby("horizon")["periods_with_events"].first())
    print("mean realised PAI at 1% by horizon (periods ahead of the as_of):")
    print(by.round(2).to_string())
    print("feedback-loop monitor (the figures /v1/monitor serves):")
    summary = pd.read_csv(out / "monitor_summary.csv")
    print(summary.drop(columns=["notes"]).round(2).to_string(index=False))
    monitor = pd.read_csv(out / "monitor_periods.csv")
    cols = ["period", "events", "flagged_cells", "repeat_share", "prior_event_share",
            "prior_area_share", "pooled_concentration", "patrol_minutes",
            "dosage_in_flagged_share"]  # fmt: skip
    print(monitor[[c for c in cols if c in monitor]].round(3).to_string(index=False))
    print(pd.read_csv(out / "monitor_flags.csv").to_string(index=False))
    print(f"report: {out / 'effectiveness.html'}")


if __name__ == "__main__":
    main()
