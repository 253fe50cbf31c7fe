"""One model's damaged record does not sink the others: ``hotspots report effectiveness``
writes the report for the models it can read and says which model, which part and why for
the other (``failures.csv``, its section, a warning line); ``GET /v1/effectiveness`` lists it
under ``failed`` and ``GET /v1/monitor`` answers 503 for it alone, never 500."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from served_env import TARGET, Env, settings_of

from hotspots.features import Panel, events_to_panel
from hotspots.forecasters import make_forecaster
from hotspots.publishing.forecast_document import publish_forecast
from hotspots.publishing.snapshot_store import SnapshotStore
from hotspots.registry import Registry
from hotspots.service.app import create_app
from hotspots.serving import monitor as serving_monitor
from hotspots.synthetic import COLUMN_MAP, TIMEZONE

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

SERVED = pd.date_range("2023-10-09", "2023-12-25", freq="W-MON")  # 12 past weeks
SPEC = {"data": {"map": COLUMN_MAP, "timezone": TIMEZONE}}


@pytest.fixture
def two(env_copy: Env, year_panel: Panel) -> Env:
    """Two served models, ``burglary`` and ``other`` (both historical means of burglary),
    each with the 12 weeks before as_of served."""
    registry = Registry(env_copy.root / "models")
    model = make_forecaster("historical_mean", target=(TARGET,)).fit(year_panel)
    registry.publish("other", model, spec=SPEC, data={"timezone": TIMEZONE}, backtest={})
    store = SnapshotStore(settings_of(env_copy.root).state_dir / "snapshots")
    for name in ("burglary", "other"):
        forecaster = registry.load(name).forecaster
        for as_of in SERVED:
            store.save(
                publish_forecast(forecaster, year_panel, name=name, version="v1", as_of=as_of)
            )
    return env_copy


def _snapshots(env: Env, name: str) -> Path:
    return env.root / "state" / "snapshots" / name


def damage_artefact(env: Env, _: pd.DataFrame) -> None:
    card = next((env.root / "models" / "other").rglob("MODEL_CARD.md"))
    card.write_text("tampered")


def remove_from_registry(env: Env, _: pd.DataFrame) -> None:
    """Its snapshots stay; the model is gone from the registry."""
    shutil.rmtree(env.root / "models" / "other")


def damage_snapshot(env: Env, _: pd.DataFrame) -> None:
    last = sorted(_snapshots(env, "other").glob("2023-12-25/*.json.gz"))[-1]
    last.write_bytes(b"xx")


def damage_metadata(env: Env, _: pd.DataFrame) -> None:
    last = sorted(p for p in _snapshots(env, "other").glob("2023-12-25/*.json") if p.is_file())
    last[-1].write_text("{", encoding="utf-8")


def republish_on_another_grid(env: Env, events: pd.DataFrame) -> None:
    """A new current version of ``other`` at resolution 9: its served weeks were on 8."""
    panel = events_to_panel(events, 9, "W")
    model = make_forecaster("historical_mean", target=(TARGET,)).fit(panel)
    Registry(env.root / "models").publish(
        "other", model, spec=SPEC, data={"timezone": TIMEZONE}, backtest={}
    )


Damage = Callable[[Env, pd.DataFrame], None]
CASES: list[tuple[Damage, dict[str, str]]] = [
    (damage_artefact, {"registry": "MODEL_CARD.md sha256 mismatch"}),
    (remove_from_registry, {"registry": "no model named 'other' in"}),
    (
        damage_snapshot,
        {"monitor": "is missing or damaged: Not a gzipped file", "realised": "Not a gzipped"},
    ),
    (damage_metadata, {"monitor": "snapshot metadata", "realised": "snapshot metadata"}),
    (republish_on_another_grid, {"monitor": "it was served on another grid"}),
]


def _report(run_cli: Any, env: Env, out: Path, *more: str) -> Any:
    return run_cli(
        "report", "effectiveness", "--out", out, "--state-dir", env.root / "state",
        "--models-dir", env.root / "models", "--events", env.root / "events.parquet", *more,
    )  # fmt: skip


@pytest.mark.parametrize(("damage", "expected"), CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_a_damaged_model_fails_alone_in_the_report(
    two: Env,
    year_city_events: pd.DataFrame,
    tmp_path: Path,
    run_cli: Any,
    damage: Damage,
    expected: dict[str, str],
) -> None:
    whole = _report(run_cli, two, tmp_path / "whole", "--model", "burglary")
    assert whole.code == 0, whole.err
    damage(two, year_city_events)
    res = _report(run_cli, two, tmp_path / "out")
    assert res.code == 0, res.err
    out = tmp_path / "out"
    failures = pd.read_csv(out / "failures.csv")
    assert failures["model"].tolist() == ["other"] * len(expected)
    assert dict(zip(failures["part"], failures["reason"], strict=True)).keys() == expected.keys()
    for part, words in expected.items():
        [reason] = failures.loc[failures["part"] == part, "reason"]
        assert words in reason and "\n" not in reason
        assert "not reported: other: " in res.err and words in res.err
    assert "1 of 2 models reported in full" in res.err
    page = (out / "effectiveness.html").read_text(encoding="utf-8")
    assert "other: not reported in full" in page
    # burglary is reported as when it is reported alone, value for value
    for name in ("periods.csv", "monitor_periods.csv", "flags.csv", "dosage.csv"):
        got = pd.read_csv(out / name)
        if "model" in got.columns and len(got):
            got = got.loc[got["model"] == "burglary"].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, pd.read_csv(tmp_path / "whole" / name))
    assert len(pd.read_csv(out / "monitor_periods.csv").query("model == 'burglary'")) == 12
    periods = pd.read_csv(out / "periods.csv")
    assert periods.query("model == 'burglary'")["as_of"].nunique() == 12
    # what did not fail of ``other`` is reported
    realised_failed = bool({"realised", "registry"} & expected.keys())
    assert ("other" in set(periods["model"])) != realised_failed
    monitor_failed = bool({"monitor", "registry"} & expected.keys())
    assert (pd.read_csv(out / "monitor_summary.csv")["model"] == "other").any() != monitor_failed


def test_every_model_failing_writes_the_report_and_exits_2(
    two: Env, year_city_events: pd.DataFrame, tmp_path: Path, run_cli: Any
) -> None:
    damage_metadata(two, year_city_events)
    last = sorted(_snapshots(two, "burglary").glob("2023-12-25/*.json.gz"))[-1]
    last.write_bytes(b"xx")
    res = _report(run_cli, two, tmp_path / "out")
    assert res.code == 2, res.err
    assert "0 of 2 models reported in full" in res.err
    failures = pd.read_csv(tmp_path / "out" / "failures.csv")
    assert sorted(zip(failures["model"], failures["part"], strict=True)) == [
        ("burglary", "monitor"),
        ("burglary", "realised"),
        ("other", "monitor"),
        ("other", "realised"),
    ]
    assert "burglary: not reported in full" in (tmp_path / "out" / "effectiveness.html").read_text()


def test_a_wrong_threshold_is_still_refused_before_any_work(
    two: Env, tmp_path: Path, run_cli: Any
) -> None:
    res = _report(run_cli, two, tmp_path / "out", "--monitor-window", "4", "--monitor-repeat", "5")
    assert res.code == 2
    assert "monitor repeat 5 must be between 1 and window 4" in res.err
    assert not (tmp_path / "out").exists()


def test_the_api_reports_the_failed_model_and_serves_the_other(
    two: Env, year_city_events: pd.DataFrame
) -> None:
    with TestClient(create_app(settings_of(two.root))) as client:
        damage_snapshot(two, year_city_events)
        headers = {"Authorization": f"Bearer {two.read}"}
        effectiveness = client.get("/v1/effectiveness", headers=headers)
        assert effectiveness.status_code == 200, effectiveness.text
        body = effectiveness.json()
        assert [m["name"] for m in body["models"]] == ["burglary"]
        assert len(body["models"][0]["periods"]) == 12
        [failed] = body["failed"]
        assert (failed["model"], failed["part"]) == ("other", "realised")
        assert "2023-12-25" in failed["reason"] and "Not a gzipped file" in failed["reason"]
        assert "<state>/snapshots/other/" in failed["reason"]  # not the server's folders
        assert str(two.root) not in failed["reason"]
        broken = client.get("/v1/monitor?model=other", headers=headers)
        assert broken.status_code == 503, broken.text
        assert broken.headers["content-type"].startswith("application/problem+json")
        detail = broken.json()["detail"]
        assert detail.startswith("other: feedback-loop monitor not computed: snapshot file")
        assert "<state>/snapshots/other/" in detail and str(two.root) not in detail
        fine = client.get("/v1/monitor?model=burglary", headers=headers)
        assert fine.status_code == 200 and fine.json()["periods_served"] == 12
        wrong = client.get("/v1/monitor?model=other&window=4&repeat=5", headers=headers)
        assert wrong.status_code == 422  # the request is wrong before the record is read


def test_a_programming_error_is_not_taken_for_a_failed_model(
    two: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise TypeError("a defect, not a damaged record")

    monkeypatch.setattr(serving_monitor, "model_monitor", broken)
    loaded = {"burglary": Registry(two.root / "models").load("burglary")}
    with pytest.raises(TypeError, match="a defect"):
        serving_monitor.monitors_from_records(settings_of(two.root), loaded)


def test_a_model_published_or_removed_while_serving_is_not_answered_stale(
    env_copy: Env, year_panel: Panel
) -> None:
    """``other``, published after the service started (it serves ``burglary`` only, with
    no refresh), is scored from its snapshots after a first answer; removed from the
    registry, it is a failure at once. The cached figures used to hide both."""
    registry = Registry(env_copy.root / "models")
    store = SnapshotStore(settings_of(env_copy.root).state_dir / "snapshots")
    burglary = registry.load("burglary").forecaster
    for as_of in SERVED:
        store.save(
            publish_forecast(burglary, year_panel, name="burglary", version="v1", as_of=as_of)
        )
    headers = {"Authorization": f"Bearer {env_copy.read}"}
    with TestClient(create_app(settings_of(env_copy.root))) as client:

        def answer() -> dict[str, Any]:
            res = client.get("/v1/effectiveness", headers=headers)
            assert res.status_code == 200, res.text
            body: dict[str, Any] = res.json()
            return body

        first = answer()
        assert [m["name"] for m in first["models"]] == ["burglary"] and first["failed"] == []
        model = make_forecaster("historical_mean", target=(TARGET,)).fit(year_panel)
        registry.publish("other", model, spec=SPEC, data={"timezone": TIMEZONE}, backtest={})
        for as_of in SERVED:
            store.save(publish_forecast(model, year_panel, name="other", version="v1", as_of=as_of))
        assert set(client.app.state.service.served) == {"burglary"}  # not served
        second = answer()
        assert [m["name"] for m in second["models"]] == ["burglary", "other"]
        mine, its = (m["periods"] for m in second["models"])
        assert len(its) == 12 and its == mine  # the same model on the same weeks
        shutil.rmtree(env_copy.root / "models" / "other")
        third = answer()
        assert [m["name"] for m in third["models"]] == ["burglary"]
        [failed] = third["failed"]
        assert (failed["model"], failed["part"]) == ("other", "registry")
        assert "no model named 'other'" in failed["reason"]
