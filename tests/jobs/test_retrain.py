"""``hotspots retrain`` as a library call: the challenger against the deployed champion and
the baselines on the periods since the champion's fit, promoted only when it wins."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hotspots.errors import ConfigError, ModelNotFoundError
from hotspots.evaluation import backtest, rolling_origin_folds
from hotspots.features import events_to_panel
from hotspots.feedback.monitor_report import MANIFEST_KEY
from hotspots.forecasters import make_forecaster
from hotspots.jobs.retrain import retrain, retrain_history
from hotspots.jobs.retrain_rule import CHAMPION, champion_forecasts, decide
from hotspots.jobs.spec import TrainingSpec, spec_from_dict
from hotspots.registry import Registry
from retrain_env import NAME, TARGET, make_env


def test_a_challenger_with_more_data_is_promoted(
    tmp_path: Path, year_city_events: pd.DataFrame
) -> None:
    # the champion was fitted on the first week: it covers only the cells that had events
    # then, and misses the rest of the area's hotspots
    env = make_env(tmp_path, year_city_events)
    outcome = retrain(env.spec, env.registry, env.posted)
    assert outcome.status == "promoted" and outcome.version == "v2"
    assert env.registry.current(NAME) == "v2"
    manifest = env.registry.manifest(NAME, "v2")
    record = manifest["notes"]["retrain"]
    assert record["outcome"] == "promoted"
    assert record["champion"].startswith("v1 (historical_mean, last period fitted 2023-01-02")
    # the recent folds are the spec's 4 last weeks, all after the champion's fit
    assert record["folds"] == 4 and record["fold_span"] == ["2023-12-04", "2023-12-25"]
    assert record["challenger_pai"] > record["champion_pai"]
    assert record["challenger_pai"] >= record["best_baseline_pai"]
    assert record["best_baseline"] == "last_period"
    assert 0.5 < record["win_share_vs_champion"] <= 1
    # trained on the export plus the posted batch, to the last whole week (not window.until)
    assert record["posted_events"] == env.n_posted > 1000
    assert manifest["data"]["training_until"] == "2024-01-01T00:00:00"
    assert manifest["data"]["posted_batches"] == 1
    assert "## Retraining" in (env.registry.root / NAME / "v2" / "MODEL_CARD.md").read_text()
    assert outcome.line().startswith(f"retrain {NAME}: promoted v2 (historical_mean) over v1: ")


def test_a_weaker_challenger_is_published_not_promoted_and_says_why(
    tmp_path: Path, year_city_events: pd.DataFrame
) -> None:
    env = make_env(
        tmp_path,
        year_city_events,
        kind="last_period",
        baselines=("historical_mean",),
        champion_until="2023-11-27",
    )
    outcome = retrain(env.spec, env.registry, env.posted)
    assert outcome.status == "kept" and outcome.version == "v2"
    assert env.registry.current(NAME) == "v1"
    record = env.registry.manifest(NAME, "v2")["notes"]["retrain"]
    assert record["outcome"] == "published, not promoted"
    assert record["challenger"] == "last_period"
    assert record["challenger_pai"] < record["champion_pai"]
    assert "< champion v1" in record["reason"] and "v1 stays current" in record["reason"]
    history = retrain_history(env.registry, NAME)
    assert history[["version", "current", "outcome"]].values.tolist() == [
        ["v2", False, "published, not promoted"]
    ]


def test_the_manifest_says_how_many_folds_the_retrain_ran_not_the_specs(
    tmp_path: Path, year_city_events: pd.DataFrame
) -> None:
    # the champion saw all but the last two weeks: the retrain can compare on two folds only,
    # fewer than the spec's backtest.folds = 4, and the manifest must say two
    env = make_env(tmp_path, year_city_events, champion_until="2023-12-18")
    assert env.spec.backtest.folds == 4
    outcome = retrain(env.spec, env.registry, env.posted)
    manifest = env.registry.manifest(NAME, outcome.version or "")
    record = manifest["notes"]["retrain"]
    assert record["folds"] == 2 and record["fold_span"] == ["2023-12-18", "2023-12-25"]
    assert manifest["backtest"]["folds"] == 2
    # and the table the card shows agrees: two folds scored per model
    assert {row["n_folds"] for row in manifest["backtest"]["table"]} == {2}


def test_running_again_on_the_same_data_publishes_nothing(
    tmp_path: Path, year_city_events: pd.DataFrame
) -> None:
    env = make_env(tmp_path, year_city_events, kind="last_period", baselines=("historical_mean",))
    first = retrain(env.spec, env.registry, env.posted)
    again = retrain(env.spec, env.registry, env.posted)
    assert first.status == "kept" and again.status == "skipped" and again.version is None
    assert "v2 was already retrained on these data" in again.reason
    assert env.registry.versions(NAME) == ["v1", "v2"]


def test_after_a_promotion_there_is_nothing_to_compare_on(
    tmp_path: Path, year_city_events: pd.DataFrame
) -> None:
    env = make_env(tmp_path, year_city_events)
    assert retrain(env.spec, env.registry, env.posted).status == "promoted"
    again = retrain(env.spec, env.registry, env.posted)
    assert again.status == "skipped"
    assert (
        "no whole W period after 2023-12-25, the last one champion v2 was fitted on" in again.reason
    )
    assert env.registry.versions(NAME) == ["v1", "v2"]


def test_no_current_version_and_another_target_are_refused(
    tmp_path: Path, year_city_events: pd.DataFrame
) -> None:
    env = make_env(tmp_path, year_city_events)
    with pytest.raises(ModelNotFoundError, match="publish one first with `hotspots train SPEC`"):
        retrain(env.spec, Registry(tmp_path / "empty"), env.posted)
    other = make_forecaster("historical_mean", target=("Robbery",)).fit(
        events_to_panel(year_city_events, 8, "W", end=pd.Timestamp("2023-02-06"))
    )
    env.registry.publish(NAME, other, spec={}, data={}, backtest={})  # v2, current
    with pytest.raises(ConfigError, match=r"forecasts \['Robbery'\]; the spec's target is"):
        retrain(env.spec, env.registry, env.posted)


def test_the_champion_is_scored_as_deployed_on_the_same_folds(
    year_city_events: pd.DataFrame,
) -> None:
    panel = events_to_panel(year_city_events, 8, "W")
    early = events_to_panel(year_city_events, 8, "W", end=pd.Timestamp("2023-03-06"))
    champion = make_forecaster("historical_mean", target=(TARGET,)).fit(early)
    folds = rolling_origin_folds(panel.periods, 3)
    got = champion_forecasts(champion, panel, folds)
    # as deployed: its own forecast from the history before each fold, on its own cells
    # (those with events before March); the cells it never saw are forecast 0
    pos = pd.Index(panel.cells).get_indexer(pd.Index(early.cells))
    assert got.shape == (3, panel.cells.size) and (pos >= 0).all()
    for i, fold in enumerate(folds):
        own = champion.predict(panel, fold.as_of)["expected_count"].to_numpy()
        np.testing.assert_allclose(got[i, pos], own)
    outside = np.ones(panel.cells.size, dtype=bool)
    outside[pos] = False
    assert outside.sum() > 0 and (got[:, outside] == 0).all()
    assert champion.fit_end_ == pd.Timestamp("2023-02-27")  # never refitted
    models = {"historical_mean": make_forecaster("historical_mean", target=(TARGET,))}
    result = backtest(models, panel, folds, coverages=(0.05,), references={CHAMPION: got})
    spec = _spec()
    verdict = decide(result, spec, "v1")
    table = result.table("5%", references=True)["pai"]
    assert verdict.scores[CHAMPION] == pytest.approx(table[CHAMPION])
    assert verdict.promote == (table["historical_mean"] >= table[CHAMPION])


def _spec() -> TrainingSpec:
    return spec_from_dict(
        {
            "name": NAME,
            "data": {"events": "x.csv"},
            "model": {"kind": "historical_mean", "baselines": []},
            "backtest": {"coverages": [0.05], "select_coverage": 0.05},
        }
    )


def test_two_retrains_at_once_publish_one_version(
    tmp_path: Path, year_city_events: pd.DataFrame
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    env = make_env(tmp_path, year_city_events, kind="last_period", baselines=("historical_mean",))
    with ThreadPoolExecutor(2) as pool:  # cron and a service worker, say
        runs = list(pool.map(lambda _: retrain(env.spec, env.registry, env.posted), range(2)))
    assert sorted(r.status for r in runs) == ["kept", "skipped"]
    assert env.registry.versions(NAME) == ["v1", "v2"]


def test_the_record_states_the_figures_at_each_coverage_weighed(
    tmp_path: Path, year_city_events: pd.DataFrame
) -> None:
    env = make_env(tmp_path, year_city_events)
    both = env.spec.backtest.model_copy(update={"select_also": (0.10,)})
    spec = env.spec.model_copy(update={"backtest": both})
    outcome = retrain(spec, env.registry, env.posted)
    record = env.registry.manifest(NAME, outcome.version or "")["notes"]["retrain"]
    assert record["coverages"] == "5%, 10%"
    assert "averaged over 5%, 10%" in record["rule"]
    pai5 = (record["challenger_pai"], record["champion_pai"], record["best_baseline_pai"])
    pai10 = (
        record["challenger_pai@10%"],
        record["champion_pai@10%"],
        record["best_baseline_pai@10%"],
    )
    assert record["best_baseline@10%"] == "last_period"
    assert record["ratio_vs_champion"] == pytest.approx(
        (pai5[0] / pai5[1] + pai10[0] / pai10[1]) / 2, rel=1e-3
    )
    assert record["ratio_vs_baseline"] == pytest.approx(
        (pai5[0] / pai5[2] + pai10[0] / pai10[2]) / 2, rel=1e-3
    )
    # the champion fitted on the first week is behind at both coverages here
    assert record["ratio_vs_champion"] > 1 and record["ratio_vs_baseline"] > 1
    assert outcome.status == "promoted" and record["outcome"] == "promoted"
    assert (
        f"historical_mean PAI@5%/10% {pai5[0]:.2f}/{pai10[0]:.2f} against champion v1 "
        f"{pai5[1]:.2f}/{pai10[1]:.2f}: mean {record['ratio_vs_champion']:.3f}x"
    ) in record["reason"]
    history = retrain_history(env.registry, NAME)
    assert history[["coverages", "ratio_vs_champion"]].values.tolist() == [
        ["5%, 10%", record["ratio_vs_champion"]]
    ]


def test_the_monitor_reference_is_the_champions_not_one_from_the_weeks_it_was_in_use(
    tmp_path: Path, year_city_events: pd.DataFrame
) -> None:
    """The retrain's folds are the weeks since the champion's fit, when it was in use: a
    loop there would be in a reference measured on them, and each weekly retrain would
    raise the bar to it. The new version keeps the champion's training-time reference
    (recorded crime before use) and says where it came from; the demo's v2 recorded 10.99
    from its 6 weeks in use against v1's 9.22, and a 1-week retrain none."""
    env = make_env(tmp_path, year_city_events)
    before = {
        "model": "historical_mean",
        "reference": {"concentration": 7.5, "repeat_share": 0.8, "source": "x on the backtest"},
        "thresholds": {"window": 8, "repeat": 6, "coverage": 0.01, "pool": 4},
        "periods": 12,
    }
    champion = env.registry.load(NAME)
    env.registry.publish(
        NAME, champion.forecaster, spec=env.spec.to_dict(), data={"timezone": "UTC"},
        backtest={}, notes={MANIFEST_KEY: before},
    )  # fmt: skip
    outcome = retrain(env.spec, env.registry, env.posted)
    assert outcome.version == "v3"
    record = env.registry.manifest(NAME, "v3")["notes"][MANIFEST_KEY]
    assert record["reference"] == {
        "concentration": 7.5,
        "repeat_share": 0.8,
        "source": "x on the backtest (of v2, kept by retrain: its folds were weeks v2 was in use)",
    }
    assert record["thresholds"] == before["thresholds"] and record["periods"] == 12
    card = (env.registry.root / NAME / "v3" / "MODEL_CARD.md").read_text()
    assert "Kept by retrain from v2, measured before use" in card
