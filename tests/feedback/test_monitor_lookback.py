"""Like with like: a period's prior cells are those flagged in the P periods before it, and
the first periods of a series have fewer before them, so fewer (persistent) prior cells and
a higher concentration. A pooled figure is compared only with a reference counting back as
many periods (``compared_with``), never an early served week with a reference that counts
back P, nor a full served week with a short backtest's figure."""

from __future__ import annotations

import json

import pytest

from hotspots.feedback.monitor_reference import Reference, Thresholds, compared_with
from hotspots.feedback.simulation import loop_monitor, simulate_loop
from hotspots.forecasters import make_forecaster
from hotspots.synthetic import generate_city


def test_early_served_weeks_are_compared_at_their_own_lookback() -> None:
    """The demo city's burglary, seed 6, a 12-fold reference, served 20 weeks with no
    feedback: served week 4 read 8.82 counting back 3 periods at most, against 6.26 for the
    same week counting back 8, and the rule before compared it with the reference's 6.39
    (mostly counting back 8): false alarms from week 5 (``benchmarks/feedback_quiet.py``)."""
    city = generate_city(seed=6, days=730, target_events=150_000, resolution=9)
    model = make_forecaster("rolling_mean", target=None)
    run = simulate_loop(
        city, model, discovery=0.0, history=84, reference_periods=12, stationary=False,
        category="Burglary Residential",
    )  # fmt: skip
    th = Thresholds()
    cells = city.cells
    found = loop_monitor(cells, run.periods, run.flagged, run.recorded, run.start, th, served=True)
    ref = found.reference
    assert ref is not None and ref.lookback == 8
    assert [c for c, *_ in ref.by_lookback] == list(range(1, 8))
    p = found.periods
    # the early weeks read high only for counting back fewer periods
    assert p["pooled_concentration"].iloc[3] > 1.3 * ref.concentration
    cmp = compared_with(p, ref, th)
    # weeks 1-5: their windows' first weeks count back under 2 periods: not compared
    assert cmp["reference"].iloc[:5].isna().all()
    # weeks 6-11 against the reference counting back as many (2 to 7), week 12 on P = 8
    assert cmp["lookback"].iloc[5:14].tolist() == [2, 3, 4, 5, 6, 7, 8, 8, 8]
    shorter = {c: conc for c, conc, *_ in ref.by_lookback}
    assert cmp["reference"].iloc[5:11].tolist() == [shorter[c] for c in range(2, 8)]
    assert (cmp["reference"].iloc[11:] == ref.concentration).all()
    for c in range(2, 8):
        assert cmp["value"].iloc[c + 3] == p[f"pooled_concentration_{c}"].iloc[c + 3]
    # no flag in the first 12 weeks served
    assert [f for f in found.flags if f["period"] <= str(p["period"].iloc[11])] == []


def test_a_six_fold_reference_on_the_test_city_is_quiet_and_flags_the_loop() -> None:
    """``test_runaway_loop``'s city and draws (seed 0) with a 6-fold reference: it counts back
    at most 2 periods and measures no repeat share. Before, the repeat flag's bar was the 0.9
    floor alone, which the quiet run's stable map passed (0.93) in week 6, and the loop was
    first flagged in week 4 (seed 0; up to week 11 on others)."""
    city = generate_city(
        seed=3, start="2023-01-02", days=7 * 42, target_events=60_000, resolution=8
    )
    model = make_forecaster("rolling_mean", target=None)
    quiet = simulate_loop(city, model, discovery=0.0, reference_periods=6)
    loop = simulate_loop(city, model, discovery=0.3, reference_periods=6)
    ref = quiet.monitor.reference
    assert ref is not None and ref.lookback == 2 and ref.repeat_share is None
    assert quiet.monitor.flags == []
    assert quiet.monitor.notes[0].startswith(
        "the reference (the periods before patrols acted) has no repeat share: compared with "
        "the first full window"
    )
    first = loop.first_flag()
    assert first is not None and first <= 4
    flags = [f for f in loop.monitor.flags if f["figure"] == "concentration"]
    assert flags[0]["message"].endswith(
        "(the periods before patrols acted, both counting back 2 periods)"
    )


def test_a_reference_keeps_its_lookbacks_through_the_manifest() -> None:
    ref = Reference(5.9, None, "bt", 70, 862, lookback=2, by_lookback=((1, 5.7, 59, 1083),))
    data = json.loads(json.dumps(ref.to_dict()))
    assert Reference.from_dict(data) == ref
    # a reference recorded before: counts back P, nothing shorter
    old = Reference.from_dict({"concentration": 5.0, "repeat_share": 0.5, "source": "bt"})
    assert old is not None and (old.lookback, old.by_lookback) == (None, ())
    th = Thresholds(window=2, repeat=2, coverage=0.5, pool=2, min_lookback=1)
    assert old.at_lookback(2, th.window) == (5.0, 0.0) and old.at_lookback(1, 2) is None
    assert ref.at_lookback(1, 8) == pytest.approx((5.7, (1 - 59 / 1083) / 59))


def test_min_lookback_is_checked() -> None:
    from hotspots.errors import ConfigError

    with pytest.raises(ConfigError, match="min_lookback 9 must be between 1 and window 8"):
        Thresholds(min_lookback=9)
