"""`hotspots train` and `hotspots backtest` from flags alone, with every flag that says how
to read the events; a spec is checked whole before any data is read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hotspots.registry import Registry
from hotspots.synthetic import COLUMN_MAP, TIMEZONE

RunCli = Any


def city_box(city_dir: Path) -> str:
    """south,west,north,east around the synthetic city's boundary, padded."""
    ring = json.loads((city_dir / "boundary.geojson").read_text())["features"][0]["geometry"]
    lngs = [p[0] for p in ring["coordinates"][0]]
    lats = [p[1] for p in ring["coordinates"][0]]
    return f"{min(lats) - 0.05},{min(lngs) - 0.05},{max(lats) + 0.05},{max(lngs) + 0.05}"


def every_ingest_flag(city: Path, tmp_path: Path) -> list[str | Path]:
    renames = tmp_path / "renames.csv"
    renames.write_text("source,canonical\nBurglary Residential,Home burglary\n")
    return [
        "--events", city / "events.csv.gz", "--preset", "generic", "--map", COLUMN_MAP,
        "--tz", TIMEZONE, "--source-tz", TIMEZONE, "--time-format", "%Y-%m-%d %H:%M:%S",
        "--boundary", city / "boundary.geojson", "--bbox", city_box(city),
        "--max-distance-km", "80", "--max-reject-fraction", "0.2", "--include-discretionary",
        "--category-map", renames, "--category", "home burglary",
        "--resolution", "8", "--period", "w", "--until", "2023-10-04",
        "--model", "historical_mean", "--folds", "2",
    ]  # fmt: skip


