"""Training specs: the TOML files in ``training/`` that analysts edit, and flag overrides.

A spec says where the events are and how to read them, what to forecast (categories, H3
resolution, period, training window), which model with which parameters, and how to
backtest it. ``hotspots train SPEC.toml`` reads one; every flag given on the command line
overrides the same key of the spec, and without a spec the flags alone make one.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_type_hints

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from hotspots.errors import ConfigError, InputFileError
from hotspots.features.partitions import is_partitioned, partition_files
from hotspots.jobs.periods import Period

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
BASELINES: tuple[str, ...] = (
    "last_period",
    "historical_mean",
    "rolling_mean",
    "prospective",
    "kde",
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataSpec(_Section):
    """Where the events are and how ``hotspots ingest`` should read them.

    ``events``: an export, an event table, or an event table in Parquet partitions (a folder
    of them, or a glob such as ``"events/*.parquet"``), counted partition by partition."""

    events: Path
    preset: str = "generic"
    map: str | None = None
    crs: str | None = None
    timezone: str | None = None
    source_timezone: str | None = None
    time_format: str | None = None
    boundary: Path | None = None
    bbox: str | None = None
    max_distance_km: float = 100.0
    max_reject_fraction: float | None = None
    include_discretionary: bool = False
    category_map: Path | None = None
    category_name: str | None = None


class TargetSpec(_Section):
    """The categories whose summed count is forecast.

    Each entry is an exact category name or, when no category has that name, a regular
    expression matched case-insensitively anywhere in the name (``"burglary"`` picks every
    burglary type). No entries: every category is the target.
    """

    categories: tuple[str, ...] = ()

    @field_validator("categories")
    @classmethod
    def _compiles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            try:
                re.compile(entry)
            except re.error as err:
                raise ValueError(f"{entry!r} is not a regular expression ({err})") from err
        return value


class GridSpec(_Section):
    """H3 resolution, period and how far to grow the study area.

    ``resolutions``: candidate resolutions; when given, the selection backtest is run at
    each and the one whose published model scores the highest PAI at the selection coverage
    becomes ``resolution`` (``jobs.geometry``). PAI at a fixed share of area compares across
    resolutions; the reported folds then run at the chosen one only.
    """

    resolution: int = Field(default=9, ge=0, le=15)
    resolutions: tuple[int, ...] = ()
    period: Period = "W"
    k_ring: int = Field(default=0, ge=0, le=10)

    @field_validator("resolutions")
    @classmethod
    def _resolutions(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        bad = [r for r in value if not 0 <= r <= 15]
        if bad:
            raise ValueError(f"H3 resolutions are 0-15, got {bad}")
        if len(set(value)) != len(value):
            raise ValueError(f"resolutions repeat: {list(value)}")
        return tuple(sorted(value))


class WindowSpec(_Section):
    """Training window: events from ``start`` and before ``until`` (exclusive)."""

    start: str | None = None
    until: str | None = None


class ModelSpec(_Section):
    """The main model and its hyper-parameters."""

    kind: str = "lightgbm"
    params: dict[str, Any] = Field(default_factory=dict)
    baselines: tuple[str, ...] = BASELINES
    challengers: tuple[str, ...] = ()
    """Other learned kinds (default parameters) backtested beside ``kind``: the selection
    backtest publishes whichever learned model scores best there, if it beats the baselines.
    One the data cannot feed (e.g. ``hawkes`` on monthly data) is left out with its reason."""


class BacktestSpec(_Section):
    """Rolling-origin backtest and model selection settings.

    ``truth``: a truth file (``truth_W.parquet`` of ``hotspots demo-data``) whose true expected
    counts are scored beside the models as the ``oracle`` reference; never published.
    ``plan_areas`` areas of at most ``plan_max_area_km2`` each are scored against the top cells
    of the same area in every fold (``evaluation.plans``; 0 areas: no plans).
    """

    folds: int = Field(default=12, ge=1)
    refit_every: int | None = Field(default=None, ge=1)
    coverages: tuple[float, ...] = (0.01, 0.05, 0.10)
    budgets: tuple[int, ...] = ()
    select_coverage: float = 0.01
    select_also: tuple[float, ...] = (0.05,)
    """Other coverages the choice weighs beside ``select_coverage``: a learned model is
    published when its PAI over the best baseline's, averaged over these coverages and
    ``select_coverage``, is at least 1 (``[]``: ``select_coverage`` alone)."""
    select_folds: int | None = Field(default=None, ge=0)
    seed: int = 0
    truth: Path | None = None
    plan_areas: int = Field(default=10, ge=0)
    plan_max_area_km2: float = Field(default=1.0, gt=0)

    @field_validator("coverages", "select_also")
    @classmethod
    def _fractions(cls, value: tuple[float, ...], info: ValidationInfo) -> tuple[float, ...]:
        if (info.field_name == "coverages" and not value) or any(not 0 < c <= 1 for c in value):
            raise ValueError(f"{info.field_name} must be fractions in (0, 1], got {list(value)}")
        return value


class CovariateSpec(_Section):
    """One static covariate layer (GeoJSON / GeoPackage)."""

    path: Path
    kind: Literal["count", "distance", "area_share"]
    name: str
    where: str | None = None


class TrainingSpec(_Section):
    """A whole training spec (see ``training/demo.toml`` for a commented example)."""

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    data: DataSpec
    target: TargetSpec = TargetSpec()
    grid: GridSpec = GridSpec()
    window: WindowSpec = WindowSpec()
    model: ModelSpec = ModelSpec()
    backtest: BacktestSpec = BacktestSpec()
    covariates: tuple[CovariateSpec, ...] = ()
    _source: str = PrivateAttr(default="flags")

    @property
    def source(self) -> str:
        """Where the spec came from, for messages: the spec file's name, or ``flags``."""
        return self._source

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for the manifest and the report."""
        return self.model_dump(mode="json")


def read_spec(path: str | Path, overrides: Mapping[str, Any] | None = None) -> TrainingSpec:
    """Read a TOML spec; relative paths in it are relative to the spec file's folder."""
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise InputFileError(f"training spec {p} does not exist") from err
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"training spec {p.name} is not valid TOML: {err}") from err
    _resolve_paths(raw, p.parent)
    return spec_from_dict(raw, overrides, source=p.name)


