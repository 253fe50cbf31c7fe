"""Fast paths of the ingest: each must give exactly what the plain pandas / arrow way gives."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from hotspots.ingest import fasttime, textbuf, validate
from hotspots.ingest.coords import farther_than, haversine_km, median
from hotspots.ingest.fasttime import iso_fixed, localize_hourly
from hotspots.ingest.pipeline import _together, clean_text
from hotspots.ingest.textbuf import (
    all_lengths,
    arrow_strings,
    hash_strings,
    may_need_trim,
    take_rows,
)
from hotspots.ingest.times import _localize_exact, parse_time_column
from hotspots.ingest.validate import duplicate_ids, shared

CHI = "America/Chicago"


def chunked(*parts: list[str | None]) -> pa.ChunkedArray:
    return pa.chunked_array([pa.array(p, type=pa.large_string()) for p in parts])


# --- iso_fixed -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds", "precision"),
    [
        ("1970-01-02 00:00:01", 86_401, 0),
        ("2000-02-29 12:34:56", 951_827_696, 0),  # 2000 is a leap year
        ("2000-02-29T12:34:56", 951_827_696, 0),
        ("1970-01-02 00:01", 86_460, 0),
        ("2024-02-29", 1_709_164_800, 1),
        ("2023-01", 1_672_531_200, 2),
        ("2261-12-31 23:59:59", 9_214_646_399, 0),  # the last year read here
    ],
)
def test_iso_fixed_reads_each_shape(text: str, seconds: int, precision: int) -> None:
    got = iso_fixed(chunked([text]))
    assert got.ok.tolist() == [True]
    assert got.seconds.tolist() == [seconds]
    assert got.precision.tolist() == [precision]


@pytest.mark.parametrize(
    "text",
    [
        "2023-02-29 10:00:00",  # not a leap year
        "1900-02-29",  # centuries are leap years only every 400 years
        "2023-04-31",
        "2023-00-10",
        "2023-13",
        "2023-01-00",
        "2023-01-01 24:00:00",
        "2023-01-01 23:60",
        "2023-01-01 23:59:60",  # pandas has no leap seconds
        "2023-01-01t10:00:00",
        "2023-01-01_10:00:00",
        "+023-01-01",
        "2023/01/01",
        "2023-1-01 10:00",  # pandas reads these; they are left to it
        " 2023-01-01",
        "1677-12-31",  # outside the years every datetime64 unit holds
        "2262-01-01",
        "٢٠٢٣-01-01",
        "",
        None,
    ],
)
def test_iso_fixed_leaves_everything_else_to_pandas(text: str | None) -> None:
    assert iso_fixed(chunked([text])).ok.tolist() == [False]


def test_iso_fixed_handles_chunks_slices_and_mixed_shapes() -> None:
    values = ["2023-01-02 03:04:05", "junk", None, "2023-01", "2023-01-02", "2023-01-02 03:04"]
    one = iso_fixed(chunked(values))
    split = iso_fixed(chunked(values[:2], [], values[2:]))
    sliced = iso_fixed(pa.chunked_array([pa.array(["x", *values], pa.large_string())[1:]]))
    for got in (split, sliced):
        np.testing.assert_array_equal(got.ok, one.ok)
        np.testing.assert_array_equal(got.seconds[got.ok], one.seconds[one.ok])
    assert one.ok.tolist() == [True, False, False, True, True, True]
    assert one.precision[one.ok].tolist() == [0, 2, 1, 0]
    base = 1_672_531_200  # 2023-01-01
    assert one.seconds[one.ok].tolist() == [
        base + 86_400 + 3 * 3600 + 4 * 60 + 5,
        base,
        base + 86_400,
        base + 86_400 + 3 * 3600 + 4 * 60,
    ]


def test_iso_fixed_agrees_with_pandas_on_random_strings() -> None:
    rng = np.random.default_rng(3)
    n = 4000
    parts = {
        "y": rng.integers(1600, 2400, n),
        "m": rng.integers(0, 14, n),
        "d": rng.integers(0, 33, n),
        "h": rng.integers(0, 26, n),
        "mi": rng.integers(0, 62, n),
        "s": rng.integers(0, 62, n),
    }
    seps = rng.choice([" ", "T", "t", ":"], n)
    kind = rng.integers(0, 4, n)
    values = []
    for i in range(n):
        y, m, d, h, mi, s = (parts[k][i] for k in ("y", "m", "d", "h", "mi", "s"))
        date = f"{y:04d}-{m:02d}"
        full = f"{date}-{d:02d}{seps[i]}{h:02d}:{mi:02d}:{s:02d}"
        values.append([date, full[:10], full[:16], full][kind[i]])
    got = iso_fixed(chunked(values))
    ref = pd.to_datetime(pd.Series(values), format="ISO8601", errors="coerce")
    expected = ref.to_numpy().astype("M8[s]").astype(np.int64)
    assert 0.2 < got.ok.mean() < 0.8  # random fields are valid often enough to test both ways
    np.testing.assert_array_equal(got.seconds[got.ok], expected[got.ok])
    # and every string of a fixed shape that pandas reads (in the years covered) is read here
    fixed_shape = (kind < 2) | np.isin(seps, [" ", "T"])
    in_years = (parts["y"] >= 1678) & (parts["y"] <= 2261)
    np.testing.assert_array_equal(got.ok, ref.notna().to_numpy() & fixed_shape & in_years)


def test_parse_time_column_merges_fast_and_pandas_rows() -> None:
    values = pd.Series(
        ["2023-01-02 03:04:05", "2023-01-02 03:04:05.123456789", "2023-1-2", "x", None, "2023-07"]
    )
    parsed = parse_time_column(values, CHI, CHI)
    assert parsed.times.dt.unit == "ns"  # one string needs nanoseconds, as in pandas
    expected = pd.to_datetime(values, format="ISO8601", errors="coerce").dt.tz_localize(CHI)
    pd.testing.assert_series_equal(parsed.times, expected)
    assert parsed.precision.tolist() == [0, 0, 1, 2, 2, 2]  # junk too: by length, as before


# --- localize_hourly -----------------------------------------------------------------------


def _hourly(naive: pd.Series, tz: str) -> pd.Series:
    return localize_hourly(naive, tz, partial(_localize_exact, tz=tz), min_rows=0)


def test_hour_table_handles_gaps_repeats_and_ordinary_hours() -> None:
    wall = ["2023-01-15 12:00", "2023-07-01 12:00", "2023-03-12 02:30", "2023-11-05 01:30", None]
    naive = pd.Series(pd.to_datetime(wall), index=[5, 6, 7, 8, 9], name="t")
    got = _hourly(naive, CHI)
    utc = got.dt.tz_convert("UTC").dt.strftime("%Y-%m-%d %H:%M").tolist()
    # CST, CDT, the skipped 02:30 moved to 03:00 CDT, the repeated 01:30 read as CST, NaT
    assert utc[:4] == [
        "2023-01-15 18:00",
        "2023-07-01 17:00",
        "2023-03-12 08:00",
        "2023-11-05 07:30",
    ]
    assert pd.isna(got.iloc[4])
    assert list(got.index) == [5, 6, 7, 8, 9] and got.name == "t"
    pd.testing.assert_series_equal(got, _localize_exact(naive, CHI))


@pytest.mark.parametrize("unit", ["s", "us", "ns"])
@pytest.mark.parametrize(
    "tz", [CHI, "Europe/London", "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Chatham"]
)
def test_hour_table_matches_pandas_minute_by_minute(unit: str, tz: str) -> None:
    # two years in 37-minute steps: every hour of every transition (half-hour ones too)
    wall = pd.date_range("2022-01-01", "2024-01-01", freq="37min").as_unit(unit)
    naive = pd.Series(wall.to_numpy())
    pd.testing.assert_series_equal(_hourly(naive, tz), _localize_exact(naive, tz))


def test_hour_table_sees_a_transition_inside_an_hour() -> None:
    # Athens went from +1:34:52 to +2:00 just after 1916-07-28 00:00: that hour's first and
    # last instants both exist, with different offsets
    naive = pd.Series(pd.date_range("1916-07-27 22:00", "1916-07-28 02:00", freq="3min"))
    got = _hourly(naive, "Europe/Athens")
    pd.testing.assert_series_equal(got, _localize_exact(naive, "Europe/Athens"))
    assert got[naive == pd.Timestamp("1916-07-28 00:30")].iloc[0].utcoffset().seconds == 7200


def test_hour_table_falls_back_for_spread_out_or_small_columns() -> None:
    naive = pd.Series(pd.to_datetime(["1700-06-01 10:00", "2250-06-01 10:00"]).as_unit("s"))
    pd.testing.assert_series_equal(_hourly(naive, CHI), _localize_exact(naive, CHI))
    calls: list[int] = []

    def exact(x: pd.Series) -> pd.Series:
        calls.append(len(x))
        return _localize_exact(x, CHI)

    localize_hourly(naive, CHI, exact)  # below MIN_ROWS_HOURLY
    assert calls == [2]


def test_parse_time_column_with_the_hour_table(monkeypatch: pytest.MonkeyPatch) -> None:
    values = pd.Series(["2023-03-12 02:30:00", "2023-11-05 01:30:00", "2023-06-01 10:00:00"])
    plain = parse_time_column(values, CHI, "UTC")
    monkeypatch.setattr(fasttime, "MIN_ROWS_HOURLY", 0)
    pd.testing.assert_series_equal(parse_time_column(values, CHI, "UTC").times, plain.times)
    assert parse_time_column(values, CHI, CHI).times.dt.strftime("%H:%M").tolist() == [
        "03:00",
        "01:30",
        "10:00",
    ]


# --- textbuf -------------------------------------------------------------------------------


def test_lengths_trim_check_and_take_across_chunks() -> None:
    arr = chunked(["ab", None], [], ["", "cde"])
    assert all_lengths(arr).tolist() == [2, 0, 0, 3]
    assert take_rows(arr, np.array([0, 3])).to_pylist() == ["ab", "cde"]
    assert not may_need_trim(arr)
    for edge in (" a", "a\t", "\u00a0a", "a\u2003"):
        assert may_need_trim(chunked(["x"], [edge])), repr(edge)


def test_equal_strings_hash_alike_whatever_their_chunk() -> None:
    # the second chunk's longest string is longer: hashing must not depend on that
    arr = chunked(["abc", "abcdefghij"], ["abcdefghij", "abc", "x" * 30, None, ""])
    keys = hash_strings(arr)
    assert keys is not None
    assert keys[0] == keys[3] and keys[1] == keys[2] and keys[5] == keys[6]
    assert len({int(k) for k in keys[[0, 1, 4, 5]]}) == 4
    assert hash_strings(chunked(["x" * 65])) is None


def test_shared_marks_every_row_of_a_repeated_key() -> None:
    keys = np.array([7, 3, 7, 9, 3, 1], dtype=np.uint64)
    assert shared(keys).tolist() == [True, True, True, False, True, False]
    many = np.random.default_rng(0).integers(0, 50_000, 40_000).astype(np.uint64)
    expected = pd.Series(many).duplicated(keep=False).to_numpy()
    np.testing.assert_array_equal(shared(many), expected)


# --- duplicate ids -------------------------------------------------------------------------


def test_duplicate_ids_trim_and_skip_empty_ids() -> None:
    ids = pd.Series([" A", "A", "B", "", None, "A ", "", "b"])
    everyone = np.ones(len(ids), dtype=bool)
    assert duplicate_ids(ids, everyone).tolist() == [0, 1, 0, 0, 0, 1, 0, 0]
    later = np.array([0, 1, 1, 1, 1, 1, 1, 1], dtype=bool)  # the first " A" was rejected
    assert duplicate_ids(ids, later).tolist() == [0, 0, 0, 0, 0, 1, 0, 0]


def test_duplicate_ids_confirm_hash_matches_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    # every id hashes alike: only the exact comparison can tell them apart
    monkeypatch.setattr(validate, "hash_strings", lambda text: np.zeros(len(text), np.uint64))
    ids = pd.Series(["a", "b", "a", "c", "b"])
    assert duplicate_ids(ids, np.ones(5, dtype=bool)).tolist() == [0, 0, 1, 0, 1]


def test_duplicate_ids_longer_than_the_hash_reads() -> None:
    long = "L" * 100
    ids = pd.Series([long, long + "x", long])
    assert duplicate_ids(ids, np.ones(3, dtype=bool)).tolist() == [0, 0, 1]


def test_text_of_object_and_arrow_columns_is_read_alike() -> None:
    obj = pd.Series(["a", None, "bc"], dtype=object)
    assert arrow_strings(obj).to_pylist() == ["a", None, "bc"]
    assert textbuf.all_lengths(arrow_strings(obj)).tolist() == [1, 0, 2]


# --- coordinates, text columns, threads ----------------------------------------------------


def test_farther_than_is_the_haversine_test() -> None:
    # one degree of latitude is 111.195 km on this sphere
    lat, lng = np.array([1.0]), np.array([0.0])
    assert farther_than(lat, lng, 0.0, 0.0, 111.0).tolist() == [True]
    assert farther_than(lat, lng, 0.0, 0.0, 112.0).tolist() == [False]
    rng = np.random.default_rng(1)
    la, ln = rng.uniform(-89, 89, 20_000), rng.uniform(-180, 180, 20_000)
    for km in (50.0, 500.0, 5_000.0):
        near = rng.uniform(-1, 1, (2, 5_000)) * km / 111
        pts_la = np.r_[la, 40 + near[0]]
        pts_ln = np.r_[ln, -100 + near[1]]
        expected = haversine_km(pts_la, pts_ln, 40.0, -100.0) > km
        np.testing.assert_array_equal(farther_than(pts_la, pts_ln, 40.0, -100.0, km), expected)


@pytest.mark.parametrize("n", [100_000, 100_001])
def test_median_is_numpys_median(n: int) -> None:
    rng = np.random.default_rng(n)
    cases = {
        "normal": rng.normal(40.0, 0.05, n),
        "ties": np.round(rng.normal(40.0, 0.05, n), 2),
        "constant": np.full(n, 3.5),
        "outliers": np.r_[rng.normal(0.0, 1.0, n - 50), np.full(50, 1e9)],
        "freak sample": np.where(np.arange(n) % (n // 4096) == 0, 100.0, rng.random(n)),
    }
    for name, values in cases.items():
        assert median(values) == float(np.median(values)), name
    values = cases["normal"].copy()
    values[7] = np.nan
    assert np.isnan(median(values))
    assert median(np.array([3.0, 1.0, 2.0, 10.0])) == 2.5  # small: numpy itself


def test_clean_text_trims_and_turns_empty_into_na() -> None:
    got = clean_text(pd.Series([" a ", "", None, "b", "\tc"]))
    assert got.tolist() == ["a", pd.NA, pd.NA, "b", "c"]
    assert got.dtype == pd.StringDtype()
    untouched = clean_text(pd.Series(["a", "b"]))
    assert untouched.tolist() == ["a", "b"]


def test_together_returns_both_and_raises_the_side_error_first() -> None:
    assert _together(lambda: 1, lambda: 2) == (1, 2)

    def side() -> None:
        raise KeyError("side")

    def main() -> None:
        raise ValueError("main")

    with pytest.raises(KeyError, match="side"):
        _together(side, main)
    with pytest.raises(ValueError, match="main"):
        _together(lambda: 1, main)
