"""One-way layers (STYLE.md): the HTTP shell and the served state are imported only from above."""

from __future__ import annotations

import ast
from pathlib import Path

import hotspots

SRC = Path(hotspots.__file__).resolve().parent


def imported(path: Path) -> set[str]:
    """Every ``hotspots.*`` module a file imports (at the top or inside a function)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {n for n in names if n.startswith("hotspots.")}


def offenders(prefix: str, allowed: tuple[str, ...]) -> list[str]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        where = path.relative_to(SRC).as_posix()
        if where.startswith(allowed):
            continue
        out += [f"{where} imports {m}" for m in sorted(imported(path)) if m.startswith(prefix)]
    return out


def test_only_the_cli_starts_the_http_shell() -> None:
    # the CLI's `serve` runs the app; nothing else reaches into the HTTP code
    assert offenders("hotspots.service", ("service/", "cli/serve_cmd.py")) == []


def test_the_served_state_is_used_only_by_the_service_and_the_cli() -> None:
    assert offenders("hotspots.serving", ("serving/", "service/", "cli/")) == []


def test_the_walker_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from hotspots.service.app import create_app\n")
    assert imported(module) == {"hotspots.service.app"}


def test_the_service_builds_no_panel_trains_nothing_and_reads_no_event_cache() -> None:
    # the HTTP shell serves what publishing and serving made: panels, training specs,
    # retraining, backtests and the event cache are the layers below it
    banned = (
        "hotspots.features",
        "hotspots.evaluation",
        "hotspots.cluster",
        "hotspots.synthetic",
        "hotspots.jobs.event_cache",
        "hotspots.jobs.forecast",
        "hotspots.jobs.retrain",
        "hotspots.jobs.spec",
        "hotspots.jobs.train",
        "hotspots.feedback.monitor",
    )
    found = []
    for path in sorted((SRC / "service").rglob("*.py")):
        where = path.relative_to(SRC).as_posix()
        found += [f"{where} imports {m}" for m in sorted(imported(path)) if m.startswith(banned)]
    assert found == []