def spec_from_dict(
    raw: Mapping[str, Any], overrides: Mapping[str, Any] | None = None, source: str = "flags"
) -> TrainingSpec:
    """Build a spec from nested dicts; ``overrides`` maps dotted keys (``grid.period``)."""
    merged = copy.deepcopy(dict(raw))
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        node = merged
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    try:
        spec = TrainingSpec.model_validate(merged)
    except ValidationError as err:
        raise ConfigError(f"training spec {source}: {_describe(err)}") from err
    spec._source = source
    return spec


def _describe(err: ValidationError) -> str:
    parts = []
    for e in err.errors()[:5]:
        where = ".".join(str(x) for x in e["loc"]) or "(top)"
        if e["type"] == "extra_forbidden":
            parts.append(_unknown_key(e["loc"]))
            continue
        value = f" (got {e['input']!r})" if e["type"] != "missing" else ""
        if e["type"] in ("tuple_type", "list_type"):  # TOML's word, not Python's "tuple"
            value += f": write {e['loc'][-1]} = {json.dumps([e['input']], default=str)}"
        parts.append(f"{where}: {e['msg']}{value}".replace("a valid tuple", "a list"))
    return "; ".join(parts)


# flag spellings an analyst copies from ``hotspots ingest`` / ``train`` that the spec spells
# otherwise (``--tz`` is ``data.timezone``)
_FLAG_SPELLINGS = {
    "tz": "timezone",
    "source_tz": "source_timezone",
    "category": "categories",
    "challenger": "challengers",
}


def _unknown_key(loc: tuple[int | str, ...]) -> str:
    """``data.source_tz is not a key of [data] (did you mean 'source_timezone'?); its keys
    are: ...``: the section's valid keys, and the nearest one."""
    section: type[BaseModel] = TrainingSpec
    for part in loc[:-1]:
        field = section.model_fields.get(str(part)) if isinstance(part, str) else None
        if field is None:
            continue  # a list index (covariates.0)
        inner = get_type_hints(section)[str(part)]
        args = getattr(inner, "__args__", ())
        found = [a for a in (inner, *args) if isinstance(a, type) and issubclass(a, BaseModel)]
        if found:
            section = found[0]
    key = str(loc[-1])
    keys = list(section.model_fields)
    normal = key.lower().replace("-", "_")
    guess = _FLAG_SPELLINGS.get(normal) if _FLAG_SPELLINGS.get(normal) in keys else None
    guess = guess or next(iter(difflib.get_close_matches(normal, keys, n=1, cutoff=0.6)), None)
    named = ".".join(str(x) for x in loc[:-1] if isinstance(x, str))
    where = f"[{named}]" if named else "the top level"
    hint = f" (did you mean {guess!r}?)" if guess else ""
    return (
        f"{'.'.join(str(x) for x in loc)} is not a key of {where}{hint}; "
        f"its keys are: {', '.join(keys)}"
    )


def _resolve_paths(raw: dict[str, Any], base: Path) -> None:
    data = raw.get("data", {})
    for key in ("events", "boundary", "category_map"):
        if isinstance(data.get(key), str) and not Path(data[key]).is_absolute():
            data[key] = str(base / data[key])
    truth = raw.get("backtest", {}).get("truth")
    if isinstance(truth, str) and not Path(truth).is_absolute():
        raw["backtest"]["truth"] = str(base / truth)
    for layer in raw.get("covariates", []):
        if isinstance(layer.get("path"), str) and not Path(layer["path"]).is_absolute():
            layer["path"] = str(base / layer["path"])


