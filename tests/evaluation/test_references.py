"""References (the oracle): scored exactly like a model, never chosen, read from a truth file."""

from __future__ import annotations

import json
from pathlib import Path

import h3
import numpy as np
import pandas as pd
import pytest
from eval_doubles import ConstantForecaster, OracleForecaster

from hotspots.errors import ConfigError, DataValidationError
from hotspots.evaluation import (
    REFERENCE_KIND,
    BacktestResult,
    backtest,
    flag_changes,
    read_truth,
    rolling_origin_folds,
    truth_to_reference,
    write_report,
)
from hotspots.features import Panel
from hotspots.grid import cells_to_parents, cells_to_strings, grid_disk_cells, strings_to_cells

# Rows 3, 4, 5 of the tiny panel, A + B per cell (see conftest): 3 events, 7 events, none.
ACTUAL = np.array([[0, 0, 3, 0, 0, 0, 0], [3, 1, 1, 0, 0, 2, 0], [0] * 7], dtype=np.float64)


@pytest.fixture(scope="module")
def ref_result(tiny_panel: Panel) -> BacktestResult:
    """The constant model beside a reference equal to the actual counts, last three weeks."""
    folds = rolling_origin_folds(tiny_panel.periods, 3)
    return backtest(
        {"constant": ConstantForecaster()},
        tiny_panel,
        folds,
        coverages=(0.3,),
        budgets=(2,),
        references={"truth": ACTUAL},
    )


def _mean(result: BacktestResult, name: str, cutoff: str, metric: str) -> float:
    s = result.summary
    row = s[(s["model"] == name) & (s["cutoff"] == cutoff) & (s["metric"] == metric)]
    return float(row["mean"].item())


def test_a_reference_equal_to_the_actual_counts_gets_pei_1(ref_result: BacktestResult) -> None:
    for cutoff in ("30%", "k=2"):
        assert _mean(ref_result, "truth", cutoff, "pei") == pytest.approx(1.0)
    # k=2: week 3 catches 3 of 3 events, week 4 catches 3 + 2 of 7 (week 5 has none)
    expected_pai = ((3 / 3) / (2 / 7) + (5 / 7) / (2 / 7)) / 2
    assert _mean(ref_result, "truth", "k=2", "pai") == pytest.approx(expected_pai)
    # the constant model flags cells 0 and 1: 0 of 3, then 4 of 7 events
    assert _mean(ref_result, "constant", "k=2", "hit_rate") == pytest.approx((0 + 4 / 7) / 2)


def test_a_reference_scores_like_the_same_forecast_from_a_model(tiny_panel: Panel) -> None:
    folds = rolling_origin_folds(tiny_panel.periods, 3)
    as_model = backtest({"oracle": OracleForecaster(truth=tiny_panel)}, tiny_panel, folds)
    as_ref = backtest(
        {"constant": ConstantForecaster()}, tiny_panel, folds, references={"oracle": ACTUAL}
    )
    mine = as_ref.per_fold[as_ref.per_fold["model"] == "oracle"].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, as_model.per_fold)
    assert (
        as_ref.table("1%", references=True).loc["oracle"].equals(as_model.table("1%").loc["oracle"])
    )


def test_a_reference_is_listed_apart_and_never_selected(ref_result: BacktestResult) -> None:
    assert ref_result.models == ("constant",)
    assert ref_result.references == ("truth",)
    assert ref_result.kinds["truth"] == REFERENCE_KIND
    assert "truth" not in ref_result.fitted
    assert list(ref_result.table("k=2").index) == ["constant"]
    assert list(ref_result.table("k=2", references=True).index) == ["constant", "truth"]
    # the reference beats the model on every metric, yet best() still names the model
    assert ref_result.best("pai", "k=2") == "constant"
    assert ref_result.best("deviance") == "constant"
    with pytest.raises(ConfigError, match="references, not models"):
        ref_result.best("pai", "k=2", among=["constant", "truth"])
    data = ref_result.to_dict()
    assert data["references"] == ["truth"] and data["models"] == ["constant"]
    assert {r["model"] for r in data["summary"]} == {"constant", "truth"}
    np.testing.assert_array_equal(ref_result.forecasts["truth"], ACTUAL)
    np.testing.assert_array_equal(ref_result.actual, ACTUAL.astype(np.int64))


def test_reference_rows_follow_the_folds_as_given(tiny_panel: Panel) -> None:
    folds = rolling_origin_folds(tiny_panel.periods, 3)
    result = backtest(
        {"constant": ConstantForecaster()},
        tiny_panel,
        folds[::-1],
        references={"truth": ACTUAL[::-1]},
    )
    np.testing.assert_array_equal(result.forecasts["truth"], ACTUAL)


@pytest.mark.parametrize(
    ("references", "error", "message"),
    [
        ({"constant": ACTUAL}, ConfigError, "has the name of a model"),
        ({"truth": ACTUAL[:2]}, DataValidationError, r"shape \(2, 7\); 3 folds on 7 cells"),
        ({"truth": ACTUAL * np.nan}, DataValidationError, "21 NaN or infinite"),
    ],
)
def test_bad_references_are_refused(
    tiny_panel: Panel, references: dict[str, np.ndarray], error: type[Exception], message: str
) -> None:
    folds = rolling_origin_folds(tiny_panel.periods, 3)
    with pytest.raises(error, match=message):
        backtest({"constant": ConstantForecaster()}, tiny_panel, folds, references=references)


