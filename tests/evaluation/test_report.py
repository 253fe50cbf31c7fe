"""write_report: report.json + one self-contained report.html, written atomically."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from hotspots.errors import ConfigError
from hotspots.evaluation import BacktestResult, write_report

IMG = re.compile(r'<img alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)">')


def test_report_files_hold_the_results(tiny_result: BacktestResult, tmp_path: Path) -> None:
    meta = {"model": "constant", "params": {"value": 1.0}, "note": "<script>alert(1)</script>"}
    paths = write_report(tiny_result, tmp_path / "out", title="Tiny <A & B>", meta=meta)
    assert paths == {"json": tmp_path / "out/report.json", "html": tmp_path / "out/report.html"}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.html", "report.json"]
    data = json.loads(paths["json"].read_text())
    assert data["title"] == "Tiny <A & B>"
    assert data["meta"] == meta
    assert data["result"] == json.loads(json.dumps(tiny_result.to_dict()))
    page = paths["html"].read_text()
    # constant at k=2: hit rate 4/7, PAI 2, PEI 4/5, from the one week with events
    assert "<td>constant</td><td>0.571 [0.571, 0.571]</td><td>2.00 [2.00, 2.00]</td>" in page
    assert "<td>0.800 [0.800, 0.800]</td>" in page
    assert '<tr class="best"><td>oracle</td><td>0.714 [0.714, 0.714]</td>' in page
    assert "<td>1 (1)</td>" in page  # one fold scored, one without events
    assert "50% of the study area (4 cells)" in page and "Top 2 cells" in page


def test_html_escapes_text_and_needs_no_outside_files(
    tiny_result: BacktestResult, tmp_path: Path
) -> None:
    meta = {"note": "<script>alert(1)</script>"}
    page = write_report(tiny_result, tmp_path, title="Tiny <A & B>", meta=meta)["html"].read_text()
    assert "<title>Tiny &lt;A &amp; B&gt;</title>" in page
    assert "<h1>Tiny &lt;A &amp; B&gt;</h1>" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page and "<A &" not in page
    assert "<link" not in page and 'src="http' not in page


def test_one_png_per_plot_and_per_importance(tiny_result: BacktestResult, tmp_path: Path) -> None:
    importance = {"constant": pd.Series({"lag_1": 0.7, "lag_52": 0.2}), "oracle": pd.Series()}
    html = write_report(tiny_result, tmp_path, title="t", feature_importance=importance)["html"]
    page = html.read_text()
    images = IMG.findall(page)
    # curves, map, PAI per period, calibration, and one importance chart (empty ones skipped)
    assert len(images) == 5 == page.count("<img ")
    assert all(base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n") for data in images)
    assert "feature importance of constant" in page
    plain = write_report(tiny_result, tmp_path, title="t")["html"].read_text()
    assert plain.count("<img ") == 4


def test_the_importance_chart_shows_shares_of_the_whole_and_says_of_what() -> None:
    # the bars were LightGBM's raw total gain (e.g. 48213.7) under the label "importance"
    from hotspots.evaluation.plots import importance_bars

    gain = pd.Series({"lag_1": 300.0, "lag_52": 100.0, "ring": 600.0}, name="gain")
    shares, label = importance_bars(gain, top=2)
    assert shares.to_dict() == {"lag_1": 30.0, "ring": 60.0}  # the top 2, the largest last
    assert list(shares.index) == ["lag_1", "ring"]
    assert label == "share of the loss reduction of all splits (gain), %"
    split, label = importance_bars(pd.Series({"a": 1.0, "b": 3.0}, name="split"))
    assert split.to_dict() == {"a": 25.0, "b": 75.0} and label == "share of all splits, %"
    none, label = importance_bars(pd.Series({"a": 0.0}))
    assert none.to_dict() == {"a": 0.0} and label == "share of the total importance, %"


def test_year_report_shows_every_cutoff(year_result: BacktestResult, tmp_path: Path) -> None:
    page = write_report(year_result, tmp_path, title="Year")["html"].read_text()
    for heading in ("1% of the study area (8 cells)", "10% of the study area (77 cells)"):
        assert heading in page
    pai = year_result.table("1%").loc["mean", "pai"]
    assert f"<td>mean</td><td>{year_result.table('1%').loc['mean', 'hit_rate']:.3f}" in page
    assert f"{pai:.2f} [" in page
    assert "Last period: oracle's top cells" in page  # the best PAI at the first coverage
    last = year_result.last_fold.as_of.date()
    assert (
        f"<p>The last fold: the week starting {last}. oracle has the highest mean PAI at 1% "
        "over the folds above; the model published (see Specification) is chosen on the "
        "selection folds before them.</p>"
    ) in page


def test_a_file_in_place_of_the_folder_is_refused(
    tiny_result: BacktestResult, tmp_path: Path
) -> None:
    target = tmp_path / "taken"
    target.write_text("keep me")
    with pytest.raises(ConfigError, match="'.*taken' exists and is not a folder"):
        write_report(tiny_result, target, title="t")
    assert target.read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]


def test_a_failed_write_leaves_neither_file(tiny_result: BacktestResult, tmp_path: Path) -> None:
    (tmp_path / "report.html").mkdir()  # the html cannot be renamed into place
    with pytest.raises(OSError):
        write_report(tiny_result, tmp_path, title="t")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    assert not any((tmp_path / "report.html").iterdir())


def test_rewriting_replaces_both_files(tiny_result: BacktestResult, tmp_path: Path) -> None:
    write_report(tiny_result, tmp_path, title="first")
    paths = write_report(tiny_result, tmp_path, title="second")
    assert json.loads(paths["json"].read_text())["title"] == "second"
    assert "<h1>second</h1>" in paths["html"].read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.json"]
