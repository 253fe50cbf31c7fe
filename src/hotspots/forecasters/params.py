"""Hyper-parameter checks read from each forecaster's ``__init__`` hints.

A forecaster declares each parameter's type and range once, in its signature
(``n_estimators: Annotated[int, Field(ge=1)] = 300``). ``check_params`` validates values
against those hints strictly (``"200"`` is not an int, ``true`` is not a number, NaN is
not a window): ``jobs.spec.check_spec`` calls it before any data is read, and
``Forecaster.fit`` before it fits, so a spec and a library call get the same rule.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, cast, get_type_hints

import numpy as np
from pydantic import Field, PydanticSchemaGenerationError, TypeAdapter, ValidationError

from hotspots.errors import ConfigError

if TYPE_CHECKING:
    from hotspots.forecasters.base import Forecaster

Periods = Annotated[int, Field(ge=1)]
"""A whole number of periods (a window, a horizon): at least 1."""
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
"""A finite number above 0 (a bandwidth, a half-life, seconds)."""
Share = Annotated[float, Field(gt=0, le=1)]
"""A share in (0, 1]."""


@functools.cache
def _adapters(cls: type) -> tuple[dict[str, TypeAdapter[Any]], dict[str, Any]]:
    """Per parameter: a validator of its declared hint, and the bare type (for messages).

    A hint pydantic cannot validate (a forecaster of one's own taking an array) checks
    nothing, as ``Any``: the declarations are the rule where they can be one."""
    names = list(cls._get_param_names())  # type: ignore[attr-defined]
    try:
        full = get_type_hints(cls.__init__, include_extras=True)  # type: ignore[misc]
        bare = get_type_hints(cls.__init__)  # type: ignore[misc]
    except NameError:  # a hint naming what its module cannot import at run time
        full, bare = {}, {}
    adapters = {}
    for name in names:
        try:
            adapters[name] = TypeAdapter(full.get(name, Any))
        except PydanticSchemaGenerationError:
            adapters[name] = TypeAdapter(Any)
    return adapters, {name: bare.get(name, Any) for name in names}


def _plain(value: Any) -> Any:
    """TOML arrays and Python lists as tuples (the declared sequence type), numpy scalars as
    Python numbers (``np.int64(3)`` from a grid search is a whole number)."""
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    return value.item() if isinstance(value, np.generic) else value


def check_params(
    cls: type[Forecaster], kind: str, params: Mapping[str, Any], prefix: str = ""
) -> None:
    """Raise ``ConfigError`` for the first parameter of ``params`` that ``cls.__init__`` does
    not take, or whose value is not of the type it declares or outside the declared range,
    naming it (after ``prefix``, e.g. ``"model.params."``) and its value; then the same for
    the forecasters it builds (``Forecaster.nested_params``: an ensemble's members)."""
    adapters, bare = _adapters(cast(type, cls))  # a class is hashable, whatever mypy says
    for name, given in params.items():
        if name == "target":  # the target is checked on the panel
            continue
        if name not in adapters:
            valid = [p for p in adapters if p != "target"]
            raise ConfigError(
                f"{prefix}{name} is not a parameter of {kind!r}; its parameters are: {valid}"
            )
        value = _plain(given)
        try:
            adapters[name].validate_python(value, strict=True)
        except ValidationError as err:
            first = err.errors()[0]
            msg = str(first["msg"]).replace("Input should be", "must be")
            if str(first["type"]).endswith(("_type", "_parsing")):
                wanted = getattr(bare[name], "__name__", str(bare[name]))
                raise ConfigError(
                    f"{prefix}{name} {value!r} of {kind!r} is not a valid {wanted}: {msg}"
                ) from err
            items = [i for i in first["loc"] if isinstance(i, int)]
            where = f"item {items[0] + 1}: " if items else ""
            raise ConfigError(
                f"{prefix}{name} is out of range: {value!r} ({kind}: {where}{msg})"
            ) from err
    try:
        nested = cls.nested_params(params)
    except ConfigError as err:  # e.g. a member kind that does not exist
        raise ConfigError(f"{prefix}{err}") from err
    for member, member_kind, member_params, member_prefix in nested:
        check_params(member, member_kind, member_params, prefix + member_prefix)