def test_train_from_flags_alone_reads_every_ingest_flag(
    run_cli: RunCli, year_city_dir: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    args = every_ingest_flag(year_city_dir, tmp_path)
    res = run_cli("train", *args, "--name", "flags", "--models-dir", models)
    assert res.code == 0, res.err
    manifest = Registry(models).load("flags").manifest
    data = manifest["spec"]["data"]
    assert data["source_timezone"] == TIMEZONE and data["time_format"] == "%Y-%m-%d %H:%M:%S"
    assert data["include_discretionary"] is True and data["max_distance_km"] == 80
    assert data["bbox"] == city_box(year_city_dir) and data["boundary"].endswith("boundary.geojson")
    assert data["category_map"].endswith("renames.csv")
    assert manifest["data"]["target_categories"] == ["Home burglary"]
    assert manifest["data"]["training_until"] == "2023-10-02T00:00:00"  # a Wednesday, snapped
    assert "note: --until 2023-10-04 (Wednesday)" in res.err
    # the registry folder is said as it is made: before the model published into it
    lines = res.err.splitlines()
    said = [i for i, line in enumerate(lines) if line.startswith("created folder")]
    assert [lines[i] for i in said] == [f"created folder {models} (it did not exist)"]
    published = lines[said[0] + 1]
    assert published.startswith("published flags v1 (")
    assert f") to {models / 'flags' / 'v1'}; it is now current" in published


def test_backtest_needs_no_spec(run_cli: RunCli, year_city_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    res = run_cli("backtest", *every_ingest_flag(year_city_dir, tmp_path), "--out", out)
    assert res.code == 0, res.err
    report = json.loads((out / "report.json").read_text())
    assert len(report["result"]["folds"]) == 2 and report["meta"]["name"] == "events"
    assert report["meta"]["target"] == "Home burglary"
    assert "historical_mean" in res.out
    # the folder is said as it is made: just before the report written into it
    lines = res.err.splitlines()
    said = lines.index(f"created folder {out} (it did not exist)")
    assert lines[said + 1] == f"wrote {out / 'report.json'}, {out / 'report.html'}"


def test_backtest_without_spec_or_events_is_one_line(run_cli: RunCli) -> None:
    res = run_cli("backtest", "--folds", "2")
    assert res.code == 2 and "--events" in res.err
    assert len(res.err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ('[model]\nkind = "lightgbn"\n', "model.kind 'lightgbn' is not a model; models are: ["),
        ('[model]\nbaselines = ["kde", "mean"]\n', "model.baselines ['mean'] are not models"),
        (
            '[model]\nkind = "lightgbm"\n[model.params]\nn_estimator = 5\n',
            "model.params ['n_estimator'] are not parameters of 'lightgbm'; its parameters "
            "are: ['bin_sample_rows'",
        ),
        ("[backtest]\nselect_coverage = 0.02\n", "select_coverage 0.02 is not one of"),
        ('[data]\nboundary = "missing.geojson"\n', "data.boundary"),
    ],
)
def test_a_spec_is_checked_whole_before_the_data_are_read(
    run_cli: RunCli,
    year_city_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    extra: str,
    fragment: str,
) -> None:
    import hotspots.jobs.prepare as prepare_job

    def never(*_: object, **__: object) -> None:
        raise AssertionError("the data were read before the spec was checked")

    monkeypatch.setattr(prepare_job, "load_events", never)
    spec = tmp_path / "s.toml"
    data = f'[data]\nevents = "{year_city_dir / "events.csv.gz"}"\nmap = "{COLUMN_MAP}"\n'
    if extra.startswith("[data]"):
        data += extra.removeprefix("[data]\n")
        extra = ""
    spec.write_text(f'name = "x"\n{data}{extra}')
    for command in ("train", "backtest"):
        res = (
            run_cli(command, spec, "--models-dir", tmp_path / "m")
            if command == "train"
            else (run_cli(command, spec, "--out", tmp_path / "r"))
        )
        assert res.code == 2, res.err
        [line] = res.err.strip().splitlines()
        assert fragment in line


@pytest.mark.parametrize(
    ("select_folds", "basis", "n"), [("3", "selection", 3), ("0", "reported", 2)]
)
def test_select_folds_flag_says_where_the_choice_is_made(
    run_cli: RunCli, year_city_dir: Path, tmp_path: Path, select_folds: str, basis: str, n: int
) -> None:
    models = tmp_path / "models"
    args = every_ingest_flag(year_city_dir, tmp_path)
    res = run_cli(
        "train", *args, "--select-folds", select_folds, "--name", "s", "--models-dir", models
    )
    assert res.code == 0, res.err
    record = Registry(models).load("s").manifest["backtest"]
    assert (record["select_basis"], record["select_folds"]) == (basis, n)
    assert record["select_cutoff"] == "1%" and record["selected"] in record["scores"]


def test_challenger_flag_weighs_another_learned_kind(
    run_cli: RunCli, year_city_dir: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    args = every_ingest_flag(year_city_dir, tmp_path)
    args[args.index("--model") + 1] = "hawkes"
    res = run_cli("train", *args, "--challenger", "ensemble", "--name", "c", "--models-dir", models)
    assert res.code == 0, res.err
    record = Registry(models).load("c").manifest["backtest"]
    assert {"hawkes", "ensemble"} <= set(record["scores"])
    learned = max(("ensemble", "hawkes"), key=lambda k: (record["scores"][k], k == "hawkes"))
    assert record["measured_gain"].startswith(f"{learned} PAI@1%")
    assert record["gain_baseline"] not in ("hawkes", "ensemble")
    # monthly: the ensemble's hawkes member cannot be fed, so it is left out and says why
    args[args.index("--period") + 1] = "m"
    args[args.index("--model") + 1] = "historical_mean"
    res = run_cli("backtest", *args, "--challenger", "ensemble", "--out", tmp_path / "r")
    assert res.code == 0, res.err
    assert "challenger ensemble left out: ensemble member hawkes: the hawkes model needs" in (
        res.out + res.err
    )


def test_resolution_flag_with_several_lets_the_selection_choose(
    run_cli: RunCli, year_city_dir: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    args = every_ingest_flag(year_city_dir, tmp_path)
    args[args.index("--resolution") + 1] = "8,7"
    res = run_cli("train", *args, "--select-folds", "3", "--name", "r", "--models-dir", models)
    assert res.code == 0, res.err
    manifest = Registry(models).load("r").manifest
    choice = manifest["data"]["resolution_choice"]
    assert [c["resolution"] for c in choice["candidates"]] == [7, 8]
    best = max(choice["candidates"], key=lambda c: (c["pai"], c["resolution"] == 8))
    assert choice["chosen"] == best["resolution"] == manifest["spec"]["grid"]["resolution"]
    assert manifest["resolution"] == best["resolution"]
    assert choice["reason"] in res.out + res.err
    assert "resolution 7 (" in res.out + res.err and "resolution 8 (" in res.out + res.err
    card = (Registry(models).load("r").path / "MODEL_CARD.md").read_text()
    assert f"- H3 resolution: {best['resolution']} (resolution {best['resolution']} chosen" in card


@pytest.mark.parametrize(
    ("value", "extra", "message"),
    [
        ("9,x", [], "Invalid value for '--resolution': give a resolution or a list like 8,9,10"),
        ("8,9", ["--cluster", "local:2"], "choose among grid.resolutions, which runs here only"),
    ],
)
def test_resolution_flag_errors_are_one_line(
    run_cli: RunCli, year_city_dir: Path, tmp_path: Path, value: str, extra: list[str], message: str
) -> None:
    args = every_ingest_flag(year_city_dir, tmp_path)
    args[args.index("--resolution") + 1] = value
    res = run_cli("backtest", *args, *extra, "--out", tmp_path / "r")
    assert res.code == 2 and message in res.err, res.err
    assert "Traceback" not in res.err
