"""`hotspots --help` and `--version` answer without loading the heavy libraries (the
start-up time itself is measured by benchmarks/cli_startup.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("pandas", "numpy", "pyarrow", "sklearn", "lightgbm", "scipy", "h3", "fastapi", "shapely")
PROBE = """
import sys
from hotspots.cli import main
sys.argv = ["hotspots", *{args!r}]
try:
    main()
except SystemExit:
    pass
print(sorted({{m.split(".")[0] for m in sys.modules}} & set({heavy!r})))
"""


@pytest.mark.parametrize(
    "args",
    [["--version"], ["--help"], ["train", "--help"], ["forecast", "--help"], ["plan", "--help"]],
)
def test_help_and_version_load_no_heavy_library(args: list[str]) -> None:
    code = PROBE.format(args=args, heavy=HEAVY)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout[-400:]
