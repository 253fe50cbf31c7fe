"""The model card: intended use, data, categories, backtest table and the feedback-loop warning."""

from __future__ import annotations

from typing import Any

import pytest

from hotspots.registry import model_card
from hotspots.registry.card import NONE_RECORDED, format_cell, markdown_table

MANIFEST: dict[str, Any] = {
    "name": "robbery",
    "version": "v2",
    "kind": "lightgbm",
    "created": "2024-05-01T10:00:00+00:00",
    "freq": "W",
    "target": ["Robbery"],
    "resolution": 9,
    "study_cells": 812,
    "meta": {"categories": ["Robbery", "Burglary", "Theft"], "fit_end": "2024-04-22T00:00:00"},
    "spec": {"data": {"include_discretionary": False}},
    "data": {
        "source": "/exports/2024/crimes.csv",
        "sha256": "ab" * 32,
        "rows_accepted": 950,
        "excluded_by_policy": {"Drugs": 40, "Public Order": 7},
        "first_event": "2023-01-01",
        "last_event": "2024-04-30",
        "training_start": "2023-01-02",
        "training_until": "2024-04-29",
        "timezone": "Europe/London",
    },
    "backtest": {
        "selected": "lightgbm",
        "folds": 12,
        "table": [
            {"model": "lightgbm", "hit_rate": 0.41234, "pai": 12.3456, "pai_ci": [10.5, 14.25]},
            {"model": "naive|last", "hit_rate": 0.2, "pai": None},
        ],
    },
}


def _section(card: str, title: str) -> str:
    return card.split(f"## {title}\n\n", 1)[1].split("\n## ", 1)[0]


def test_card_carries_the_intended_use_and_the_feedback_loop_warning() -> None:
    card = model_card(MANIFEST)
    assert card.startswith("# Model card: robbery v2\n")
    assert "expected weekly count of Robbery" in card
    use = _section(card, "Intended use")
    assert (
        "planning where to be" in use and "Outputs describe places (H3 cells), never people" in use
    )
    warning = " ".join(_section(card, "Feedback-loop warning").split())
    assert "reflects where police recorded crime" in warning
    assert "excluded from the targets by default for that reason" in warning
    assert "displacement" in warning
    assert "recorded crime" in _section(card, "Known limits")


def test_card_data_section() -> None:
    lines = _section(model_card(MANIFEST), "Data").splitlines()
    assert lines[:9] == [
        "- Source: crimes.csv",  # the file name, not the analyst's folder
        f"- Fingerprint (sha256): {'ab' * 32}",
        "- Date range: 2023-01-01 to 2024-04-30",
        "- Rows used: 950",
        "- Training window: 2023-01-02 to 2024-04-29 (end excluded)",
        "- Study cells: 812",
        "- H3 resolution: 9",
        "- Period: weekly",
        "- Last period fitted: the week from 2024-04-22",  # not "up to 2024-04-22T00:00:00"
    ]
    assert lines[9:] == ["- timezone: Europe/London"]  # other keys follow, none twice


@pytest.mark.parametrize(
    ("freq", "said"),
    [("D", "the day 2024-04-22"), ("M", "the month from 2024-04-22"), ("X", "the period from")],
)
def test_card_names_the_last_period_fitted_by_its_unit(freq: str, said: str) -> None:
    lines = _section(model_card({**MANIFEST, "freq": freq}), "Data").splitlines()
    assert lines[8].startswith(f"- Last period fitted: {said}")
    bare = {**MANIFEST, "meta": {}}
    assert f"- Last period fitted: {NONE_RECORDED}" in _section(model_card(bare), "Data")


def test_card_data_says_each_fact_once_with_thousands_separators() -> None:
    # a real manifest's data repeats the grid the lines above give: the card said
    # "Study cells: 1843" and then "study_cells: 1843", "H3 resolution: 8" and "resolution: 8"
    data = {**MANIFEST["data"], "rows_accepted": 86104, "rows_read": 86314}
    data |= {"freq": "W", "resolution": 9, "study_cells": 812, "periods": 34}
    lines = _section(model_card({**MANIFEST, "data": data}), "Data").splitlines()
    assert lines[3] == "- Rows used: 86,104"
    assert lines[9:] == ["- timezone: Europe/London", "- rows_read: 86,314", "- periods: 34"]
    # a data value that is not the one shown above stays, as it tells something
    data["resolution"] = 8
    lines = _section(model_card({**MANIFEST, "data": data}), "Data").splitlines()
    assert "- resolution: 8" in lines and "- H3 resolution: 9" in lines


