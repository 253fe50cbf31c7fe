"""The registry: publish / load round trips, versions, promote / rollback, integrity checks."""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hotspots.atomic import file_lock
from hotspots.errors import (
    ConfigError,
    IntegrityError,
    ModelNotFoundError,
    NotFittedError,
)
from hotspots.features import Panel
from hotspots.forecasters import Forecaster, ForecasterState, History, Origin
from hotspots.grid import points_to_cells
from hotspots.registry import Registry, model_card
from hotspots.registry.store import ModelSummary

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


class RegistryDouble(Forecaster):
    """Per-cell mean of the target times ``factor``, plus an offset kept as a text state."""

    name = "test_registry_double"

    def __init__(self, *, factor: float = 2.0, target: tuple[str, ...] | None = None) -> None:
        self.factor = factor
        self.target = target

    def _fit(self, history: History) -> None:
        self.means_ = history.target.mean(axis=0)
        self.offset_ = float(history.target.max()) / 10
        self.feature_names_ = ["mean_target", "max_target"]

    def _predict(self, history: History, origin: Origin) -> FloatArray:
        one = self.means_ * self.factor + self.offset_
        return np.outer(origin.leads, one).astype(np.float64)

    def _extra_state(self) -> tuple[dict[str, Any], dict[str, str]]:
        return {"means": self.means_}, {"offset": json.dumps({"offset": self.offset_})}

    def _set_extra_state(self, state: ForecasterState) -> None:
        self.means_ = state.arrays["means"]
        self.offset_ = json.loads(state.texts["offset"])["offset"]


BURGLARY = [[1, 0, 2], [3, 0, 0], [0, 1, 2], [2, 0, 4]]  # periods x cells
ROBBERY = [[0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 0]]
SPEC = {"categories": ["Burglary"], "excluded_categories": ["Drugs"], "horizon": 1}
DATA = {"source": "/data/crimes.csv", "sha256": "ab" * 32, "rows_used": 15}
BACKTEST = {"table": [{"model": "double", "hit_rate": 0.41234, "pai": 3.5}]}


def tiny_panel() -> Panel:
    lat = np.array([51.50, 51.52, 51.54])
    cells = np.sort(points_to_cells(lat, np.full(3, -0.12), 8))
    assert np.unique(cells).size == 3
    periods = pd.date_range("2024-01-01", periods=4, freq="W-MON")
    counts = np.array([BURGLARY, ROBBERY], dtype=np.int32)
    return Panel(counts, cells, periods, ("Burglary", "Robbery"), "W", 8)


@pytest.fixture(scope="module")
def panel() -> Panel:
    return tiny_panel()


@pytest.fixture(scope="module")
def model(panel: Panel) -> RegistryDouble:
    return RegistryDouble(target=("Burglary",)).fit(panel)


@pytest.fixture
def reg(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "models")


def publish(reg: Registry, model: Forecaster, name: str = "burglary", **kw: Any) -> str:
    info = reg.publish(name, model, spec=SPEC, data=DATA, backtest=BACKTEST, **kw)
    return info.version


def test_round_trip_predicts_identically_and_stores_no_pickle(
    reg: Registry, model: RegistryDouble, panel: Panel
) -> None:
    info = reg.publish("burglary", model, spec=SPEC, data=DATA, backtest=BACKTEST)
    assert (info.version, info.current, info.path) == ("v1", True, reg.root / "burglary" / "v1")
    loaded = reg.load("burglary")
    twin = loaded.forecaster
    assert isinstance(twin, RegistryDouble) and loaded.version == "v1"
    # hand values: per-cell Burglary means (1.5, .25, 2), offset max/10 = .4, factor 2
    np.testing.assert_array_equal(twin.means_, [1.5, 0.25, 2.0])
    assert twin.offset_ == 0.4 and twin.factor == 2.0 and twin.target == ("Burglary",)
    got = twin.predict(panel, as_of="2024-01-29", horizon=2)
    pd.testing.assert_frame_equal(got, model.predict(panel, as_of="2024-01-29", horizon=2))
    np.testing.assert_allclose(got["expected_count"][:3], [3.4, 0.9, 4.4])
    folder = reg.root / "burglary" / "v1"
    means = np.load(folder / "arrays" / "means.npy", allow_pickle=False)
    np.testing.assert_array_equal(means, model.means_)
    cells = np.load(folder / "arrays" / "cells.npy", allow_pickle=False)
    assert cells.dtype == np.uint64 and np.array_equal(cells, panel.cells)
    umask = os.umask(0)
    os.umask(umask)
    assert folder.stat().st_mode & 0o777 == 0o777 & ~umask  # readable like any folder


