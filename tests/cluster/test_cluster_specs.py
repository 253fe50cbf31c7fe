"""Specs as tasks on the session's 2-worker cluster (worker processes, conftest.py): the
registry and the reports are the serial path's, byte for byte, and the serial path never
loads Dask."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from hotspots.cli import main
from hotspots.synthetic import COLUMN_MAP, TIMEZONE

pytest.importorskip("distributed")

RunCli = Any

SPEC = """
name = "{name}"
[data]
events = "{events}"
map = "{map}"
timezone = "{tz}"
[target]
categories = ["{target}"]
[grid]
resolution = 8
period = "W"
[model]
kind = "{kind}"
baselines = ["last_period", "historical_mean"]
{params}
[backtest]
folds = {folds}
refit_every = 2
coverages = [0.05, 0.10]
select_coverage = 0.05
"""


def _write_spec(folder: Path, events: Path, name: str, target: str, kind: str, **kw: Any) -> Path:
    params = "[model.params]\nn_estimators = 10" if kind == "lightgbm" else ""
    text = SPEC.format(
        name=name,
        events=events,
        map=COLUMN_MAP,
        tz=TIMEZONE,
        target=target,
        kind=kind,
        params=params,
        folds=kw.get("folds", 4),
    )
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def specs(tmp_path_factory: pytest.TempPathFactory, city_events: Path) -> list[Path]:
    """Two specs: LightGBM on burglary, the historical mean on assault; 4 folds refitted
    every 2, so each backtest has several fit blocks per model."""
    folder = tmp_path_factory.mktemp("specs")
    return [
        _write_spec(folder, city_events, "city-burglary", "burglary", "lightgbm"),
        _write_spec(folder, city_events, "city-assault", "assault", "historical_mean"),
    ]


class _Frozen(datetime.datetime):
    @classmethod
    def now(cls, tz: Any = None) -> _Frozen:
        return cls(2026, 1, 5, 12, 0, 0, tzinfo=tz)


def _freeze(monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry's publication time fixed, so two runs can be compared byte for byte."""
    shim = SimpleNamespace(datetime=_Frozen, UTC=datetime.UTC)
    monkeypatch.setattr("hotspots.registry.store.dt", shim)


