"""The monitor's area layer in ``hotspots report effectiveness`` with several models: how often
the polygon file is read and how long the report spends on it.

A year of Synthetica (the tests' city: seed 11, ~12,000 events), ``--models`` historical-mean
models (one per category) served 26 weekly forecasts each, and a layer of ``--side`` x
``--side`` rectangles over the city (census-tract-like polygons, each with a population and
one of four groups; rounded corners, ~200 vertices each, as traced boundaries have). The
report is run in this process, twice: grouped by the group field (4 groups) and with the
population field alone (each polygon a group). Printed per run: the reads of the polygon
file (``geopandas.read_file`` calls), the searches for the cells inside a group
(``StudyArea.from_geometry`` calls), the seconds in the layer's functions (profiled: the
cumulative time of ``monitor_groups``' readers and ``AreaLayer.on``) and the report's
seconds (unprofiled, the run before).

    nice -n 10 .venv/bin/python benchmarks/report_area_layer.py [--models 3] [--side 20]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

WEEKS = 26


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=3)
    parser.add_argument("--side", type=int, default=20, help="rectangles per side of the layer")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from ingest import machine

    load = os.getloadavg()
    print(
        f"{machine()} | load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} | nice {os.nice(0)}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        events = serve(root, args.models)
        areas = write_layer(root / "areas.geojson", events, args.side)
        for label, fields in (
            ("4 groups (group field)", ("--monitor-group-field", "group")),
            (f"{args.side**2} groups (population field alone)", ()),
        ):
            run(root, areas, label, [*fields, "--monitor-population-field", "population"])


def serve(root: Path, n_models: int) -> pd.DataFrame:
    """The year city's events written as the export, ``n_models`` models registered and
    ``WEEKS`` weeks of each served into the snapshot store."""
    from hotspots.features import events_to_panel
    from hotspots.forecasters import make_forecaster
    from hotspots.ingest import IngestOptions, ingest_file, write_events
    from hotspots.ingest.mapping import ColumnMap
    from hotspots.publishing.forecast_document import publish_forecast
    from hotspots.publishing.snapshot_store import SnapshotStore
    from hotspots.registry import Registry
    from hotspots.synthetic import COLUMN_MAP, TIMEZONE, generate_city, write_city

    city = generate_city(seed=11, start="2023-01-02", days=364, target_events=12_000)
    write_city(city, root / "city")
    options = IngestOptions(column_map=ColumnMap.parse(COLUMN_MAP), timezone=TIMEZONE)
    events = ingest_file(root / "city" / "events.csv.gz", options).events
    write_events(events, root / "events.parquet", {"timezone": TIMEZONE})
    panel = events_to_panel(events, 8, "W")
    spec = {"data": {"map": COLUMN_MAP, "timezone": TIMEZONE}}
    store = SnapshotStore(root / "state" / "snapshots")
    weeks = panel.periods[-WEEKS:]
    for i, category in enumerate(panel.categories[:n_models]):
        name = f"model{i}"
        model = make_forecaster("historical_mean", target=(category,)).fit(panel, weeks[0])
        Registry(root / "models").publish(
            name, model, spec=spec, data={"timezone": TIMEZONE}, backtest={}
        )
        for week in weeks:
            store.save(publish_forecast(model, panel, name=name, version="v1", as_of=week))
    return events


def write_layer(path: Path, events: pd.DataFrame, side: int) -> Path:
    """``side`` x ``side`` rectangles over the events' extent, each with a population and
    one of four groups (by quadrant)."""
    import geopandas as gpd
    from shapely.geometry import box

    lats = np.linspace(events["lat"].min(), events["lat"].max(), side + 1)
    lngs = np.linspace(events["lng"].min(), events["lng"].max(), side + 1)
    rows = []
    for i in range(side):
        for j in range(side):
            group = f"g{2 * (i >= side // 2) + (j >= side // 2)}"
            # shapely's box takes (x=lng, y=lat)
            shape = box(lngs[j], lats[i], lngs[j + 1], lats[i + 1]).buffer(1e-4, quad_segs=50)
            rows.append((shape, group, 1000 + i * j))
    frame = gpd.GeoDataFrame(rows, columns=["geometry", "group", "population"], crs="EPSG:4326")
    frame.to_file(path, driver="GeoJSON")
    return path


def run(root: Path, areas: Path, label: str, fields: list[str]) -> None:
    """The report once timed, then once profiled with the reads and searches counted."""
    import cProfile
    import pstats

    import geopandas as gpd

    from hotspots.grid import StudyArea

    argv = [
        "hotspots", "report", "effectiveness", "--out", str(root / "report"),
        "--state-dir", str(root / "state"), "--models-dir", str(root / "models"),
        "--events", str(root / "events.parquet"), "--monitor-areas", str(areas), *fields,
    ]  # fmt: skip
    total = _report(argv)
    reads, polyfills = _Counter(), _Counter()
    real_read = gpd.read_file
    real_polyfill = StudyArea.from_geometry.__func__  # type: ignore[attr-defined]
    gpd.read_file = reads.wrap(real_read)
    StudyArea.from_geometry = classmethod(polyfills.wrap(real_polyfill))  # type: ignore[assignment]
    profile = cProfile.Profile()
    try:
        profile.runcall(_report, argv)
    finally:
        gpd.read_file = real_read
        StudyArea.from_geometry = classmethod(real_polyfill)  # type: ignore[assignment]
    stats: Any = pstats.Stats(profile).stats  # (file, line, name) -> (cc, nc, tt, ct, callers)
    layer = sum(
        ct
        for (file, _, name), (_, _, _, ct, _) in stats.items()
        if file.endswith("monitor_groups.py")
        and name in ("read_group_layer", "read_area_layer", "on")
    )
    groups = pd.read_csv(root / "report" / "monitor_groups.csv")
    print(
        f"{label}: report {total:.1f} s; layer read {reads.calls} times, groups searched for "
        f"cells {polyfills.calls} times, {layer:.2f} s in the layer's functions (profiled); "
        f"monitor_groups.csv {len(groups)} rows, {groups['model'].nunique()} models",
        flush=True,
    )


def _report(argv: list[str]) -> float:
    """Seconds of one in-process run of ``argv`` (its output: to /dev/null)."""
    import contextlib

    from hotspots.cli import main as cli

    sys.argv = argv
    started = time.perf_counter()
    with (
        open(os.devnull, "w") as null,
        contextlib.redirect_stdout(null),
        contextlib.redirect_stderr(null),
    ):
        try:
            cli()
        except SystemExit as exc:
            if exc.code:
                raise
    return time.perf_counter() - started


class _Counter:
    """Calls of a wrapped function and the seconds in them."""

    def __init__(self) -> None:
        self.calls = 0
        self.seconds = 0.0

    def wrap(self, func: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.calls += 1
                self.seconds += time.perf_counter() - started

        return wrapped


if __name__ == "__main__":
    main()
