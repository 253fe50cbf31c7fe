"""A plan's budget: how much ground the patrols can cover (``PlanBudget``), the checks
that refuse, naming the value, a budget no plan can meet on a model's cells, or one larger than
a plan allows or than the whole study area (``check_budget``), and the default budget fitted to
a study area too small for it (``fit_to_study_area``).

``grid.regions`` grows the areas under it (and re-exports these names).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hotspots.errors import ConfigError
from hotspots.plan_limits import MAX_AREA_CELLS

FloatArray = npt.NDArray[np.float64]

_SLACK = 1e-9
"""Relative slack on area limits, so a limit of exactly k cells' area admits k cells."""


@dataclass(frozen=True)
class PlanBudget:
    """How much ground the patrols can cover.

    ``areas`` areas of at most ``max_area_km2`` each; with ``total_km2`` the areas together cover
    at most that much (each still under ``max_area_km2`` when given, else ``total_km2 / areas``);
    an area then leaves at least one cell's area for each area still to come.
    """

    areas: int
    max_area_km2: float | None = None
    total_km2: float | None = None

    def per_area_km2(self) -> float:
        """The largest one area may be."""
        if self.max_area_km2 is not None:
            return float(self.max_area_km2)
        if self.total_km2 is None:
            raise ConfigError("a plan budget needs max_area_km2 or total_km2")
        return float(self.total_km2) / self.areas

    def total_limit_km2(self) -> float:
        """The most all areas together may cover."""
        per_area = self.per_area_km2() * self.areas
        return per_area if self.total_km2 is None else min(per_area, float(self.total_km2))

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "areas": self.areas,
            "max_area_km2": self.max_area_km2,
            "total_km2": self.total_km2,
        }


def check_budget(budget: PlanBudget, cell_km2: FloatArray, resolution: int) -> None:
    """ConfigError naming the value when no plan can meet ``budget`` on these cells."""
    if budget.areas < 1:
        raise ConfigError(f"--areas {budget.areas}: a plan needs at least one area")
    _check_km2(budget)
    if budget.areas > cell_km2.size:
        raise ConfigError(
            f"--areas {budget.areas}: more areas than the model's {cell_km2.size:,} cells"
        )
    smallest = float(cell_km2.min())
    if budget.per_area_km2() * (1 + _SLACK) < smallest:
        raise ConfigError(
            f"{_given(budget)}: an area of at most {budget.per_area_km2():.4g} km2 is smaller "
            f"than one cell ({_ceil4(smallest):.4g} km2 at H3 resolution {resolution}); allow at "
            "least that much"
        )
    study_first = float(cell_km2.sum()) < MAX_AREA_CELLS * smallest  # name the tighter limit
    if study_first:
        _check_study_area(budget, cell_km2, resolution)
    _check_largest(budget, smallest, resolution)
    if not study_first:
        _check_study_area(budget, cell_km2, resolution)
    if budget.total_limit_km2() * (1 + _SLACK) < smallest * budget.areas:
        raise ConfigError(
            f"total_km2 {budget.total_km2:g}: a total of {budget.total_limit_km2():.4g} km2 "
            f"cannot hold {budget.areas} areas of at least one cell ({_ceil4(smallest):.4g} km2 "
            f"each at H3 resolution {resolution})"
        )


