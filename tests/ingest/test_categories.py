"""Category mapping, the discretionary-crime policy and category map files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hotspots.errors import ConfigError, InputFileError
from hotspots.ingest.categories import CategoryPolicy, is_discretionary, read_category_map

# Category names as real exports spell them (police.uk, Chicago, Vancouver, Houston, London).
DISCRETIONARY = [
    "Drugs",
    "drugs",
    "NARCOTICS",
    "OTHER NARCOTIC VIOLATION",
    "Possession of weapons",
    "weapon possession",
    "WEAPONS VIOLATION",
    "CONCEALED CARRY LICENSE VIOLATION",
    "Public order",
    "public order",
    "PUBLIC PEACE VIOLATION",
    "PROSTITUTION",
    "GAMBLING",
    "LIQUOR LAW VIOLATION",
    "INTERFERENCE WITH PUBLIC OFFICER",
    "PUBLIC INDECENCY",
    "Driving under the influence",
]
NOT_DISCRETIONARY = [
    "Burglary",
    "burglary",
    "aggravated assault",
    "ASSAULT",
    "Robbery",
    "Assault with a deadly weapon",
    "Theft from Vehicle",
    "Offence Against a Person",
    "other theft",
    "violent or sexual",
    "criminal damage or arson",
    "Anti-social behaviour",
    "Vehicle Collision or Pedestrian Struck (with Injury)",
    "Homicide",
    "Mischief",
    "shoplifting",
    "bicycle theft",
    "Break and Enter Residential/Other",
    "murder",
    "auto theft",
]


def series(*values: str | None) -> pd.Series:
    return pd.Series(list(values), dtype="object")


def as_list(values: pd.Series) -> list[str | None]:
    return [None if pd.isna(v) else v for v in values]


# --- is_discretionary ----------------------------------------------------------------------


@pytest.mark.parametrize("name", DISCRETIONARY)
def test_discretionary_categories(name: str) -> None:
    assert is_discretionary(name) is True


@pytest.mark.parametrize("name", NOT_DISCRETIONARY)
def test_harm_categories_are_not_discretionary(name: str) -> None:
    assert is_discretionary(name) is False


def test_empty_name_is_not_discretionary() -> None:
    assert is_discretionary("") is False


# --- CategoryPolicy.canonical --------------------------------------------------------------


def test_canonical_without_a_mapping_trims_and_blanks_become_na() -> None:
    out = CategoryPolicy().canonical(series("  Burglary ", "", "   ", None, "Robbery"))
    assert as_list(out) == ["Burglary", None, None, None, "Robbery"]
    assert out.dtype == "string"


def test_canonical_mapping_is_case_insensitive_and_keeps_unmapped_names() -> None:
    policy = CategoryPolicy(mapping={"Theft from Vehicle": "theft", " BURGLARY ": " burglary "})
    out = policy.canonical(
        series("theft from vehicle", "THEFT FROM VEHICLE ", "Burglary", "Mischief", "", None)
    )
    assert as_list(out) == ["theft", "theft", "burglary", "Mischief", None, None]
    assert out.dtype == "string"


def test_canonical_keeps_the_index() -> None:
    values = pd.Series(["a", "b"], index=[10, 4])
    out = CategoryPolicy(mapping={"a": "x"}).canonical(values)
    assert out.index.tolist() == [10, 4]
    assert as_list(out) == ["x", "b"]


def test_canonical_with_an_empty_mapping_is_the_trimmed_input() -> None:
    out = CategoryPolicy(mapping={}).canonical(series(" A ", "b"))
    assert as_list(out) == ["A", "b"]


# --- CategoryPolicy.excluded ---------------------------------------------------------------


def test_excluded_flags_discretionary_rows_by_default() -> None:
    canonical = pd.Series(
        ["burglary", "drugs", None, "NARCOTICS", "Robbery", "public order"], dtype="string"
    )
    mask = CategoryPolicy().excluded(canonical)
    assert mask.tolist() == [False, True, False, True, False, True]
    assert mask.dtype == bool


def test_include_discretionary_excludes_nothing() -> None:
    canonical = pd.Series(["drugs", "NARCOTICS", None, "burglary"], dtype="string")
    mask = CategoryPolicy(include_discretionary=True).excluded(canonical)
    assert mask.tolist() == [False, False, False, False]
    assert mask.dtype == bool


def test_excluded_of_no_rows_is_empty() -> None:
    assert CategoryPolicy().excluded(pd.Series([], dtype="string")).tolist() == []


def test_a_category_mapped_to_a_discretionary_name_is_excluded() -> None:
    # the source name alone is not recognised; its canonical name is
    assert not is_discretionary("POSS SCHED 1")
    policy = CategoryPolicy(mapping={"POSS SCHED 1": "Drugs", "BURG": "Burglary"})
    canonical = policy.canonical(series("poss sched 1", "BURG", "other"))
    assert as_list(canonical) == ["Drugs", "Burglary", "other"]
    assert policy.excluded(canonical).tolist() == [True, False, False]


def test_a_discretionary_source_mapped_to_a_harm_name_is_kept() -> None:
    policy = CategoryPolicy(mapping={"Drugs": "robbery"})
    canonical = policy.canonical(series("drugs"))
    assert policy.excluded(canonical).tolist() == [False]


# --- read_category_map ---------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_with_header(tmp_path: Path) -> None:
    path = write(tmp_path, "map.csv", "source,canonical\nTHEFT FROM VEHICLE,theft\nBURG,burglary\n")
    assert read_category_map(path) == {"THEFT FROM VEHICLE": "theft", "BURG": "burglary"}


def test_csv_header_is_matched_case_insensitively(tmp_path: Path) -> None:
    path = write(tmp_path, "map.csv", "Source , CANONICAL\nBURG,burglary\n")
    assert read_category_map(path) == {"BURG": "burglary"}


def test_csv_without_header_skips_comments_and_blank_lines(tmp_path: Path) -> None:
    text = '# my map\nBURG,burglary\n\n#ROB,robbery\n"Theft, other",theft\n'
    path = write(tmp_path, "map.csv", text)
    assert read_category_map(str(path)) == {"BURG": "burglary", "Theft, other": "theft"}


def test_csv_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "map.csv"
    path.write_bytes("source,canonical\nBURG,burglary\n".encode("utf-8-sig"))
    assert read_category_map(path) == {"BURG": "burglary"}


def test_csv_map_feeds_the_policy(tmp_path: Path) -> None:
    path = write(tmp_path, "map.csv", "source,canonical\nPOSS SCHED 1, Drugs\n")
    policy = CategoryPolicy(mapping=read_category_map(path))
    canonical = policy.canonical(series("Poss Sched 1", "BURG"))
    assert as_list(canonical) == ["Drugs", "BURG"]
    assert policy.excluded(canonical).tolist() == [True, False]


def test_csv_row_with_one_column_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "map.csv", "source,canonical\nBURG,burglary\nROBBERY\n")
    with pytest.raises(ConfigError, match="needs two columns") as info:
        read_category_map(path)
    assert "['ROBBERY']" in str(info.value)
    assert str(path) in str(info.value)


def test_toml_categories_table(tmp_path: Path) -> None:
    text = '[categories]\n"THEFT FROM VEHICLE" = "theft"\nBURG = "burglary"\n'
    path = write(tmp_path, "map.toml", text)
    assert read_category_map(path) == {"THEFT FROM VEHICLE": "theft", "BURG": "burglary"}


def test_toml_suffix_is_case_insensitive(tmp_path: Path) -> None:
    path = write(tmp_path, "MAP.TOML", '[categories]\nBURG = "burglary"\n')
    assert read_category_map(path) == {"BURG": "burglary"}


def test_toml_without_categories_table_is_an_input_file_error(tmp_path: Path) -> None:
    path = write(tmp_path, "map.toml", '[other]\nBURG = "burglary"\n')
    with pytest.raises(InputFileError, match=r"no \[categories\] table"):
        read_category_map(path)


def test_toml_with_categories_not_a_table_is_an_input_file_error(tmp_path: Path) -> None:
    path = write(tmp_path, "map.toml", 'categories = "BURG"\n')
    with pytest.raises(InputFileError, match=r"no \[categories\] table"):
        read_category_map(path)


def test_broken_toml_is_an_input_file_error(tmp_path: Path) -> None:
    path = write(tmp_path, "map.toml", "[categories\nBURG = \n")
    with pytest.raises(InputFileError, match="cannot read category map"):
        read_category_map(path)


@pytest.mark.parametrize("name", ["missing.csv", "missing.toml"])
def test_missing_file_is_an_input_file_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputFileError, match="cannot read category map") as info:
        read_category_map(tmp_path / name)
    assert name in str(info.value)
    assert isinstance(info.value.__cause__, FileNotFoundError)
