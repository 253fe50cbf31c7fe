"""Every setting of the service is documented in `hotspots serve --help` and the README."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from hotspots.config import Settings

RunCli = Callable[..., Any]  # tests/conftest.py run_cli: returns .code .out .err
README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_in_serve_help_and_the_readme(run_cli: RunCli) -> None:
    result = run_cli("serve", "--help")
    assert result.code == 0
    help_text = " ".join(result.out.split())
    readme = README.read_text(encoding="utf-8")
    names = [f"HOTSPOTS_{name.upper()}" for name in Settings.model_fields]
    assert "HOTSPOTS_FORECAST_HORIZON" in names and len(names) >= 15
    for name in names:
        assert f"{name} [" in help_text, name
        assert f"| `{name}` |" in readme, name
    assert "--horizon" in help_text and "--shutdown-seconds" in help_text


def test_the_readme_gives_each_setting_its_default() -> None:
    """The README's settings table is what a user sets from: its default column is the
    code's (a default changed in one place only would be read as the other)."""
    import re

    rows = dict(re.findall(r"^\| `HOTSPOTS_(\w+)` \| `?([^`|]*?)`? \|", README.read_text(), re.M))
    for name, field in Settings.model_fields.items():
        said = rows[name.upper()]
        want = {"(none)", "none"} if field.default is None else {str(field.default)}
        assert said in want, (name, said, field.default)
