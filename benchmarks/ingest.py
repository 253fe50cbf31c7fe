"""Ingest benchmark: a 1.5-million-row generated CSV -> events + weekly resolution-9 panel.

Prints rows/s and seconds per stage, and peak RSS, beside pandas.read_csv alone on the same
file. Each measurement runs in its own process so peak RSS is that stage's own.

Targets (issue "Foundation"): H3 indexing + panel >= 1 million events/s; the whole ingest
(read, validate, normalise, write) within 2x of pandas.read_csv; peak RSS under 1.5 GB.

    .venv/bin/python benchmarks/ingest.py [--events 1500000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def machine() -> str:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except OSError:
        mem_kb = 0
    return (
        f"{platform.node()} | {cpu} | {os.cpu_count()} cores | {mem_kb / 2**20:.1f} GiB | "
        f"Python {platform.python_version()} | pandas {pd.__version__} | pyarrow {pa.__version__}"
        f" | numpy {np.__version__}"
    )


def make_file(events: int) -> Path:
    """Generate (once) the city CSV with about ``events`` rows."""
    from hotspots.synthetic import generate_city, write_city

    folder = OUT / f"city_{events}"
    path = folder / "events.csv.gz"
    if not path.exists():
        t = time.perf_counter()
        write_city(generate_city(seed=1, target_events=events), folder)
        print(f"generated {path} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return path


def stage_pandas(path: Path) -> dict[str, float]:
    import pandas as pd

    t = time.perf_counter()
    frame = pd.read_csv(path)
    return {"seconds": time.perf_counter() - t, "rows": len(frame), "rss_mb": peak_rss_mb()}


def stage_ingest(path: Path) -> dict[str, float]:
    import pandas as pd

    from hotspots.features import events_to_panel
    from hotspots.grid import points_to_cells
    from hotspots.ingest import ColumnMap, IngestOptions, write_events
    from hotspots.ingest.pipeline import make_plan, read_source, validate_frame
    from hotspots.synthetic import COLUMN_MAP, TIMEZONE

    opts = IngestOptions(
        column_map=ColumnMap.parse(COLUMN_MAP),
        timezone=TIMEZONE,
        now=pd.Timestamp("2030-01-01", tz=TIMEZONE),
    )
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    plan = make_plan(opts, "csv")
    table = read_source(path, opts, plan, None)
    times["read"] = time.perf_counter() - t0
    t = time.perf_counter()
    result = validate_frame(table.frame, opts, plan, path.name)
    times["validate"] = time.perf_counter() - t
    t = time.perf_counter()
    write_events(result.events, OUT / "events.parquet", {"benchmark": True})
    times["write"] = time.perf_counter() - t
    times["ingest_total"] = time.perf_counter() - t0
    ev = result.events
    t = time.perf_counter()
    points_to_cells(ev["lat"].to_numpy(), ev["lng"].to_numpy(), 9)
    times["h3_only"] = time.perf_counter() - t
    t = time.perf_counter()
    panel = events_to_panel(ev, resolution=9, freq="W")
    times["h3_plus_panel"] = time.perf_counter() - t
    times.update(
        rows=result.report.rows_read,
        events=len(ev),
        cells=len(panel.cells),
        periods=len(panel.periods),
        rss_mb=peak_rss_mb(),
    )
    return times


def run_stage(stage: str, path: Path) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--stage", stage, "--file", str(path)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_500_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs per stage; the best is kept")
    ap.add_argument("--stage", choices=["pandas", "ingest"], help=argparse.SUPPRESS)
    ap.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stage:
        fn = stage_pandas if args.stage == "pandas" else stage_ingest
        print(json.dumps(fn(args.file)))
        return
    OUT.mkdir(exist_ok=True)
    path = make_file(args.events)
    pandas_runs = [run_stage("pandas", path) for _ in range(args.repeat)]
    ingest_runs = [run_stage("ingest", path) for _ in range(args.repeat)]
    report(path, pandas_runs, ingest_runs)


def report(path: Path, pandas_runs: list[dict[str, float]], runs: list[dict[str, float]]) -> None:
    pd_best = min(r["seconds"] for r in pandas_runs)
    best = min(runs, key=lambda r: r["ingest_total"])
    panel_best = min(r["h3_plus_panel"] for r in runs)
    n = best["events"]
    size_mb = path.stat().st_size / 2**20
    print(f"machine: {machine()}")
    print(
        f"file: {path.name}, {best['rows']:,.0f} rows, {size_mb:.1f} MiB (gzip); "
        f"best of {len(runs)} runs"
    )
    print(
        f"pandas.read_csv alone        {pd_best:6.2f} s   peak RSS "
        f"{max(r['rss_mb'] for r in pandas_runs):6.0f} MB"
    )
    print(f"ingest: read                 {best['read']:6.2f} s")
    print(f"ingest: validate+normalise   {best['validate']:6.2f} s")
    print(f"ingest: write parquet        {best['write']:6.2f} s")
    ratio = best["ingest_total"] / pd_best
    print(
        f"ingest total                 {best['ingest_total']:6.2f} s   "
        f"{best['rows'] / best['ingest_total']:,.0f} rows/s   {ratio:.2f}x pandas "
        f"(target <= 2x: {'met' if ratio <= 2 else 'NOT met'})"
    )
    print(f"H3 indexing alone            {min(r['h3_only'] for r in runs):6.2f} s")
    rate = n / panel_best
    print(
        f"H3 + weekly panel (res 9)    {panel_best:6.2f} s   {rate:,.0f} events/s "
        f"(target >= 1,000,000: {'met' if rate >= 1e6 else 'NOT met'}); "
        f"{best['cells']:,.0f} cells x {best['periods']:,.0f} weeks"
    )
    rss = max(r["rss_mb"] for r in runs)
    print(
        f"peak RSS, ingest + panel     {rss:6.0f} MB (target < 1536: "
        f"{'met' if rss < 1536 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
