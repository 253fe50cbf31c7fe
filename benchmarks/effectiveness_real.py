"""The effectiveness report and the feedback-loop monitor timed on a real export: Chicago's
aggravated assaults (``/work/shared/data``, read as ``accuracy_data`` reads it), a year of
weekly forecasts served and scored.

A LightGBM model (100 trees) is fitted on the weeks before the first served one and
registered; the publishing code serves it each week of the year (``publish_forecast`` into
the snapshot store, ``HOTSPOTS_FORECAST_HORIZON`` periods ahead each time); patrols of two
hours are logged to the served top 1% each Tuesday (a simulated log: Chicago's is not
public) through ``hotspots patrols import``. Then, timed: ``hotspots report effectiveness``
(a subprocess, as an analyst runs it), the first ``GET /v1/monitor`` and the first ``GET
/v1/effectiveness`` of a service on the same records (uncached). Skips with a reason when the
export is absent.

    nice -n 10 .venv/bin/python benchmarks/effectiveness_real.py [--weeks 52] [--year 2019]
        [--resolution 9] [--history-years 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out" / "accuracy"
NAME = "assault"


def machine_line() -> str:
    """Where the figures were measured (``ingest.machine``), with the load and the niceness."""
    from ingest import machine

    load = os.getloadavg()
    return (
        f"{machine()} | load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} | nice {os.nice(0)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--year", type=int, default=2019, help="the first served week's year")
    parser.add_argument("--resolution", type=int, default=9)
    parser.add_argument("--history-years", type=int, default=3, help="years the model fits on")
    parser.add_argument("--keep", type=Path, help="serve into this folder and keep it")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from accuracy_cases import SOURCES

    export = SOURCES["chicago"].path
    if not export.is_file():
        print(f"skipped: the Chicago export {export} is absent")
        return
    print(machine_line())
    if args.keep is not None:
        run(args.keep, args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(Path(tmp), args)


def run(root: Path, args: Any) -> None:
    from hotspots.config import Settings

    settings = Settings(
        models_dir=root / "models", state_dir=root / "state", events_path=root / "events.parquet"
    )
    if not (root / "patrols.csv").is_file():
        serve_year(root, settings, args)
    out = root / "report"
    hotspots = str(Path(sys.executable).parent / "hotspots")
    started = time.perf_counter()
    cpu = _children_cpu()
    subprocess.run(
        [hotspots, "report", "effectiveness", "--out", str(out), "--state-dir",
         str(settings.state_dir), "--models-dir", str(settings.models_dir), "--events",
         str(settings.events_path), "--monitor-periods", str(args.weeks + 1)],
        check=True,
    )  # fmt: skip
    report_s, report_cpu = time.perf_counter() - started, _children_cpu() - cpu
    monitor_s, effectiveness_s = time_api(settings, args.weeks + 1)
    show(out)
    print(
        f"hotspots report effectiveness: {report_s:.1f} s wall, {report_cpu:.1f} s CPU; "
        f"GET /v1/monitor (first, uncached): {monitor_s:.1f} s; GET /v1/effectiveness "
        f"(first, uncached): {effectiveness_s:.1f} s"
    )
    print(machine_line())


def _children_cpu() -> float:
    usage = os.times()
    return usage.children_user + usage.children_system


def serve_year(root: Path, settings: Any, args: Any) -> None:
    """Ingest, fit, register, serve ``args.weeks`` weeks and import the patrols."""
    from accuracy_data import event_table
    from hotspots.features import events_to_panel
    from hotspots.forecasters import make_forecaster
    from hotspots.grid import cells_to_strings
    from hotspots.ingest import read_events, write_events
    from hotspots.publishing.forecast_document import publish_forecast
    from hotspots.publishing.snapshot_store import SnapshotStore
    from hotspots.registry import Registry

    started = time.perf_counter()
    table, _ = event_table("chicago", OUT)
    events, _ = read_events(table)
    first = pd.Timestamp(f"{args.year}-01-01")
    first += pd.Timedelta(days=(7 - first.weekday()) % 7)  # the year's first Monday
    last = first + pd.Timedelta(weeks=args.weeks)
    local = events["occurred_at"].dt.tz_localize(None)
    begin = first - pd.DateOffset(years=args.history_years)
    events = events.loc[(local >= begin) & (local < last)].reset_index(drop=True)
    write_events(events, settings.events_path, {"timezone": "America/Chicago"})
    panel = events_to_panel(events, args.resolution, "W")
    print(
        f"{len(events):,} events {begin.date()} to {last.date()}, {panel.cells.size:,} cells "
        f"at resolution {args.resolution} ({time.perf_counter() - started:.1f} s)"
    )
    started = time.perf_counter()
    target = tuple(panel.categories)
    model = make_forecaster("lightgbm", target=target, n_estimators=100).fit(panel, first)
    spec = {
        "data": {"timezone": "America/Chicago"},
        "model": {"kind": "lightgbm"},
        "backtest": {"coverages": [0.01, 0.05], "select_coverage": 0.01},
    }
    Registry(settings.models_dir).publish(
        NAME, model, spec=spec, data={"timezone": "America/Chicago"}, backtest={}
    )
    print(f"fitted on the weeks before {first.date()} in {time.perf_counter() - started:.1f} s")
    store = SnapshotStore(settings.state_dir / "snapshots")
    log = []
    started = time.perf_counter()
    for week in pd.date_range(first, periods=args.weeks, freq="W-MON"):
        snapshot = publish_forecast(
            model, panel, name=NAME, version="v1", as_of=week, horizon=settings.forecast_horizon
        )
        store.save(snapshot)
        cells = snapshot.tables[0].cell
        top = max(1, round(0.01 * len(cells)))
        day = (week + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
        log += [
            f"W{week:%Y%m%d}-{i},{c},{day} 10:00,{day} 12:00,unit{i % 4}"
            for i, c in enumerate(cells_to_strings(cells[:top]))
        ]
    print(f"served {args.weeks} weeks in {time.perf_counter() - started:.1f} s")
    patrols = root / "patrols.tmp.csv"
    patrols.write_text("id,cells,start,end,unit\n" + "\n".join(log) + "\n", encoding="utf-8")
    hotspots = str(Path(sys.executable).parent / "hotspots")
    subprocess.run(
        [hotspots, "patrols", "import", str(patrols), "--state-dir", str(settings.state_dir),
         "--models-dir", str(settings.models_dir)],
        check=True,
    )  # fmt: skip
    patrols.rename(root / "patrols.csv")


def time_api(settings: Any, periods: int) -> tuple[float, float]:
    """Seconds of the first ``GET /v1/monitor`` and ``GET /v1/effectiveness``."""
    import warnings

    from hotspots.access.keys import KEYS_FILE, KeyStore
    from hotspots.service.app import create_app

    with warnings.catch_warnings():  # starlette asks for httpx2, not a dependency
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    key = KeyStore(settings.state_dir / KEYS_FILE).create("bench", ["forecasts:read"])[1]
    headers = {"Authorization": f"Bearer {key}"}
    app = create_app(settings.model_copy(update={"monitor_periods": periods}))
    with TestClient(app) as client:
        seconds = []
        for path in ("/v1/monitor", "/v1/effectiveness"):
            started = time.perf_counter()
            answer = client.get(path, headers=headers)
            seconds.append(time.perf_counter() - started)
            assert answer.status_code == 200, answer.text
    return seconds[0], seconds[1]


def show(out: Path) -> None:
    periods = pd.read_csv(out / "periods.csv")
    horizons = pd.read_csv(out / "horizons.csv").query("cutoff == '1%'")
    by = horizons.pivot_table(index="horizon", columns="source", values="pai")
    by.insert(0, "periods", horizons.groupby("horizon")["periods_with_events"].first())
    print(f"{periods[['as_of', 'horizon']].drop_duplicates().shape[0]} served periods scored")
    print("mean realised PAI at 1% by horizon:")
    print(by.round(2).to_string())
    one = periods.loc[(periods["cutoff"] == "1%") & (periods["horizon"] == 1)]
    wide = one.pivot_table(index="as_of", columns="source", values="pai")
    best = wide.drop(columns="served").max(axis=1)
    print(f"weeks the served PAI@1% beat the best baseline: {(wide['served'] > best).sum()} "
          f"of {len(wide)}")  # fmt: skip
    print(pd.read_csv(out / "flags.csv").to_string(index=False))
    summary = pd.read_csv(out / "monitor_summary.csv")
    print(summary.drop(columns=["notes"]).round(3).to_string(index=False))
    monitor = pd.read_csv(out / "monitor_periods.csv")
    cols = ["events", "repeat_share", "prior_event_share", "prior_area_share",
            "pooled_concentration", "turnover"]  # fmt: skip
    print("monitor, over the weeks (min / median / max):")
    print(monitor[cols].describe().loc[["min", "50%", "max"]].round(3).to_string())
    flags = pd.read_csv(out / "monitor_flags.csv")
    print(f"monitor flags: {len(flags)}", flags.groupby("figure").size().to_dict())
    failures = pd.read_csv(out / "failures.csv")
    print(f"failures: {len(failures)}")


if __name__ == "__main__":
    main()
