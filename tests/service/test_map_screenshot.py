"""docs/map_screenshot.py, which takes the README's picture of /map: its --help says what
each flag is and its default, and only a named --out replaces the README's picture."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[2] / "docs" / "map_screenshot.py"


def test_the_screenshot_help_explains_every_flag_and_its_default() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, check=True
    )
    text = " ".join(done.stdout.split())  # argparse wraps to the terminal
    for flag, default in (
        ("--url URL", "[default: http://127.0.0.1:8000]"),
        ("--out OUT", "[default: map.png, in the current folder]"),
        ("--width WIDTH", "[default: 1200]"),
        ("--height HEIGHT", "[default: 760]"),
    ):
        after = text.split(f" {flag} ", 1)[1]  # the option's own line, not the usage's
        assert default in after.split(" --", 1)[0], (flag, text)  # until 2026-12-07 bare
    assert "--key KEY A key with forecasts:read" in text
    assert "Example: " in text


def test_the_readme_regenerates_its_picture_by_naming_it() -> None:
    """A user checking their own map writes ./map.png; the README's command, which replaces
    docs/map.png, says so with --out."""
    readme = (SCRIPT.parents[1] / "README.md").read_text()
    commands = [line for line in readme.splitlines() if "docs/map_screenshot.py --key" in line]
    assert commands and all("--out docs/map.png" in line for line in commands), commands
