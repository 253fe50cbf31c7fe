"""The retrain rule weighs the coverages ``hotspots train`` weighs, the same way: the
challenger's PAI over the champion's and over the best baseline's (the best at each coverage),
averaged over ``select_coverage`` and ``select_also``, must be >= 1 for both."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

from hotspots.evaluation import Cutoff
from hotspots.jobs.retrain_rule import CHAMPION, decide, rule
from hotspots.jobs.spec import TrainingSpec, spec_from_dict

Scores = dict[str, float]


def rule_spec(select_also: list[float] | None = None) -> TrainingSpec:
    backtest: dict[str, Any] = {"coverages": [0.01, 0.05], "select_coverage": 0.01}
    if select_also is not None:
        backtest["select_also"] = select_also
    return spec_from_dict(
        {
            "name": "t",
            "data": {"events": "x.csv"},
            "model": {"kind": "lightgbm", "baselines": ["historical_mean", "kde"]},
            "backtest": backtest,
        }
    )


def fake_result(at1: Scores, at5: Scores, n_folds: int = 3) -> Any:
    """A stand-in retrain BacktestResult at 1% and 5%: each model (and the champion, a
    reference) scores the same PAI in every fold, so each win share is 0 or 1."""
    as_of = pd.date_range("2024-01-01", periods=n_folds, freq="7D")
    rows = pd.DataFrame(
        [
            {"model": m, "as_of": t, "cutoff": cutoff, "pai": v}
            for cutoff, scores in (("1%", at1), ("5%", at5))
            for m, v in scores.items()
            for t in as_of
        ]
    )
    tables = {"1%": pd.DataFrame({"pai": at1}), "5%": pd.DataFrame({"pai": at5})}

    def table(cutoff: str, *, references: bool = False) -> pd.DataFrame:
        assert references  # the champion is a reference
        return tables[cutoff]

    return SimpleNamespace(
        cutoffs=(Cutoff.coverage(0.01), Cutoff.coverage(0.05)),
        table=table,
        models=tuple(m for m in at1 if m != CHAMPION),
        folds=tuple(SimpleNamespace(as_of=t) for t in as_of),
        per_fold=rows,
    )


BASE1 = {"historical_mean": 5.0, "kde": 4.0}
BASE5 = {"historical_mean": 2.0, "kde": 2.0}


@pytest.mark.parametrize(
    ("mine", "champion", "default", "alone"),
    [
        # ahead of the champion at 1% (1.02x), well behind at 5% (0.7x): mean 0.86x
        ((10.2, 2.1), (10.0, 3.0), False, True),
        # a hair behind at 1% (0.98x), well ahead at 5% (1.4x): mean 1.19x
        ((9.8, 4.2), (10.0, 3.0), True, False),
        # ahead at both, behind at neither
        ((10.5, 3.3), (10.0, 3.0), True, True),
        ((9.5, 2.7), (10.0, 3.0), False, False),
    ],
)
def test_the_champion_is_weighed_at_each_coverage(
    mine: tuple[float, float], champion: tuple[float, float], default: bool, alone: bool
) -> None:
    # the baselines are far behind at both coverages: only the champion decides
    result = fake_result(
        {"lightgbm": mine[0], CHAMPION: champion[0], **BASE1},
        {"lightgbm": mine[1], CHAMPION: champion[1], **BASE5},
    )
    weighed = decide(result, rule_spec(), "v3")
    assert weighed.promote is default
    assert weighed.labels == ("1%", "5%") and weighed.challenger == "lightgbm"
    mean = (mine[0] / champion[0] + mine[1] / champion[1]) / 2
    assert weighed.ratio_vs_champion == pytest.approx(mean)
    assert weighed.win_vs_champion == (1.0 if default else 0.0)
    op = ">=" if default else "<"
    assert (
        f"lightgbm PAI@1%/5% {mine[0]:.2f}/{mine[1]:.2f} against champion v3 "
        f"{champion[0]:.2f}/{champion[1]:.2f}: mean {mean:.3f}x {op} 1" in weighed.reason
    )
    assert weighed.reason.endswith("promoted" if default else "champion v3 stays current")

    one = decide(result, rule_spec(select_also=[]), "v3")  # the rule before: 1% alone
    assert one.promote is alone and one.labels == ("1%",)
    op = ">=" if alone else "<"
    assert f"lightgbm PAI@1% {mine[0]:.2f} {op} champion v3 {champion[0]:.2f}" in one.reason
    assert "5%" not in one.reason


@pytest.mark.parametrize(
    ("mine", "default", "alone"),
    [
        # ahead of historical_mean at 1% (1.02x), well behind kde at 5% (0.7x)
        ((5.1, 2.1), False, True),
        # behind at 1% (0.98x), well ahead at 5% (1.4x)
        ((4.9, 4.2), True, False),
    ],
)
def test_the_best_baseline_is_weighed_at_each_coverage_its_own(
    mine: tuple[float, float], default: bool, alone: bool
) -> None:
    # the champion is far behind everywhere; the best baseline is historical_mean at 1%
    # and kde at 5%: each coverage against its own best
    result = fake_result(
        {"lightgbm": mine[0], CHAMPION: 1.0, "historical_mean": 5.0, "kde": 4.0},
        {"lightgbm": mine[1], CHAMPION: 0.5, "historical_mean": 2.0, "kde": 3.0},
    )
    weighed = decide(result, rule_spec(), "v3")
    assert weighed.promote is default
    assert weighed.rivals == {"1%": "historical_mean", "5%": "kde"}
    assert weighed.best_baseline == "historical_mean" and weighed.cutoff == "1%"
    mean = (mine[0] / 5.0 + mine[1] / 3.0) / 2
    assert weighed.ratio_vs_baseline == pytest.approx(mean)
    assert weighed.win_vs_baseline == (1.0 if default else 0.0)
    op = ">=" if default else "<"
    assert (
        f"against best baselines historical_mean 5.00/kde 3.00: mean {mean:.3f}x {op} 1"
        in weighed.reason
    )
    one = decide(result, rule_spec(select_also=[]), "v3")
    assert one.promote is alone
    op = ">=" if alone else "<"
    assert f"{op} best baseline historical_mean 5.00" in one.reason


def test_a_challenger_kind_is_ranked_by_the_same_mean() -> None:
    spec = spec_from_dict(
        {
            "name": "t",
            "data": {"events": "x.csv"},
            "model": {
                "kind": "lightgbm",
                "challengers": ["hawkes"],
                "baselines": ["historical_mean"],
            },
            "backtest": {"coverages": [0.01, 0.05], "select_coverage": 0.01},
        }
    )
    # hawkes is ahead at 1% only; lightgbm is ahead on the mean of both
    result = fake_result(
        {"lightgbm": 5.0, "hawkes": 5.4, CHAMPION: 4.0, "historical_mean": 5.0},
        {"lightgbm": 3.0, "hawkes": 2.0, CHAMPION: 2.0, "historical_mean": 2.0},
    )
    assert decide(result, spec, "v1").challenger == "lightgbm"
    one = spec.model_copy(update={"backtest": spec.backtest.model_copy(update={"select_also": ()})})
    assert decide(result, one, "v1").challenger == "hawkes"


def test_no_target_event_promotes_nothing() -> None:
    nan = float("nan")
    result = fake_result(
        {"lightgbm": nan, CHAMPION: nan, **BASE1}, {"lightgbm": nan, CHAMPION: nan, **BASE5}
    )
    verdict = decide(result, rule_spec(), "v3")
    assert not verdict.promote and "no target event in the 3 folds" in verdict.reason


def test_the_rule_in_words_names_the_coverages() -> None:
    assert "averaged over 1%, 5%" in rule(["1%", "5%"]) and ">= 1 for both" in rule(["1%", "5%"])
    assert rule(["1%"]).startswith("promote when the challenger's mean PAI@1% over the recent")