def test_manifest_holds_what_made_the_model(reg: Registry, model: RegistryDouble) -> None:
    publish(reg, model, notes={"by": "analyst"})
    m = reg.manifest("burglary")
    assert (m["name"], m["version"], m["kind"]) == ("burglary", "v1", "test_registry_double")
    assert m["params"] == {"factor": 2.0, "target": ["Burglary"]}
    assert (m["resolution"], m["freq"], m["target"], m["study_cells"]) == (8, "W", ["Burglary"], 3)
    assert m["meta"]["fit_end"] == "2024-01-22T00:00:00"
    assert m["features"] == ["mean_target", "max_target"]
    assert (m["spec"], m["data"], m["backtest"], m["notes"]) == (
        SPEC,
        DATA,
        BACKTEST,
        {"by": "analyst"},
    )
    assert set(m["libraries"]) == {
        "python", "numpy", "pandas", "lightgbm", "scikit-learn", "h3", "hotspots"
    }  # fmt: skip
    assert m["libraries"]["numpy"] == np.__version__
    created = pd.Timestamp(m["created"])
    assert created.tz is not None and abs(pd.Timestamp.now(tz="UTC") - created).total_seconds() < 60
    folder = reg.root / "burglary" / "v1"
    assert set(m["artifacts"]) == {
        "arrays/cells.npy", "arrays/means.npy", "texts/offset.txt", "MODEL_CARD.md"
    }  # fmt: skip
    card = (folder / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert card == model_card(m) and "# Model card: burglary v1" in card


def test_values_are_made_json_safe_and_bad_ones_refused(
    reg: Registry, model: RegistryDouble
) -> None:
    backtest = {"table": [{"pai": np.float32(2.5), "pei": float("nan")}], "n": np.int64(3)}
    reg.publish("b", model, spec={"when": pd.Timestamp("2024-01-01")}, data={}, backtest=backtest)
    m = reg.manifest("b")
    assert m["backtest"] == {"table": [{"pai": 2.5, "pei": None}], "n": 3}
    assert m["spec"] == {"when": "2024-01-01T00:00:00"}
    with pytest.raises(ConfigError, match=r"spec\.bad holds a object"):
        reg.publish("c", model, spec={"bad": object()}, data={}, backtest={})
    assert not (reg.root / "c").exists()  # refused before anything was written


def test_unfitted_model_is_refused_and_nothing_written(reg: Registry) -> None:
    with pytest.raises(NotFittedError):
        reg.publish("b", RegistryDouble(), spec={}, data={}, backtest={})
    assert not reg.root.exists()


def test_versions_increment_and_accept_both_spellings(reg: Registry, model: Forecaster) -> None:
    assert [publish(reg, model) for _ in range(3)] == ["v1", "v2", "v3"]
    assert reg.versions("burglary") == ["v1", "v2", "v3"]
    assert reg.current("burglary") == "v3"
    assert reg.load("burglary", "2").version == "v2"
    assert reg.load("burglary", 1).manifest["version"] == "v1"
    assert reg.manifest("burglary", "v3")["version"] == "v3"
    assert publish(reg, model, promote=False) == "v4"
    assert reg.current("burglary") == "v3" and reg.load("burglary").version == "v3"


def test_promote_and_rollback_follow_the_history(reg: Registry, model: Forecaster) -> None:
    publish(reg, model)
    publish(reg, model, promote=False)
    publish(reg, model)
    pointer = reg.root / "burglary" / "current.json"
    assert json.loads(pointer.read_text()) == {"version": "v3", "history": ["v1", "v3"]}
    assert reg.promote("burglary", "2") == "v2"
    assert reg.promote("burglary", "v2") == "v2"  # promoting the current one adds nothing
    assert json.loads(pointer.read_text()) == {"version": "v2", "history": ["v1", "v3", "v2"]}
    assert reg.rollback("burglary") == "v3"
    assert reg.rollback("burglary") == "v1"
    assert json.loads(pointer.read_text()) == {"version": "v1", "history": ["v1"]}
    with pytest.raises(ConfigError, match=r"no earlier promoted version .*history: v1\)"):
        reg.rollback("burglary")
    assert reg.current("burglary") == "v1" and reg.load("burglary").version == "v1"


def test_no_current_version(reg: Registry, model: Forecaster) -> None:
    publish(reg, model, promote=False)
    assert reg.current("burglary") is None
    with pytest.raises(ModelNotFoundError, match="'burglary' has no current version; versions: v1"):
        reg.load("burglary")
    with pytest.raises(ConfigError, match="history: none"):
        reg.rollback("burglary")


def test_unknown_names_and_versions_list_what_there_is(reg: Registry, model: Forecaster) -> None:
    publish(reg, model)
    publish(reg, model, name="robbery")
    with pytest.raises(
        ModelNotFoundError, match="no model named 'nope' .*models: burglary, robbery"
    ):
        reg.load("nope")
    with pytest.raises(ModelNotFoundError, match="'burglary' has no version v7; versions: v1"):
        reg.load("burglary", "7")
    with pytest.raises(ModelNotFoundError):
        reg.promote("burglary", 2)
    for bad in ("x", "v0", "-1", "3.0", True):
        with pytest.raises(ConfigError, match=f"version {bad!r} is not valid"):
            reg.load("burglary", bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", ".hidden", "-x", "a/b", "..", "a b", "x" * 65, "café", "v1\n"])
def test_bad_names_are_config_errors(reg: Registry, model: Forecaster, bad: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"model name {bad!r} is not valid")):
        publish(reg, model, name=bad)
    with pytest.raises(ConfigError, match="is not valid"):
        reg.load(bad)
    assert not reg.root.exists() or not any(reg.root.rglob("*"))


@pytest.mark.parametrize("good", ["a", "Robbery-weekly_v2.1", "x" * 64])
def test_good_names_are_accepted(reg: Registry, model: Forecaster, good: str) -> None:
    publish(reg, model, name=good)
    assert reg.names() == [good]


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


def _edit_manifest(path: Path) -> None:
    manifest = json.loads(path.read_text())
    manifest["params"]["factor"] = 3.0  # still valid JSON, but not what was published
    path.write_text(json.dumps(manifest, indent=2))


TAMPERING = {
    "array": ("arrays/means.npy", _flip_byte, "arrays/means.npy sha256 mismatch"),
    "text": ("texts/offset.txt", _flip_byte, "texts/offset.txt sha256 mismatch"),
    "card": (
        "MODEL_CARD.md",
        lambda p: p.write_text(p.read_text().replace("never people", "anyone")),
        "MODEL_CARD.md sha256 mismatch",
    ),
    "manifest field": ("manifest.json", _edit_manifest, "manifest.json sha256 mismatch"),
    "manifest not json": (
        "manifest.json",
        lambda p: p.write_text(p.read_text()[:-40]),
        "manifest.json is not valid JSON",
    ),
    "deleted artifact": ("texts/offset.txt", Path.unlink, "texts/offset.txt is missing"),
    "deleted manifest": ("manifest.json", Path.unlink, "manifest.json is missing"),
    "extra file": (
        "arrays/extra.npy",
        lambda p: np.save(p, np.zeros(2)),
        "arrays/extra.npy is not listed in the manifest",
    ),
}


@pytest.mark.parametrize("case", TAMPERING.keys())
def test_tampering_is_an_integrity_error(reg: Registry, model: Forecaster, case: str) -> None:
    rel, tamper, message = TAMPERING[case]
    publish(reg, model)
    publish(reg, model)
    tamper(reg.root / "burglary" / "v1" / rel)
    for call in (
        lambda: reg.load("burglary", 1),
        lambda: reg.verify("burglary", 1),
        lambda: reg.promote("burglary", 1),
    ):
        with pytest.raises(IntegrityError, match=f"model 'burglary' v1: {message}"):
            call()
    assert reg.current("burglary") == "v2"  # a broken version is never promoted
    assert reg.load("burglary").version == "v2"  # the other version is unaffected


def test_rollback_to_a_tampered_version_is_refused(reg: Registry, model: Forecaster) -> None:
    publish(reg, model)
    publish(reg, model)
    _flip_byte(reg.root / "burglary" / "v1" / "arrays" / "cells.npy")
    with pytest.raises(IntegrityError, match="v1: arrays/cells.npy sha256 mismatch"):
        reg.rollback("burglary")
    assert reg.current("burglary") == "v2"


def test_version_copied_by_hand_is_detected(reg: Registry, model: Forecaster) -> None:
    publish(reg, model)
    shutil.copytree(reg.root / "burglary" / "v1", reg.root / "burglary" / "v2")
    with pytest.raises(IntegrityError, match="describes model 'burglary' v1"):
        reg.load("burglary", 2)


def test_leftover_temp_folders_are_invisible(reg: Registry, model: Forecaster) -> None:
    publish(reg, model)
    crashed = reg.root / "burglary" / ".tmp-crashed"
    shutil.copytree(reg.root / "burglary" / "v1", crashed)
    ghost = reg.root / "ghost" / ".tmp-abc"
    shutil.copytree(reg.root / "burglary" / "v1", ghost)
    assert [m.name for m in reg.list_models()] == ["burglary"]
    assert reg.versions("burglary") == ["v1"]
    assert reg.load("burglary").version == "v1"
    with pytest.raises(ModelNotFoundError, match="no model named 'ghost'"):
        reg.load("ghost")
    assert publish(reg, model) == "v2"  # a fresh temp folder is not pruned...
    assert crashed.is_dir()
    stale = time.time() - 2 * 3600
    os.utime(crashed, (stale, stale))
    fresh = reg.root / "burglary" / ".tmp-fresh"
    fresh.mkdir()
    assert reg.prune_temp("burglary") == 1  # ...a stale one is
    assert not crashed.exists() and fresh.is_dir()


def test_failed_publish_leaves_no_version(
    reg: Registry, model: Forecaster, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(reg, model)
    pointer = (reg.root / "burglary" / "current.json").read_bytes()

    def disk_full(*args: Any, **kwargs: Any) -> None:
        raise OSError("no space left on device")

    monkeypatch.setattr(np, "save", disk_full)
    with pytest.raises(OSError, match="no space left"):
        publish(reg, model)
    with pytest.raises(OSError, match="no space left"):
        publish(reg, model, name="fresh")
    assert reg.versions("burglary") == ["v1"] and reg.names() == ["burglary"]
    assert (reg.root / "burglary" / "current.json").read_bytes() == pointer
    assert list((reg.root / "burglary").glob(".tmp-*")) == []
    assert list((reg.root / "fresh").iterdir()) == []


def test_publisher_that_lost_the_race_takes_the_next_number(
    reg: Registry, model: Forecaster, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(reg, model)
    monkeypatch.setattr(Registry, "_next_number", lambda self, folder: 1)  # a stale view
    assert publish(reg, model) == "v2"
    m = reg.verify("burglary", 2)  # manifest and card were rewritten for v2
    assert m["version"] == "v2"
    assert "# Model card: burglary v2" in (reg.root / "burglary/v2/MODEL_CARD.md").read_text()
    assert reg.load("burglary", 1).version == "v1"


def test_concurrent_publishers_get_distinct_versions(tmp_path: Path, model: Forecaster) -> None:
    got: list[str] = []

    def run() -> None:
        reg = Registry(tmp_path / "models")
        got.extend(publish(reg, model, promote=False) for _ in range(3))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    reg = Registry(tmp_path / "models")
    assert sorted(got, key=lambda v: int(v[1:])) == [f"v{n}" for n in range(1, 7)]
    assert reg.versions("burglary") == [f"v{n}" for n in range(1, 7)]
    assert all(reg.verify("burglary", v)["version"] == v for v in got)


@pytest.mark.parametrize("change", ["promote", "rollback"])
def test_a_pointer_change_waits_for_the_one_under_way(
    reg: Registry, model: Forecaster, change: str
) -> None:
    for _ in range(3):
        publish(reg, model)  # history v1, v2, v3
    pointer = reg.root / "burglary" / "current.json"
    before = pointer.read_text()
    finished = threading.Event()

    def run() -> None:
        other = Registry(reg.root)  # as another process would: its own object, its own lock fd
        if change == "promote":
            other.promote("burglary", 1)
        else:
            other.rollback("burglary")
        finished.set()

    with file_lock(reg.root / "burglary" / ".current.lock"):  # someone else is mid-change
        worker = threading.Thread(target=run)
        worker.start()
        assert not finished.wait(0.5)
        assert pointer.read_text() == before
    worker.join(10)
    assert finished.is_set()
    expected = ["v1", "v2", "v3", "v1"] if change == "promote" else ["v1", "v2"]
    assert json.loads(pointer.read_text())["history"] == expected


def test_promotes_at_once_all_land_in_the_history(tmp_path: Path, model: Forecaster) -> None:
    reg = Registry(tmp_path / "models")
    versions = [publish(reg, model, promote=False) for _ in range(6)]
    start = threading.Barrier(len(versions))

    def run(version: str) -> None:
        start.wait()
        Registry(reg.root).promote("burglary", version)

    threads = [threading.Thread(target=run, args=(v,)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    history = json.loads((reg.root / "burglary" / "current.json").read_text())["history"]
    assert sorted(history, key=lambda v: int(v[1:])) == versions
    assert reg.current("burglary") == history[-1]


def test_list_models_summarises_each_model(reg: Registry, model: Forecaster) -> None:
    assert reg.list_models() == []
    publish(reg, model, name="robbery")
    publish(reg, model, name="robbery")
    reg.promote("robbery", 1)
    publish(reg, model, name="burglary", promote=False)
    models = reg.list_models()
    assert [(m.name, m.current, m.versions) for m in models] == [
        ("burglary", None, ("v1",)),
        ("robbery", "v1", ("v1", "v2")),
    ]
    rob = models[1]
    assert rob.kind == "test_registry_double" and rob.target == ("Burglary",)
    assert rob.created == reg.manifest("robbery", 1)["created"]


def test_broken_pointer(reg: Registry, model: Forecaster) -> None:
    publish(reg, model)
    publish(reg, model, name="robbery")
    (reg.root / "burglary" / "current.json").write_text("{not json")
    with pytest.raises(IntegrityError, match="'burglary': current.json is not valid JSON"):
        reg.load("burglary")
    with pytest.raises(IntegrityError):
        publish(reg, model)  # refused before writing a version it could not promote
    assert reg.versions("burglary") == ["v1"]
    summaries = {m.name: m for m in reg.list_models()}  # one broken model does not hide others
    assert summaries["burglary"] == ModelSummary(
        "burglary", None, ("v1",), summaries["burglary"].created, "test_registry_double",
        ("Burglary",),
    )  # fmt: skip
    assert summaries["robbery"].current == "v1"


def test_round_trip_on_a_year_of_the_synthetic_city(tmp_path: Path, year_panel: Panel) -> None:
    target = year_panel.categories[:2]
    model = RegistryDouble(factor=1.5, target=target).fit(year_panel, until="2023-10-02")
    reg = Registry(tmp_path)
    reg.publish("city", model, spec={}, data={}, backtest={})
    twin = reg.load("city").forecaster
    for as_of in ("2023-10-02", "2023-11-15"):
        expected = model.predict(year_panel, as_of=as_of, horizon=3)
        pd.testing.assert_frame_equal(twin.predict(year_panel, as_of=as_of, horizon=3), expected)
    assert len(expected) == 3 * year_panel.cells.size
    assert reg.manifest("city")["study_cells"] == year_panel.cells.size


def test_extra_files_are_copied_and_checksummed(
    reg: Registry, model: Forecaster, tmp_path: Path
) -> None:
    report = tmp_path / "report.html"
    report.write_text("<p>PAI 3.5</p>")
    info = reg.publish("b", model, spec={}, data={}, backtest={}, extra_files={"html": report})
    assert (info.path / "report.html").read_text() == "<p>PAI 3.5</p>"
    assert "report.html" in reg.manifest("b")["artifacts"]
    (info.path / "report.html").write_text("<p>PAI 9.9</p>")
    with pytest.raises(IntegrityError, match="report.html sha256 mismatch"):
        reg.load("b")
    clash = tmp_path / "manifest.json"
    clash.write_text("{}")
    with pytest.raises(ConfigError, match="extra file name 'manifest.json' is taken"):
        reg.publish("b", model, spec={}, data={}, backtest={}, extra_files={"x": clash})
    with pytest.raises(ConfigError, match="cannot read extra file"):
        reg.publish("b", model, spec={}, data={}, backtest={}, extra_files={"x": tmp_path / "no"})
    assert reg.versions("b") == ["v1"] and list((reg.root / "b").glob(".tmp-*")) == []


def test_a_file_where_the_registry_should_be_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "models"
    blocker.write_text("not a folder")
    for registry, extra in ((Registry(blocker), ""), (Registry(blocker / "inner"), blocker)):
        for read in (registry.names, registry.list_models, lambda r=registry: r.load("m")):
            with pytest.raises(ConfigError) as err:
                read()
            assert str(err.value).startswith(
                f"the models folder {registry.root} is not a folder"
                + (f" ({extra} is a file)" if extra else "")
            )
    assert Registry(tmp_path / "not-yet").names() == []  # a registry not made yet is empty
