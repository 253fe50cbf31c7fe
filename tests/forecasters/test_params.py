"""The parameter declarations of forecasters.params: what a forecaster of one's own gets."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import pytest
from pydantic import Field

from hotspots.errors import ConfigError
from hotspots.forecasters import Forecaster
from hotspots.forecasters.params import Periods, check_params


class _OwnForecaster(Forecaster):
    name = "test_own_params"

    def __init__(
        self,
        *,
        target: Any = None,
        weights: np.ndarray | None = None,  # pydantic cannot check an array: not checked
        loose=None,  # no hint: not checked
        window: Periods = 3,
        power: Annotated[float, Field(gt=1)] = 2.0,
    ) -> None:
        self.target = target
        self.weights = weights
        self.loose = loose
        self.window = window
        self.power = power


def test_hints_pydantic_cannot_check_are_not_checked() -> None:
    check_params(_OwnForecaster, "own", {"weights": np.ones(3), "loose": object()})


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"window": 0}, "window is out of range: 0 (own: must be greater than or equal to 1)"),
        ({"power": 1}, "power is out of range: 1 (own: must be greater than 1)"),
        ({"window": "3"}, "window '3' of 'own' is not a valid int: must be a valid integer"),
        ({"windows": 3}, "windows is not a parameter of 'own'; its parameters are: ['loose',"),
    ],
)
def test_declared_ranges_and_names_are_checked(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        check_params(_OwnForecaster, "own", params)
    assert str(err.value).startswith(message)
