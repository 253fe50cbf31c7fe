"""Rolling-origin folds: which periods are forecast and when models are refitted."""

from __future__ import annotations

import pandas as pd
import pytest

from hotspots.errors import ConfigError
from hotspots.evaluation import Fold, rolling_origin_folds

PERIODS = pd.date_range("2024-01-01", periods=10, freq="W-MON")


def test_the_last_periods_are_forecast_from_one_fit_by_default() -> None:
    folds = rolling_origin_folds(PERIODS, 3)
    assert [f.as_of for f in folds] == list(PERIODS[7:])
    assert {f.fit_until for f in folds} == {PERIODS[7]}
    assert all(isinstance(f.as_of, pd.Timestamp) for f in folds)


def test_refit_every_k_folds_groups_the_folds() -> None:
    folds = rolling_origin_folds(PERIODS, 5, refit_every=2)
    assert [f.fit_until for f in folds] == [PERIODS[i] for i in (5, 5, 7, 7, 9)]
    every = rolling_origin_folds(PERIODS, 3, refit_every=1)
    assert [f.fit_until for f in every] == [f.as_of for f in every]
    once = rolling_origin_folds(PERIODS, 3, refit_every=3)
    assert once == rolling_origin_folds(PERIODS, 3)


def test_too_short_a_panel_is_refused_naming_the_numbers() -> None:
    assert len(rolling_origin_folds(PERIODS, 6, min_train_periods=4)) == 6
    with pytest.raises(
        ConfigError, match="7 folds .* 4 training periods need 11 periods; there are 10"
    ):
        rolling_origin_folds(PERIODS, 7, min_train_periods=4)
    with pytest.raises(ConfigError, match="need 11 periods"):
        rolling_origin_folds(PERIODS, 10)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"n_folds": 0}, "n_folds"),
        ({"n_folds": 2, "refit_every": 0}, "refit_every"),
        ({"n_folds": 2, "min_train_periods": 0}, "min_train_periods"),
    ],
)
def test_bad_numbers_are_refused(kwargs: dict[str, int], word: str) -> None:
    with pytest.raises(ConfigError, match=word):
        rolling_origin_folds(PERIODS, **kwargs)


def test_a_fold_cannot_fit_after_its_forecast() -> None:
    with pytest.raises(ConfigError, match="fit_until 2024-01-15 .* after as_of 2024-01-08"):
        Fold(pd.Timestamp("2024-01-08"), pd.Timestamp("2024-01-15"))
    with pytest.raises(ConfigError, match="increasing"):
        rolling_origin_folds(PERIODS[::-1], 2)