@pytest.fixture(scope="module")
def serial_registry(specs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both specs trained by the serial path (no --cluster), once for the module."""
    root = tmp_path_factory.mktemp("serial") / "models"
    with pytest.MonkeyPatch.context() as mp:
        _freeze(mp)
        mp.delenv("HOTSPOTS_DASK_SCHEDULER", raising=False)
        mp.setattr(sys, "argv", ["hotspots", "train", *map(str, specs), "--models-dir", str(root)])
        try:
            main()
        except SystemExit as exc:
            assert not exc.code, exc.code
    assert (root / "city-assault" / "v1" / "manifest.json").is_file()
    return root


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".lock" not in p.name
    }


def test_train_on_a_cluster_publishes_the_serial_registry_byte_for_byte(
    run_cli: RunCli,
    specs: list[Path],
    serial_registry: Path,
    scheduler: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _freeze(monkeypatch)
    dask = run_cli("train", *specs, "--models-dir", tmp_path / "dask", "--cluster", scheduler)
    assert dask.code == 0, dask.err[-2000:]

    want, got = _files(serial_registry), _files(tmp_path / "dask")
    assert sorted(got) == sorted(want)
    assert b'"lightgbm"' in want["city-burglary/v1/report.json"]  # LightGBM was backtested
    assert [n for n in want if got[n] != want[n]] == []
    # every task says when it ends: one preparation (the specs differ in target and model
    # only, so they share a panel) taken by the other spec, fit blocks of both backtests,
    # 2 final fits
    lines = [ln for ln in dask.err.splitlines() if ln.startswith("task ")]
    assert sum(": prepare (" in ln for ln in lines) == 1
    assert sum("city-assault: shared panel (" in ln for ln in lines) == 1
    assert sum(": final (" in ln for ln in lines) == 2
    assert sum(": report (" in ln for ln in lines) == 2  # drawn on the workers
    assert sum("reported fit lightgbm to" in ln for ln in lines) == 2  # 4 folds, refit every 2
    # published in the order the specs were given, as the serial run did
    order = [ln.split()[1] for ln in dask.err.splitlines() if ln.startswith("published ")]
    assert order == ["city-burglary", "city-assault"]


def test_specs_sharing_a_panel_publish_what_each_publishes_trained_alone(
    specs: list[Path], serial_registry: Path, tmp_path: Path
) -> None:
    """The serial run read the specs' one panel once (``jobs.prepare.SharedPanels``) and
    the second spec took it: trained in a run of its own, reading the events itself, that
    spec publishes the same bytes."""
    root = tmp_path / "alone"
    with pytest.MonkeyPatch.context() as mp:
        _freeze(mp)
        mp.delenv("HOTSPOTS_DASK_SCHEDULER", raising=False)
        mp.setattr(sys, "argv", ["hotspots", "train", str(specs[1]), "--models-dir", str(root)])
        try:
            main()
        except SystemExit as exc:
            assert not exc.code, exc.code
    want, got = _files(serial_registry / "city-assault"), _files(root / "city-assault")
    assert sorted(got) == sorted(want) and len(want) > 5
    assert [n for n in want if got[n] != want[n]] == []


def test_backtest_on_the_scheduler_from_the_environment_writes_the_serial_reports(
    run_cli: RunCli,
    specs: list[Path],
    serial_registry: Path,
    scheduler: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reports equal those the serial train put beside each model (same meta, same
    selection), so the cluster's backtest is the serial backtest."""
    from hotspots.config import get_settings

    monkeypatch.setenv("HOTSPOTS_DASK_SCHEDULER", scheduler)
    get_settings.cache_clear()
    try:
        dask = run_cli("backtest", *specs, "--out", tmp_path)
    finally:
        get_settings.cache_clear()
    assert dask.code == 0, dask.err[-2000:]
    assert f"as tasks on {scheduler}" in dask.err
    for name in ("city-burglary", "city-assault"):
        for report in ("report.json", "report.html"):
            want = (serial_registry / name / "v1" / report).read_bytes()
            assert (tmp_path / name / report).read_bytes() == want, (name, report)


def test_a_spec_failing_on_a_worker_fails_the_command_with_its_message(
    run_cli: RunCli, tmp_path: Path, city_events: Path, scheduler: str
) -> None:
    events = city_events
    bad = _write_spec(tmp_path, events, "too-many-folds", "burglary", "historical_mean", folds=60)
    done = run_cli("backtest", bad, "--out", tmp_path / "out", "--cluster", scheduler)
    assert done.code != 0
    assert "60 backtest folds need" in done.err


def test_the_serial_path_never_imports_dask(specs: list[Path], tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from hotspots.cli import main\n"
        f"sys.argv = ['hotspots', 'backtest', {str(specs[1])!r}, '--out', {str(tmp_path)!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "HOTSPOTS_DASK_SCHEDULER"}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "report.json").is_file()


def test_specs_with_more_learning_models_start_first_in_their_order() -> None:
    """Their preparations are taken by the workers in turn (and their fits stay there), so
    the LightGBM specs of a batch alternating LightGBM and baseline specs spread evenly."""
    from hotspots.cluster.order import heaviest_first
    from hotspots.jobs.spec import spec_from_dict

    def spec(name: str, kind: str, challengers: tuple[str, ...] = ()) -> Any:
        model = {"kind": kind, "challengers": list(challengers)}
        return spec_from_dict({"name": name, "data": {"events": "e.csv"}, "model": model})

    specs = [spec("a", "lightgbm"), spec("b", "historical_mean"), spec("c", "lightgbm"),
             spec("d", "kde"), spec("e", "historical_mean", ("lightgbm",)),
             spec("f", "lightgbm", ("hawkes",))]  # fmt: skip
    assert heaviest_first(specs) == [5, 0, 2, 4, 1, 3]
