"""The ensemble forecaster: a weighted geometric mean of its members, rescaled to their total."""

from __future__ import annotations

import numpy as np
import pytest

from hotspots.errors import ConfigError
from hotspots.features import Panel
from hotspots.forecasters.base import make_forecaster

TARGET = ("Burglary Residential",)
UNTIL, AS_OF = "2023-10-02", "2023-10-09"


def forecast(kind: str, panel: Panel, **params: object) -> np.ndarray:
    model = make_forecaster(kind, target=TARGET, **params).fit(panel, until=UNTIL)
    return model.predict(panel, AS_OF, horizon=2)["expected_count"].to_numpy().reshape(2, -1)


def test_the_blend_is_the_weighted_geometric_mean_at_the_members_total(year_panel: Panel) -> None:
    members = ("historical_mean", "rolling_mean")
    a, b = (forecast(m, year_panel) for m in members)
    got = forecast("ensemble", year_panel, members=members, weights=(3.0, 1.0))
    geo = np.exp(0.75 * np.log(np.maximum(a, 1e-6)) + 0.25 * np.log(np.maximum(b, 1e-6)))
    geo[(a <= 1e-6) | (b <= 1e-6)] = 0.0
    want = geo * ((0.75 * a + 0.25 * b).sum(axis=1) / geo.sum(axis=1))[:, None]
    np.testing.assert_allclose(got, want, rtol=1e-9)
    # a cell ranks high only where both members rank it high
    assert got.sum() == pytest.approx((0.75 * a + 0.25 * b).sum())
    only_first = forecast("ensemble", year_panel, members=members, weights=(1.0, 0.0))
    np.testing.assert_allclose(only_first, a, rtol=1e-9)


def test_member_parameters_reach_the_members(year_panel: Panel) -> None:
    params = {"rolling_mean": {"window": 2}}
    got = forecast(
        "ensemble", year_panel, members=("rolling_mean", "last_period"), weights=(1.0, 0.0),
        member_params=params,
    )  # fmt: skip
    np.testing.assert_allclose(got, forecast("rolling_mean", year_panel, window=2), rtol=1e-9)


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"members": ("historical_mean",)}, "two or more"),
        ({"members": ("historical_mean", "nope")}, "'nope'"),
        ({"members": ("historical_mean", "kde"), "weights": (1.0,)}, "weights must be 2"),
        ({"members": ("historical_mean", "kde"), "weights": (0.0, 0.0)}, "not all 0"),
    ],
)
def test_bad_members_and_weights_are_named(
    year_panel: Panel, params: dict[str, object], words: str
) -> None:
    with pytest.raises(ConfigError, match=words):
        make_forecaster("ensemble", target=TARGET, **params).fit(year_panel, until=UNTIL)
