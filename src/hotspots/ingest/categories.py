"""Category mapping and the discretionary-crime policy.

Crime types that police mostly find by looking (drugs, weapons possession, public order,
prostitution, gambling, liquor, drunkenness, vagrancy, driving under the influence, ...) are
left out of training targets by default. Their counts measure where officers were sent as much
as where harm happened; forecasting them and sending officers to the forecast would feed that
bias back into the next round of data. ``include_discretionary=True`` keeps them.
"""

from __future__ import annotations

import csv
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hotspots.errors import ConfigError, InputFileError

# Case-insensitive patterns over canonical category names, one per family.
DISCRETIONARY_PATTERNS: tuple[str, ...] = (
    r"\bdrugs?\b|narcotic|controlled substance|cannabis|marijuana",
    r"possession of (?:an? )?(?:offensive )?weapons?"
    r"|weapons? (?:possession|violation|law|offen[cs]e)"
    r"|concealed carry|carrying (?:an? )?(?:concealed )?weapon",
    r"public order|public peace|disorderly|breach of the peace",
    r"prostitut|solicit|\bvice\b",
    r"gambl",
    r"liquor|alcohol",
    r"drunk|intoxicat",
    r"vagran|loiter",
    r"under the influence|\bdui\b|\bdwi\b|impaired driving|drink[- ]driving",
    r"interference with (?:a )?public officer|resist(?:ing)? arrest"
    r"|obstruct(?:ing|ion)? (?:a )?police",
    r"public indecency",
)
_DISCRETIONARY = re.compile("|".join(f"(?:{p})" for p in DISCRETIONARY_PATTERNS), re.IGNORECASE)


def is_discretionary(category: str) -> bool:
    """True if ``category`` names an officer-initiated (discretionary) crime type."""
    return bool(_DISCRETIONARY.search(category))


@dataclass(frozen=True)
class CategoryPolicy:
    """How source categories become canonical ones, and which are kept as targets."""

    mapping: dict[str, str] | None = None
    include_discretionary: bool = False

    def canonical(self, categories: pd.Series) -> pd.Series:
        """Source categories -> canonical names (whitespace trimmed; unmapped kept as they are).

        The mapping matches source names case-insensitively.
        """
        text = categories.astype("string").str.strip()
        text = text.mask(text == "")
        if not self.mapping:
            return text
        lookup = {k.strip().casefold(): v.strip() for k, v in self.mapping.items()}
        mapped = text.str.casefold().map(lookup)
        return mapped.fillna(text).astype("string")

    def excluded(self, canonical: pd.Series) -> np.ndarray:
        """Boolean mask of rows left out by the discretionary policy."""
        if self.include_discretionary:
            return np.zeros(len(canonical), dtype=bool)
        uniques = pd.Series(canonical.dropna().unique())
        flagged = {c for c in uniques if is_discretionary(str(c))}
        return canonical.isin(flagged).fillna(False).to_numpy(dtype=bool)


def read_category_map(path: str | Path) -> dict[str, str]:
    """Read a source -> canonical map from a two-column CSV or a TOML ``[categories]`` table."""
    p = Path(path)
    try:
        if p.suffix.lower() == ".toml":
            table = tomllib.loads(p.read_text(encoding="utf-8")).get("categories")
            if not isinstance(table, dict):
                raise InputFileError(f"category map {p} has no [categories] table")
            return {str(k): str(v) for k, v in table.items()}
        with p.open(newline="", encoding="utf-8-sig") as fh:
            rows = [r for r in csv.reader(fh) if r and not r[0].startswith("#")]
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise InputFileError(f"cannot read category map {p}: {err}") from err
    if rows and [c.strip().lower() for c in rows[0][:2]] == ["source", "canonical"]:
        rows = rows[1:]
    bad = [r for r in rows if len(r) < 2]
    if bad:
        raise ConfigError(f"category map {p}: row {bad[0]!r} needs two columns: source,canonical")
    return {r[0]: r[1] for r in rows}
