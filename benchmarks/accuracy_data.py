"""The suite's inputs: each real export ingested once into an event table, synthetic cities.

Several cases read one export (twelve San Francisco cases, three London ones), so each
source is ingested once, as ``hotspots ingest`` would, into an event table under
benchmarks/out/accuracy/events/ that every case's spec then reads. The table is reused by
later runs while the export, its read options and the ingest code are unchanged (the name
holds a hash of all three). Synthetic cities are generated afresh in every run (a second
each): the generator is still changing.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import hotspots.ingest
from accuracy_cases import SOURCES, Source

INGEST_CODE = Path(hotspots.ingest.__file__).resolve().parent


def _key(source: Source) -> str:
    stat = source.path.stat()
    digest = hashlib.sha256()
    digest.update(json.dumps([str(source.path), stat.st_size, stat.st_mtime_ns]).encode())
    digest.update(json.dumps(source.data, sort_keys=True).encode())
    for code in sorted(INGEST_CODE.rglob("*.py")):
        digest.update(code.read_bytes())
    return digest.hexdigest()[:12]


def event_table(name: str, out: Path) -> tuple[Path, float]:
    """The event table of source ``name`` (ingested now if not cached) and the seconds spent."""
    from hotspots.ingest import ingest_file, write_events
    from hotspots.jobs.data import ingest_options

    source = SOURCES[name]
    path = out / "events" / f"{name}-{_key(source)}.parquet"
    if path.is_file():
        return path, 0.0
    t0 = time.perf_counter()
    result = ingest_file(source.path, ingest_options(**source.data))
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f"{name}-*.parquet"):
        stale.unlink()
    meta = {
        "source": str(source.path),
        "timezone": result.timezone,
        "report": result.report.to_dict(),
    }
    write_events(result.events, path, meta)
    return path, time.perf_counter() - t0


def synthetic_city(seed: int, out: Path) -> dict[str, Any]:
    """Write Synthetica ``seed`` as ``hotspots demo-data --seed`` does; its spec's data keys."""
    from hotspots.synthetic import COLUMN_MAP, TIMEZONE, generate_city, write_city

    folder = out / "cities" / f"seed-{seed}"
    paths = write_city(generate_city(seed=seed), folder)
    return {
        "events": paths["events.csv.gz"],
        "truth": paths["truth_origin_W.parquet"],
        "data": {"map": COLUMN_MAP, "timezone": TIMEZONE, "boundary": paths["boundary.geojson"]},
    }