def match_categories(spec: TargetSpec, available: tuple[str, ...]) -> tuple[str, ...]:
    """The target categories among ``available``, in their order (see ``TargetSpec``)."""
    if not spec.categories:
        return available
    chosen: set[str] = set()
    for entry in spec.categories:
        if entry in available:
            chosen.add(entry)
            continue
        rx = re.compile(entry, re.IGNORECASE)
        hits = {c for c in available if rx.search(c)}
        if not hits:
            raise ConfigError(
                f"target category {entry!r} matches no category in the data (as a name or a "
                f"regular expression); categories are: {list(available)}"
            )
        chosen |= hits
    return tuple(c for c in available if c in chosen)


def check_spec(spec: TrainingSpec) -> None:
    """Check what a spec names before any data is read (``ConfigError`` naming the key):
    the model kind and baselines, the model's parameters (listing the valid ones; each of the
    type and in the range its forecaster's ``__init__`` declares), the selection coverages
    among the backtest's, covariates only with LightGBM, and the files.
    """
    from hotspots.forecasters import forecaster_kinds
    from hotspots.forecasters.params import check_params

    kinds = forecaster_kinds()
    if spec.model.kind not in kinds:
        raise ConfigError(
            f"model.kind {spec.model.kind!r} is not a model; models are: {sorted(kinds)}"
        )
    unknown = [b for b in spec.model.baselines if b not in kinds]
    if unknown:
        raise ConfigError(f"model.baselines {unknown} are not models; models are: {sorted(kinds)}")
    odd = [c for c in spec.model.challengers if c not in kinds or c in spec.model.baselines]
    if odd or spec.model.kind in spec.model.challengers:
        learned = sorted(set(kinds) - set(spec.model.baselines) - {spec.model.kind})
        raise ConfigError(
            f"model.challengers {list(spec.model.challengers)} must be learned kinds other than "
            f"model.kind {spec.model.kind!r} and the baselines; choose from {learned}"
        )
    cls = kinds[spec.model.kind]
    valid = [p for p in cls._get_param_names() if p not in ("target", "covariates")]
    wrong = sorted(set(spec.model.params) - set(valid))
    if wrong:
        raise ConfigError(
            f"model.params {wrong} are not parameters of {spec.model.kind!r}; its parameters "
            f"are: {valid}"
        )
    check_params(
        cls, spec.model.kind, spec.model.params, f"training spec {spec.source}: model.params."
    )
    b = spec.backtest
    for key, value in (
        ("select_coverage", b.select_coverage),
        *(("select_also", c) for c in b.select_also),
    ):
        if not any(abs(c - value) < 1e-12 for c in b.coverages):
            extra = " (or give select_also = [])" if key == "select_also" else ""
            raise ConfigError(
                f"backtest.{key} {value} is not one of the backtest coverages "
                f"{list(b.coverages)}: add it to backtest.coverages{extra}"
            )
    if spec.grid.resolutions and spec.backtest.select_folds == 0:
        raise ConfigError(
            f"grid.resolutions {list(spec.grid.resolutions)} are chosen on the selection "
            "backtest, which backtest.select_folds = 0 turns off: give select_folds >= 1"
        )
    if spec.covariates and spec.model.kind != "lightgbm":
        raise ConfigError(f"covariates need model kind 'lightgbm', not {spec.model.kind!r}")
    files = {
        "data.events": spec.data.events,
        "data.boundary": spec.data.boundary,
        "data.category_map": spec.data.category_map,
        **{f"covariates.{c.name}.path": c.path for c in spec.covariates},
    }
    if is_partitioned(spec.data.events):  # a folder or glob of event-table partitions
        partition_files(spec.data.events)
        del files["data.events"]
    for key, path in files.items():
        if path is not None and not Path(path).is_file():
            what = "a folder, not a file" if Path(path).is_dir() else "not found"
            if spec.source != "flags":
                what += f" (a relative path in training spec {spec.source} is read from its folder)"
            raise InputFileError(f"{key} {path} is {what}")


def spec_from_manifest(manifest: Mapping[str, Any], events: Path | None = None) -> TrainingSpec:
    """The training spec a model's manifest records (to retrain it), reading ``events`` in
    place of the spec's own events file when given (a service's ``HOTSPOTS_EVENTS_PATH``)."""
    raw = manifest.get("spec")
    if not isinstance(raw, Mapping) or not raw.get("name"):
        raise ConfigError(
            f"model {manifest.get('name')!r} {manifest.get('version')}: its manifest holds no "
            "training spec to retrain from (publish it with `hotspots train`)"
        )
    data = dict(raw.get("data") or {})
    if events is not None:
        data["events"] = str(events)
    return spec_from_dict({**raw, "data": data}, source=f"the manifest of {raw['name']!r}")
