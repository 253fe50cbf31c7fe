"""A plan request as the CLI and the service take it: the normalised query a plan book
caches by, and the parsing of its crime types and weights (``name=w,...``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hotspots.errors import ConfigError
from hotspots.publishing.plan_shifts import DEFAULT_SHIFTS, parse_shifts
from hotspots.publishing.plans import PlanBudget


def reading_type(types: Iterable[str]) -> str:
    """Of a plan's crime types (model names), the one whose model's reading of the events
    the plan's when and history read: the first by name. Models may read one export
    differently (``jobs.data.event_options``: placeholder minutes, date order), so a plan of
    some types reads the events as the first of them does, from the CLI and the API alike."""
    return min(types)


@dataclass(frozen=True)
class PlanQuery:
    """A plan request, normalised: equal queries give equal bytes (and share a cache entry).

    ``types`` are the chosen crime types (model names; empty: every one the book can
    combine); ``weights`` are sorted ``(type, weight)`` pairs other than 1; ``stop`` is the
    areas' stop rule (``plans.STOPS``); ``shifts`` the sorted start hours of the blocks of
    the day (``plan_shifts.parse_shifts``).
    """

    budget: PlanBudget
    types: tuple[str, ...] = ()
    weights: tuple[tuple[str, float], ...] = ()
    horizon: int = 1
    fmt: str = "json"
    stop: str = "cap"
    shifts: tuple[int, ...] = parse_shifts(DEFAULT_SHIFTS)
    note: str | None = None
    """Why ``budget`` is not the configured default (fitted to the study area), if it is not."""


def parse_weights(
    text: str | None,
    names: Iterable[str],
    flag: str = "--weights",
    what: str = "--model",
    targets: Mapping[str, tuple[str, ...] | None] | None = None,
) -> dict[str, float]:
    """``name=w,...`` -> {name: w}; every name must be one of ``names`` (each a ``what``) or,
    given ``targets`` (name -> the categories its target counts), a category exactly one of
    them counts, as ``category=`` takes; each type once, each weight >= 0, and not every one
    of ``names`` weighed 0 (a plan of nothing: every cell would score 0, so the areas would
    be wherever the lowest cell ids are)."""
    if not text:
        return {}
    known = list(names)
    out: dict[str, float] = {}
    for part in text.split(","):
        given, sep, value = part.partition("=")
        given = given.strip()
        try:
            weight = float(value)
        except ValueError:
            weight = float("nan")
        if not sep or not given or not weight >= 0 or weight == float("inf"):
            raise ConfigError(f"{flag} {text!r}: {part!r} is not name=weight (weight >= 0)")
        name = _weighed(given, known, targets or {}, flag, what)
        if name in out:  # the last would win silently, whichever the analyst meant
            twice = repr(name) if name == given else f"{name!r} (as {given!r})"
            raise ConfigError(f"{flag} {text!r}: {twice} is given twice; give each once")
        out[name] = weight
    if all(out.get(name, 1.0) == 0 for name in known):
        raise ConfigError(
            f"{flag} {text!r}: every crime type of the plan weighs 0, so no cell would count; "
            "give at least one a weight above 0"
        )
    return out


def _weighed(
    given: str,
    known: list[str],
    targets: Mapping[str, tuple[str, ...] | None],
    flag: str,
    what: str,
) -> str:
    """The type of ``known`` a weight names: by its name, or by a category only it counts."""
    if given in known:
        return given
    found = sorted(k for k in known if given in (targets.get(k) or ()))
    if len(found) == 1:
        return found[0]
    if found:
        raise ConfigError(
            f"{flag} names {given!r}, a category {found} all count: give a model name instead"
        )
    raise ConfigError(f"{flag} names {given!r}, which is not a {what} ({known})")


def select_types(
    targets: Mapping[str, tuple[str, ...] | None],
    categories: Iterable[str],
    *,
    flag: str = "category",
    left_out: tuple[str, ...] = (),
) -> tuple[str, ...]:
    """The crime types (keys of ``targets``: model name -> the categories its target counts)
    that ``categories`` name, each by model name or by a category; sorted, unique, empty when
    none is given. ``left_out`` are types that cannot share the plan (named in the error:
    ``PlanBook.excluded``, or those ``hotspots plan`` leaves out by the same rule)."""
    chosen: set[str] = set()
    for value in categories:
        if value in targets:
            chosen.add(value)
            continue
        found = {k for k, v in targets.items() if v and value in v}
        if not found:
            other = (
                f"; left out (another period, H3 resolution or as_of than the first type): "
                f"{sorted(left_out)}"
                if left_out
                else ""
            )
            counted = sorted({c for v in targets.values() for c in v or ()})
            raise ConfigError(
                f"{flag} {value!r} is not a crime type of this plan: give a model name "
                f"{list(targets)} or a category {counted}{other}"
            )
        chosen |= found
    return tuple(sorted(chosen))
