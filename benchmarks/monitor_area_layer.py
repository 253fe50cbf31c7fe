"""``GET /v1/monitor`` with an area layer: how often a service reads the polygon file and how
long its answers not cached yet take.

The served state of ``report_area_layer.py`` (a year of Synthetica, one historical-mean model
serving 26 weekly forecasts) and its layer of ``--side`` x ``--side`` rounded rectangles,
grouped by the population field alone (each polygon a group, the costly case). One service
answers ``--answers`` requests, each with other thresholds (``window=P&repeat=X``), so each
is computed, not taken from the answer cache. Printed: the reads of the polygon file
(``geopandas.read_file`` calls) and each answer's seconds.

    nice -n 10 .venv/bin/python benchmarks/monitor_area_layer.py [--side 20] [--answers 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=20, help="rectangles per side of the layer")
    parser.add_argument("--answers", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import geopandas as gpd

    from hotspots.access.keys import KEYS_FILE, KeyStore
    from hotspots.config import Settings
    from hotspots.service.app import create_app
    from ingest import machine
    from report_area_layer import _Counter, serve, write_layer

    with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    load = os.getloadavg()
    print(
        f"{machine()} | load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} | nice {os.nice(0)}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        events = serve(root, 1)
        areas = write_layer(root / "areas.geojson", events, args.side)
        settings = Settings(
            models_dir=root / "models",
            state_dir=root / "state",
            events_path=root / "events.parquet",
            monitor_areas_path=areas,
            monitor_population_field="population",
        )
        key = KeyStore(root / "state" / KEYS_FILE).create("bench", ["forecasts:read"])[1]
        reads = _Counter()
        real = gpd.read_file
        gpd.read_file = reads.wrap(real)
        try:
            with TestClient(create_app(settings)) as client:
                seconds = []
                for i in range(args.answers):
                    started = time.perf_counter()
                    got = client.get(
                        f"/v1/monitor?model=model0&window={8 - i}&repeat={min(6, 8 - i)}",
                        headers={"Authorization": f"Bearer {key}"},
                    )
                    seconds.append(time.perf_counter() - started)
                    assert got.status_code == 200, got.text
                    assert len(got.json()["groups"]) == args.side**2
        finally:
            gpd.read_file = real
    said = ", ".join(f"{s:.2f}" for s in seconds)
    print(
        f"{args.side**2} groups, {args.answers} answers not cached: layer read {reads.calls} "
        f"times ({reads.seconds:.2f} s); seconds per answer: {said}",
        flush=True,
    )


if __name__ == "__main__":
    main()
