"""A route's query parameters read without FastAPI, derived from the route's own declarations.

A fast path (a middleware answering a polled route before FastAPI's routing) must accept only
what the route would accept, with the same values. ``plain_parser(route)`` reads the route's
declared query parameters (name, type, ``ge`` / ``gt`` / ``le`` / ``lt`` / ``min_length`` /
``max_length`` / ``pattern``, default) once and returns a parser of *plain* query strings:
no escapes, each parameter at most once unless declared as a list, every value of a type and
form it knows (canonical integers and decimals, strings, lower-case booleans, ``Literal``
choices). Anything else
gives None and the request goes to FastAPI, which judges it (and writes any refusal).
A new parameter on the route is thus read by the fast path with no second edit.
"""

from __future__ import annotations

import functools
import re
import types
import typing
from collections.abc import Callable
from typing import Any, Literal

from starlette.routing import BaseRoute

PLAIN = re.compile(r"[A-Za-z0-9._,:=&-]*")
"""Query text with no escapes (``%``), no ``+`` (a space) and no ``;``: split as it reads."""
_INT = re.compile(r"0|[1-9][0-9]{0,8}")
_DECIMAL = re.compile(r"[0-9]{1,9}(\.[0-9]{1,12})?")
_NOT_NONE = (type(None),)
_BOOLS = {"true": True, "t": True, "yes": True, "y": True, "on": True, "1": True}
_BOOLS |= {"false": False, "f": False, "no": False, "n": False, "off": False, "0": False}
"""Lower-case words pydantic reads as booleans (other cases are left to FastAPI)."""


class _NotPlain(Exception):
    """A value left to FastAPI to judge."""


Parse = Callable[[str], Any]


def _bounded(parse: Parse, metadata: list[Any]) -> Parse:
    """``parse`` then every declared bound (a value outside one is not plain)."""
    checks: list[Callable[[Any], bool]] = []
    for m in metadata:
        for attr, ok in (
            ("ge", lambda v, b: v >= b),
            ("gt", lambda v, b: v > b),
            ("le", lambda v, b: v <= b),
            ("lt", lambda v, b: v < b),
            ("min_length", lambda v, b: len(v) >= b),
            ("max_length", lambda v, b: len(v) <= b),
        ):
            bound = getattr(m, attr, None)
            if bound is not None:
                checks.append(functools.partial(lambda v, ok, b: ok(v, b), ok=ok, b=bound))
        pattern = getattr(m, "pattern", None)
        if pattern is not None:  # pydantic searches a pattern, as re.search does
            found = re.compile(pattern).search
            checks.append(functools.partial(lambda v, s: s(v) is not None, s=found))

    def parse_checked(text: str) -> Any:
        value = parse(text)
        if not all(check(value) for check in checks):
            raise _NotPlain
        return value

    return parse_checked


def _scalar(annotation: Any) -> Parse | None:
    """A parser of plain text into ``annotation`` (None: a type this module does not read)."""
    if annotation is int:
        return lambda t: int(t) if _INT.fullmatch(t) else _not_plain()
    if annotation is float:
        return lambda t: float(t) if _DECIMAL.fullmatch(t) else _not_plain()
    if annotation is str:
        return lambda t: t if t else _not_plain()
    if annotation is bool:
        return lambda t: _BOOLS[t] if t in _BOOLS else _not_plain()
    if typing.get_origin(annotation) is Literal:
        choices = {str(c): c for c in typing.get_args(annotation)}
        return lambda t: choices[t] if t in choices else _not_plain()
    return None


def _not_plain() -> Any:
    raise _NotPlain


def _field_parser(annotation: Any, metadata: list[Any]) -> tuple[Parse | None, bool]:
    """(parser of one value, whether the parameter is a list)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a not in _NOT_NONE]
        if len(args) != 1:
            return None, False
        annotation = args[0]
    if typing.get_origin(annotation) is list:
        items = typing.get_args(annotation)
        scalar = _scalar(items[0]) if len(items) == 1 and not metadata else None
        return scalar, True
    scalar = _scalar(annotation)
    return (None if scalar is None else _bounded(scalar, metadata)), False


def plain_parser(route: BaseRoute) -> Callable[[bytes], dict[str, Any] | None]:
    """A parser of ``route``'s plain query strings into the handler's keyword arguments
    (defaults filled in), or None for a query FastAPI must judge (cached per query)."""
    declared = route.dependant.query_params  # type: ignore[attr-defined]
    fields: dict[str, tuple[str, Parse | None, bool]] = {}
    defaults: dict[str, Any] = {}
    for f in declared:
        parse, many = _field_parser(f.field_info.annotation, list(f.field_info.metadata))
        fields[str(f.alias)] = (f.name, parse, many)
        defaults[f.name] = None if f.field_info.is_required() else f.field_info.default
    required = {f.name for f in declared if f.field_info.is_required()}
    many_names = {name for name, _, many in fields.values() if many}

    @functools.lru_cache(maxsize=1024)
    def read_query(query_string: bytes) -> tuple[tuple[str, Any], ...] | None:
        try:
            text = query_string.decode("ascii")
        except UnicodeDecodeError:
            return None
        if not PLAIN.fullmatch(text):
            return None
        out: dict[str, Any] = {}
        for pair in text.split("&") if text else ():
            alias, sep, value = pair.partition("=")
            name, read, many = fields.get(alias, ("", None, False))
            if not sep or read is None or (name in out and not many):
                return None
            try:
                parsed = read(value)
            except _NotPlain:
                return None
            out[name] = (*out.get(name, ()), parsed) if many else parsed
        if not required <= set(out):
            return None
        return tuple(out.items())

    def kwargs(query_string: bytes) -> dict[str, Any] | None:
        found = read_query(query_string)
        if found is None:
            return None
        out = {k: list(v) if isinstance(v, list) else v for k, v in defaults.items()}
        out.update((k, list(v) if k in many_names else v) for k, v in found)
        return out

    return kwargs
