"""A target category no accepted row has: the refusal says where its rows may have gone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hotspots.errors import ConfigError
from hotspots.features import Panel
from hotspots.ingest.validate import ValidationReport
from hotspots.jobs.data import LoadedEvents
from hotspots.jobs.prepare import target_categories
from hotspots.jobs.spec import spec_from_dict

CATEGORIES = ("Mischief", "Theft from Vehicle")
LISTED = "categories are: ['Mischief', 'Theft from Vehicle']"


def _refusal(target: str, report: ValidationReport | None, meta: dict | None = None) -> str:
    raw = {"name": "t", "data": {"events": "x.csv"}, "target": {"categories": [target]}}
    spec = spec_from_dict(raw)
    panel = Panel(
        np.zeros((2, 1, 1), dtype=np.int32), np.array([0], dtype=np.uint64),
        pd.date_range("2020-01-06", periods=1, freq="W-MON"), CATEGORIES, "W", 9,
    )  # fmt: skip
    loaded = LoadedEvents(pd.DataFrame(), "UTC", Path("x.csv"), "0", report, meta or {})
    with pytest.raises(ConfigError) as err:
        target_categories(spec, panel, loaded)
    return str(err.value)


def test_a_type_whose_rows_were_all_rejected_is_said_to_be_maybe_among_them() -> None:
    # Vancouver: every 'Offence Against a Person' row has its location withheld, so the
    # refusal listed the accepted categories alone, as if the name were misspelt
    report = ValidationReport("vpd.csv", rows_read=37_512, rows_accepted=33_761)
    report.rejected = {"missing_coordinates": 3_751}
    said = _refusal("Offence Against a Person", report)
    assert said == (
        "target category 'Offence Against a Person' matches no category in the data (as a "
        f"name or a regular expression); {LISTED}; if the export holds it, its rows may all "
        "be among the 3,751 rejected (missing_coordinates 3,751: see the validation report)"
    )


def test_a_type_left_out_by_policy_names_the_key_that_keeps_it() -> None:
    # London's drugs, read from the event table `hotspots ingest` wrote (its report in meta)
    meta = {"report": {"rows_read": 849_409, "excluded_by_policy": {"drugs": 41_003}}}
    said = _refusal("drug", None, meta)
    assert said.endswith(
        f"{LISTED}; the export's 'drugs' (41,003 rows) were left out by policy as "
        "officer-initiated: data.include_discretionary = true (--include-discretionary) keeps "
        "them"
    )


def test_a_misspelt_name_beside_a_few_rejects_gets_no_hint() -> None:
    report = ValidationReport("houston.csv", rows_read=86_314, rows_accepted=86_104)
    report.rejected = {"missing_coordinates": 5, "outside_area": 205}
    assert _refusal("burglery", report).endswith(LISTED)