def test_card_backtest_facts_are_rounded_as_the_table_is() -> None:
    # "gain_ratio: 0.9986336731214487" beside a table of four significant digits
    backtest = {**MANIFEST["backtest"], "gain_ratio": 0.9986336731214487, "gain_undecided": True}
    section = _section(model_card({**MANIFEST, "backtest": backtest}), "Backtest")
    assert section.splitlines()[2:4] == ["- gain_ratio: 0.9986", "- gain_undecided: True"]


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({}, None),  # an export without placeholder times: nothing said
        (None, None),
        (
            {"00:01": 12345, "12:00": 678},
            "- Placeholder clock times read as dates (time of day unknown): "
            "12,345 rows at 00:01, 678 rows at 12:00",
        ),
    ],
)
def test_card_says_placeholder_times_only_when_there_were_some(
    counts: dict[str, int] | None, expected: str | None
) -> None:
    manifest = {**MANIFEST, "data": {**MANIFEST["data"], "placeholder_times": counts}}
    lines = _section(model_card(manifest), "Data").splitlines()
    assert not any("placeholder_times" in line for line in lines), lines
    said = [line for line in lines if "Placeholder" in line]
    assert said == ([] if expected is None else [expected])
    assert lines[-1] == "- timezone: Europe/London"  # the other keys still follow


def test_card_categories_from_the_ingest_report() -> None:
    lines = _section(model_card(MANIFEST), "Categories").splitlines()
    assert lines == [
        "- Forecast target: Robbery",
        "- Categories the model reads: Robbery, Burglary, Theft",
        "- Discretionary categories excluded: Drugs (40 rows), Public Order (7 rows)",
    ]


@pytest.mark.parametrize(
    ("spec", "data", "expected"),
    [
        ({"excluded_categories": ["Drugs", "Weapons"]}, {}, "Drugs, Weapons"),
        ({}, {"report": {"excluded_by_policy": {"Drugs": 3}}}, "Drugs (3 rows)"),
        ({}, {"excluded_by_policy": {}}, "none (the data held no officer-initiated types)"),
        ({"data": {"include_discretionary": True}}, {"excluded_by_policy": {}}, "kept on purpose"),
        ({}, {}, NONE_RECORDED),
    ],
)
def test_card_discretionary_categories(spec: dict, data: dict, expected: str) -> None:
    card = model_card({**MANIFEST, "spec": spec, "data": data})
    line = _section(card, "Categories").splitlines()[2]
    assert line.startswith("- Discretionary categories excluded: ")
    assert expected in line


def test_card_backtest_table() -> None:
    section = _section(model_card(MANIFEST), "Backtest")
    assert section.splitlines() == [
        "- selected: lightgbm",
        "- folds: 12",
        "",
        "| model | hit_rate | pai | pai_ci |",
        "|---|---|---|---|",
        "| lightgbm | 0.4123 | 12.35 | 10.5-14.25 |",
        "| naive\\|last | 0.2 | - | - |",  # a pipe in a value cannot break the table
    ]


def test_card_without_backtest_or_data_says_none_recorded() -> None:
    card = model_card({"name": "x", "version": "v1", "backtest": {"table": []}})
    assert "No backtest table recorded." in _section(card, "Backtest")
    assert "- Source: none recorded" in card and "- Forecast target: none recorded" in card
    assert "No backtest table recorded." in model_card({})
    assert "reflects where police recorded crime" in " ".join(model_card({}).split())


def test_table_helpers() -> None:
    assert [format_cell(v) for v in (None, 0.123456, 3, "a", [1, 2.5], True)] == [
        "-", "0.1235", "3", "a", "1-2.5", "True"
    ]  # fmt: skip
    rows = [{"a": 1}, {"b": 2.0, "a": 3}, "not a row"]
    assert markdown_table(rows).splitlines() == ["| a | b |", "|---|---|", "| 1 | - |", "| 3 | 2 |"]
