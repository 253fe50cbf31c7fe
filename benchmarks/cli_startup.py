"""CLI start-up: wall time of `hotspots --version`, `hotspots --help` and a command's --help.

Target (issue "Honest answers", item 16): `--help` and `--version` under 0.5 s. The heavy
libraries (pandas, scikit-learn, LightGBM, FastAPI, ...) load only when a command runs.

    .venv/bin/python benchmarks/cli_startup.py [--repeat 7] [--hotspots PATH]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = (["--version"], ["--help"], ["train", "--help"], ["forecast", "--help"])


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    default = shutil.which("hotspots", path=str(Path(sys.executable).parent))
    parser.add_argument("--hotspots", default=default, help="the hotspots command to time")
    args = parser.parse_args()
    print(f"{args.hotspots}; load average {os.getloadavg()[0]:.1f}")
    for extra in COMMANDS:
        times = [timed([args.hotspots, *extra]) for _ in range(args.repeat)]
        print(
            f"hotspots {' '.join(extra):<16} median {statistics.median(times):.2f} s, "
            f"min {min(times):.2f} s, max {max(times):.2f} s ({args.repeat} runs)"
        )


if __name__ == "__main__":
    main()