def test_flag_changes_count_what_each_map_adds(ref_result: BacktestResult) -> None:
    # k=2 flags per week (cells by position): truth {2, 0}, {0, 5}, {0, 1} (ties: lowest ids);
    # constant {0, 1} every week
    got = flag_changes(ref_result, "truth", "constant", "k=2")
    assert (got.k, got.cutoff) == (2, "k=2")
    assert got.events_model_only == 3 + 2  # cell 2 in week 3, cell 5 in week 4
    assert got.events_other_only == 0 + 1  # cell 1 in weeks 3 and 4
    assert got.cells_model_only == pytest.approx(2 / 3)
    assert got.churn == pytest.approx(0.5)  # one of two cells new in each later week
    back = flag_changes(ref_result, "constant", "truth", "k=2")
    assert (back.events_model_only, back.events_other_only, back.churn) == (1, 5, 0.0)
    with pytest.raises(ConfigError, match="'nope' has no forecasts"):
        flag_changes(ref_result, "nope", "truth")


def test_the_report_marks_the_reference(ref_result: BacktestResult, tmp_path: Path) -> None:
    paths = write_report(ref_result, tmp_path, title="refs")
    page = paths["html"].read_text()
    assert '<tr class="reference"><td>truth (reference)</td>' in page
    assert "<th>PAI / truth</th>" in page
    assert "never published" in page
    # the constant model's PAI at k=2 is (0 + 2) / 2 = 1.0 of the truth's 3.0: share 0.333
    assert "<td>0.333</td>" in page
    assert json.loads(paths["json"].read_text())["result"]["references"] == ["truth"]


def _truth_frame(panel: Panel) -> pd.DataFrame:
    """Weekly truth of categories A and B on the panel's first 6 cells, one of them twice,
    and one cell outside the panel."""
    weeks = panel.periods[-3:]
    ring = grid_disk_cells(panel.cells[3], 2)
    outside = ring[~np.isin(ring, panel.cells)][0]
    cells = np.r_[panel.cells[:6], panel.cells[0]]  # the last row repeats a cell (summed)
    rows = []
    for w, week in enumerate(weeks):
        for c, cell in enumerate(cells):
            rows.append((cell, week, "A", 10.0 * w + c))
            rows.append((cell, week, "B", 0.5))
        rows.append((outside, week, "A", 1000.0))
    frame = pd.DataFrame(rows, columns=["cell", "period_start", "category", "expected"])
    frame["cell"] = cells_to_strings(frame["cell"].to_numpy(np.uint64))
    return frame


def test_truth_is_summed_over_the_target_and_aligned_to_the_panel(
    tiny_panel: Panel, tmp_path: Path
) -> None:
    path = tmp_path / "truth_W.parquet"
    _truth_frame(tiny_panel).to_parquet(path, index=False)
    truth = read_truth(path)
    assert truth["cell"].dtype == np.uint64
    weeks = list(tiny_panel.periods[-2:])
    only_a = truth_to_reference(truth, tiny_panel, weeks, ["A"])
    # weeks w = 1, 2: cells 0..5 get 10w + c, cell 0 twice (+10w + 6); cell 6 absent: 0;
    # the cell outside the panel is left out
    np.testing.assert_allclose(only_a[0], [26, 11, 12, 13, 14, 15, 0])
    np.testing.assert_allclose(only_a[1], [46, 21, 22, 23, 24, 25, 0])
    both = truth_to_reference(truth, tiny_panel, weeks, ["A", "B"])
    np.testing.assert_allclose(both - only_a, [[1, 0.5, 0.5, 0.5, 0.5, 0.5, 0]] * 2)
    with pytest.raises(DataValidationError, match=r"categories \['C'\] are not in the truth"):
        truth_to_reference(truth, tiny_panel, weeks, ["C"])
    with pytest.raises(DataValidationError, match="no 'W' period starting 2024-01-01"):
        truth_to_reference(truth, tiny_panel, [tiny_panel.periods[0]], ["A"])


def test_a_truth_file_without_its_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pd.DataFrame({"cell": ["x"], "expected": [1.0]}).to_parquet(path)
    with pytest.raises(DataValidationError, match=r"lacks columns \['period_start', 'category'\]"):
        read_truth(path)


def test_finer_truth_is_summed_into_the_panel_cells(tiny_panel: Panel) -> None:
    week = tiny_panel.periods[-1]
    children = h3.cell_to_children(h3.int_to_str(int(tiny_panel.cells[2])), 9)
    fine = pd.DataFrame(
        {
            "cell": strings_to_cells(children),
            "period_start": week,
            "category": "A",
            "expected": np.arange(len(children), dtype=np.float64),
        }
    )
    got = truth_to_reference(fine, tiny_panel, [week], ["A"])
    assert len(children) == 7
    np.testing.assert_allclose(got, [[0, 0, 21, 0, 0, 0, 0]])  # 0 + 1 + ... + 6
    coarse = fine.assign(cell=cells_to_parents(fine["cell"].to_numpy(np.uint64), 7))
    with pytest.raises(DataValidationError, match="resolution 7, coarser than the panel's 8"):
        truth_to_reference(coarse, tiny_panel, [week], ["A"])