def fit_to_study_area(
    budget: PlanBudget,
    cell_km2: FloatArray,
    resolution: int,
    *,
    areas: bool = True,
    km2: bool = True,
) -> tuple[PlanBudget, str | None]:
    """A default budget fitted to a study area too small for it, and a sentence saying so
    (None, and ``budget`` itself, when it fits).

    A default is no one's request: where it asks for more areas than there are cells (fitted
    when ``areas``, the number not asked for) or more ground than the whole study area
    (fitted when ``km2``, no km2 limit asked for), it gets fewer areas, and smaller ones: at
    most an even share of the study area each (never under its largest cell, so each area can
    hold one), so the plan stays a plan rather than a refusal. What was asked for is not
    fitted: ``check_budget`` refuses it, naming the value.
    """
    whole, cells = float(cell_km2.sum()), int(cell_km2.size)
    count = min(budget.areas, cells) if areas else budget.areas
    too_big = km2 and budget.total_limit_km2() > whole * (1 + _SLACK)
    if count == budget.areas and not too_big:
        return budget, None
    per_area, total = budget.max_area_km2, budget.total_km2
    if too_big:  # a total alone would share the ground evenly: a cell above the mean fits none
        share = max(_floor4(whole / max(count, 1)), float(cell_km2.max()))
        per_area = min(budget.per_area_km2(), share)
        total = None if total is None else min(total, whole)
    fitted = PlanBudget(count, per_area, total)
    why = [f"more areas than its {cells:,} cells"] if count < budget.areas else []
    why += [f"more ground than its {_floor4(whole):.4g} km2"] if too_big else []
    return fitted, (
        f"fitted to the study area ({cells:,} cells at H3 resolution {resolution}): the default "
        f"budget, {_words(budget)}, asks for {' and '.join(why)}; this plan has "
        f"{_words(fitted)}. A budget asked for is not fitted."
    )


def _words(budget: PlanBudget) -> str:
    """``6 areas of at most 1 km2`` (and the total, when one is set)."""
    text = f"{budget.areas} areas of at most {budget.per_area_km2():.4g} km2"
    return text if budget.total_km2 is None else f"{text}, {budget.total_km2:.4g} km2 in all"


def _check_km2(budget: PlanBudget) -> None:
    """ConfigError naming a km2 limit that is not a positive, finite number."""
    for name, value in (("max_area_km2", budget.max_area_km2), ("total_km2", budget.total_km2)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ConfigError(f"{name} {value}: must be a positive number of km2")


def _check_largest(budget: PlanBudget, smallest: float, resolution: int) -> None:
    """ConfigError naming the limit when one area could hold more than ``MAX_AREA_CELLS``
    cells of ``smallest`` km2 (growing it would take minutes)."""
    largest = MAX_AREA_CELLS * smallest
    if budget.per_area_km2() > largest * (1 + _SLACK):
        raise ConfigError(
            f"{_given(budget)}: an area of up to {budget.per_area_km2():.4g} km2 is larger than "
            f"a plan allows ({MAX_AREA_CELLS} cells, {_floor4(largest):.4g} km2 "
            f"at H3 resolution {resolution}); ask for at most that much"
        )


def _check_study_area(budget: PlanBudget, cell_km2: FloatArray, resolution: int) -> None:
    """ConfigError naming a limit larger than the whole study area (the cells' km2): no patrol
    covers more ground than there is, so such a limit is a slip (a digit, a unit), and one area
    could take every cell and leave the other areas none."""
    whole = float(cell_km2.sum())
    where = (
        f"the whole study area ({_floor4(whole):.4g} km2, {cell_km2.size:,} cells at H3 "
        f"resolution {resolution}); ask for at most that much"
    )
    if budget.per_area_km2() > whole * (1 + _SLACK):
        raise ConfigError(
            f"{_given(budget)}: an area of up to {budget.per_area_km2():.4g} km2 is larger than "
            + where
        )
    if budget.total_km2 is not None and budget.total_km2 > whole * (1 + _SLACK):
        raise ConfigError(f"total_km2 {budget.total_km2:g}: more ground than {where}")


def _floor4(km2: float, to: Callable[[float], int] = math.floor) -> float:
    """``km2`` rounded down to 4 significant digits: a limit shown so is itself allowed
    (``to=math.ceil``: rounded up, for a least limit)."""
    digits = 3 - math.floor(math.log10(km2))
    step = 10.0**-digits
    return round(to(km2 / step) * step, digits)  # 0.1238, not 0.12380000000000001


def _ceil4(km2: float) -> float:
    """``km2`` rounded up to 4 significant digits: one cell's 0.110925 km2 is shown 0.1110,
    a limit that holds it (shown 0.1109, the least a message asked for was too small)."""
    return _floor4(km2, math.ceil)


def _given(budget: PlanBudget) -> str:
    if budget.max_area_km2 is not None:
        return f"max_area_km2 {budget.max_area_km2:g}"
    return f"total_km2 {budget.total_km2:g} over {budget.areas} areas"
