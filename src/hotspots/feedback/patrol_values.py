"""Which values of a patrol log may be stored or echoed: a log never holds names of people.

Two rules, one per kind of column:

* ``id``, ``unit`` and ``tactic`` are stored as given, so each must be a short code without
  spaces (``CODES``); a row where one is not is rejected (``bad_id``, ``bad_unit``,
  ``bad_tactic``) and its value is never echoed: "PC Jane Doe shift 3" is what a person's
  name written there looks like.
* ``area``, ``cells``, ``polygon``, ``start`` and ``end`` are stored only once read (a known
  area, H3 cells, a polygon's geometry alone, times), never as written; a rejected row's
  value is echoed in the report's examples unless it holds two words in a row, as a name
  does ("Jane Doe"); the known area names are echoed as they are.

A single word (a surname as a unit code, "yesterday" as a start) passes both: the unit
column must hold the force's pseudonymous call signs, a rule for the people filling the log.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any

import pandas as pd
import shapely.geometry

ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/#-]{0,127}")
UNIT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
TACTIC = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
CODES: dict[str, re.Pattern[str]] = {"id": ID, "unit": UNIT, "tactic": TACTIC}
"""The stored free-text columns and the short code each must be."""
WORDS = re.compile(r"[^\W\d_]{2,}[.,]?\s+[^\W\d_]")
"""Two words in a row (letters, a space, letters): how a person's name reads."""
WITHHELD = "(withheld: not a short code, it may be a person's name)"
WITHHELD_WORDS = "(withheld: it holds words, it may be a person's name)"
EXAMPLE_CHARS = 200


def bad_code(text: pd.Series, column: str) -> pd.Series:
    """Rows whose ``column`` (one of ``CODES``) is given but is not its short code."""
    given = text != ""
    return given & ~text.str.fullmatch(CODES[column])


def shown_value(column: str, text: str, known_areas: Collection[str] = ()) -> str:
    """A rejected row's ``column`` value as the report may show it: a code column's value
    that is no code, or another column's value with two words in a row (but a known area
    name), withheld; the rest cut to ``EXAMPLE_CHARS``."""
    value = text.strip()
    code = CODES.get(column)
    if code is not None:
        return WITHHELD if value and not code.fullmatch(value) else text[:EXAMPLE_CHARS]
    if column == "area" and value in known_areas:
        return text[:EXAMPLE_CHARS]
    return WITHHELD_WORDS if WORDS.search(value) else text[:EXAMPLE_CHARS]


def stored_polygon(text: str) -> str:
    """A polygon read from the log (valid GeoJSON) as stored: its geometry alone, compact;
    any other member (``properties``, a ``name``) is dropped."""
    geometry = shapely.geometry.mapping(shapely.geometry.shape(json.loads(text)))
    return json.dumps(geometry, separators=(",", ":"))


def example_row(frame: pd.DataFrame, row: int, known_areas: Collection[str]) -> dict[str, Any]:
    """One rejected row (0-based ``row``) as the report shows it (``shown_value`` each)."""
    out: dict[str, Any] = {"row": row + 1}
    for column in frame.columns:
        out[column] = shown_value(column, str(frame[column].iat[row]), known_areas)
    return out
