"""The audit log: line format, concurrent appends, filters, torn lines, no keys written."""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import threading
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotspots.access import audit
from hotspots.access.audit import (
    AuditLog,
    AuditRecord,
    day_file,
    log_files,
    read,
    utc_timestamp,
)
from hotspots.access.keys import KeyStore
from hotspots.errors import ConfigError


def _record(i: int = 0, **over: object) -> AuditRecord:
    base: dict[str, object] = {
        "time": f"2024-05-01T12:00:{i:02d}.000Z",
        "request_id": f"r{i}",
        "key_id": "kaaa",
        "method": "GET",
        "route": "/v1/forecasts",
        "params": {"horizon": "2"},
        "status": 200,
        "model": "burglary/v3",
        "etag": '"abc"',
        "duration_ms": 1.5,
    }
    base.update(over)
    return AuditRecord(**base)  # type: ignore[arg-type]


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    """The log's name; records go to one file per UTC day beside it."""
    return tmp_path / "var" / "audit.jsonl"


def _only_file(log_path: Path) -> Path:
    """The one day file a test wrote."""
    [(path, day)] = log_files(log_path)
    assert day is not None and path == day_file(log_path, day)
    return path


MAY_1 = datetime(2024, 5, 1, 12, 0, 5, tzinfo=UTC).timestamp()
"""The clock of the ``filled`` log's writer (its records are stamped 12:00:00-12:00:04)."""


def test_utc_timestamp_has_milliseconds_and_is_utc() -> None:
    moment = datetime(2024, 5, 1, 14, 0, 0, 123_999, tzinfo=timezone(timedelta(hours=2)))
    assert utc_timestamp(moment) == "2024-05-01T12:00:00.123Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", _record_now().time)


def test_utc_timestamp_of_now_agrees_with_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # now is formatted from a cached second: across a second's change, and truncated to
    # milliseconds as datetime.isoformat does
    times = [1714564800.9999996, 1714564801.0005, 1714564801.25, 1714564800.5]
    clock = iter(times)
    monkeypatch.setattr(audit.time, "time", lambda: next(clock))
    got = [utc_timestamp() for _ in times]
    assert got == [utc_timestamp(datetime.fromtimestamp(t, UTC)) for t in times]
    assert got == [
        "2024-05-01T12:00:01.000Z",
        "2024-05-01T12:00:01.000Z",
        "2024-05-01T12:00:01.250Z",
        "2024-05-01T12:00:00.500Z",
    ]


def _record_now() -> AuditRecord:
    return AuditRecord(
        request_id="r", key_id=None, method="GET", route="/", status=200, duration_ms=0.0
    )


def test_write_appends_one_json_line_in_field_order(log_path: Path) -> None:
    with AuditLog(log_path) as log:
        log.write(_record(1))
        log.write(_record(2, key_id=None, model=None, etag=None, status=404))
    assert log.current == day_file(log_path, datetime.now(UTC).date())
    assert _only_file(log_path) == log.current
    lines = log.current.read_text().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert list(first) == [
        "time", "request_id", "key_id", "method", "route", "status", "duration_ms",
        "params", "model", "etag", "client_request_id",
    ]  # fmt: skip
    assert first == {
        "time": "2024-05-01T12:00:01.000Z",
        "request_id": "r1",
        "key_id": "kaaa",
        "method": "GET",
        "route": "/v1/forecasts",
        "status": 200,
        "duration_ms": 1.5,
        "params": {"horizon": "2"},
        "model": "burglary/v3",
        "etag": '"abc"',
        "client_request_id": None,
    }
    assert json.loads(lines[1])["key_id"] is None
    assert list(read(log_path)) == [_record(1), _record(2, key_id=None, model=None, etag=None,
                                                        status=404)]  # fmt: skip
    assert stat.S_IMODE(os.stat(log.current).st_mode) == 0o600


def test_a_new_log_appends_never_truncates(log_path: Path) -> None:
    with AuditLog(log_path) as log:
        log.write(_record(1))
    with AuditLog(log_path) as log:
        log.write(_record(2))
    assert [r.request_id for r in read(log_path)] == ["r1", "r2"]


def test_one_os_write_per_record(log_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = os.write

    def counting(fd: int, data: bytes) -> int:
        calls.append(len(data))
        return real(fd, data)

    monkeypatch.setattr(audit.os, "write", counting)
    with AuditLog(log_path) as log:
        log.write(_record(1, params={"q": "x" * 10_000}))  # well over PIPE_BUF
        log.write(_record(2))
    assert len(calls) == 2
    assert calls[0] == len(_only_file(log_path).read_bytes().splitlines(keepends=True)[0])


def test_concurrent_writers_leave_whole_lines(log_path: Path) -> None:
    log = AuditLog(log_path)
    padding = "p" * 5_000  # lines longer than PIPE_BUF would tear if written in pieces

    def worker(t: int) -> None:
        for i in range(200):
            log.write(_record(0, request_id=f"{t}-{i}", params={"pad": padding}))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    lines = _only_file(log_path).read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 1_601
    ids = {json.loads(line)["request_id"] for line in lines[:-1]}
    assert ids == {f"{t}-{i}" for t in range(8) for i in range(200)}
    reader = read(log_path)
    assert sum(1 for _ in reader) == 1_600 and reader.skipped == 0


@pytest.fixture
def filled(log_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Five records written on 2024-05-01 (the clock says so): ``audit-2024-05-01.jsonl``."""
    monkeypatch.setattr(audit.time, "time", lambda: MAY_1)
    with AuditLog(log_path) as log:
        log.write(_record(0, key_id="ka"))
        log.write(_record(1, key_id="kb", route="/v1/cells/{cell}"))
        log.write(_record(2, key_id="ka", status=404))
        log.write(_record(3, key_id="ka", route="/v1/cells/{cell}"))
        log.write(_record(4, key_id=None, status=401))
    return log_path


def _ids(path: Path, **filters: object) -> list[str]:
    return [r.request_id for r in read(path, **filters)]  # type: ignore[arg-type]


def test_filters(filled: Path) -> None:
    assert _ids(filled) == ["r0", "r1", "r2", "r3", "r4"]
    assert _ids(filled, key_id="ka") == ["r0", "r2", "r3"]
    assert _ids(filled, route="/v1/cells/{cell}") == ["r1", "r3"]
    assert _ids(filled, status=404) == ["r2"]
    assert _ids(filled, key_id="ka", route="/v1/cells/{cell}") == ["r3"]
    assert _ids(filled, limit=2) == ["r0", "r1"]
    assert _ids(filled, key_id="ka", limit=2) == ["r0", "r2"]
    assert _ids(filled, limit=0) == []


def test_time_filters_since_inclusive_until_exclusive(filled: Path) -> None:
    assert _ids(filled, since="2024-05-01T12:00:01", until="2024-05-01T12:00:03") == ["r1", "r2"]
    assert _ids(filled, since="2024-05-01T12:00:03.000Z") == ["r3", "r4"]
    # an aware time is converted: 14:00:02+02:00 is 12:00:02 UTC
    since = datetime(2024, 5, 1, 14, 0, 2, tzinfo=timezone(timedelta(hours=2)))
    assert _ids(filled, since=since) == ["r2", "r3", "r4"]
    assert _ids(filled, until=datetime(2024, 5, 1, 12, 0, 1, tzinfo=UTC)) == ["r0"]
    assert _ids(filled, since="2024-05-02") == []


def test_bad_filter_values_name_the_value(filled: Path) -> None:
    with pytest.raises(ConfigError, match="since 'yesterday'"):
        read(filled, since="yesterday")
    with pytest.raises(ConfigError, match="-1"):
        read(filled, limit=-1)


def test_torn_last_line_is_skipped_and_counted(
    filled: Path, caplog: pytest.LogCaptureFixture
) -> None:
    whole = json.dumps(_record(5).to_dict())
    with _only_file(filled).open("ab") as f:
        f.write(whole[: len(whole) // 2].encode())  # a crash mid-write
    with caplog.at_level(logging.WARNING, logger="hotspots.access.audit"):
        reader = read(filled)
        assert [r.request_id for r in reader] == ["r0", "r1", "r2", "r3", "r4"]
    assert reader.skipped == 1
    assert "skipped 1 unreadable line" in caplog.text
    # a writer after the crash ends the torn line first, so its own record survives
    with AuditLog(filled) as log:
        log.write(_record(6))
        log.write(_record(7))
    reader = read(filled)
    assert [r.request_id for r in reader] == ["r0", "r1", "r2", "r3", "r4", "r6", "r7"]
    assert reader.skipped == 1
    assert _only_file(filled).read_text().count("\n") == 8


def test_a_new_utc_day_starts_a_new_file(log_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    midnight = datetime(2024, 5, 2, tzinfo=UTC).timestamp()
    now = [0.0]
    monkeypatch.setattr(audit.time, "time", lambda: now[0])
    log_path.parent.mkdir(parents=True)
    log_path.write_text(json.dumps(_record(0).to_dict()) + "\n")  # an older release's file
    with AuditLog(log_path) as log:
        for i, moment in enumerate([-0.5, -0.001, 0, 86_400 * 3], start=1):
            now[0] = midnight + moment
            log.write(_record(i))
    days = [day for _, day in log_files(log_path)]
    assert days == [None, date(2024, 5, 1), date(2024, 5, 2), date(2024, 5, 5)]
    per_file = [path.read_text().count("\n") for path, _ in log_files(log_path)]
    assert per_file == [1, 2, 1, 1]
    assert [r.request_id for r in read(log_path)] == ["r0", "r1", "r2", "r3", "r4"]
    # a past day can be archived while the log is open; the reader reads what is left
    log_files(log_path)[1][0].rename(log_path.parent / "archived.jsonl")
    assert [r.request_id for r in read(log_path)] == ["r0", "r3", "r4"]


def test_a_time_filter_skips_the_days_it_cannot_match(
    log_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = datetime(2024, 5, 1, 12, tzinfo=UTC)
    stamps = [first + timedelta(days=d) for d in range(6)]
    log_path.parent.mkdir(parents=True)
    for i, moment in enumerate(stamps):
        line = json.dumps(_record(i, time=utc_timestamp(moment)).to_dict()) + "\n"
        day_file(log_path, moment.date()).write_text(line)
    # stamped just before midnight, written just after: in the next day's file
    late = _record(9, time="2024-05-03T23:59:59.999Z").to_dict()
    with day_file(log_path, date(2024, 5, 4)).open("a") as f:
        f.write(json.dumps(late) + "\n")
    opened: list[str] = []
    real = audit._matching
    monkeypatch.setattr(audit, "_matching", lambda p, k: opened.append(p.name) or real(p, k))
    got = [r.request_id for r in read(log_path, since="2024-05-03", until="2024-05-04")]
    assert got == ["r2", "r9"]
    assert opened == [f"audit-2024-05-0{d}.jsonl" for d in (2, 3, 4, 5)]


def test_unreadable_lines_anywhere_are_skipped(log_path: Path) -> None:
    log_path.parent.mkdir(parents=True)
    good = json.dumps(_record(1).to_dict())
    missing = json.dumps({k: v for k, v in _record(2).to_dict().items() if k != "status"})
    log_path.write_text(f"{good}\n[1, 2]\n{missing}\n\n{good}\n")
    reader = read(log_path)
    assert [r.request_id for r in reader] == ["r1", "r1"]
    assert reader.skipped == 2


def test_missing_log_reads_as_empty(tmp_path: Path) -> None:
    reader = read(tmp_path / "none.jsonl")
    assert list(reader) == [] and reader.skipped == 0


def test_the_key_never_appears(tmp_path: Path, log_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    record, key = store.create("app", ["forecasts:read"])
    authed = store.authenticate(key)
    assert authed is not None
    with AuditLog(log_path) as log:
        log.write(
            _record(
                1,
                key_id=authed.id,
                params={"api_key": key, "cells": ["8828308281fffff", f"x{key}"], "n": 3},
            )
        )
    text = _only_file(log_path).read_text()
    secret = key.split("_", 2)[2]
    assert key not in text and secret not in text
    (written,) = read(log_path)
    assert written.key_id == record.id
    assert written.params == {
        "api_key": "[redacted]",
        "cells": ["8828308281fffff", "[redacted]"],
        "n": 3,
    }


_TEXT = st.text(max_size=40)  # any unicode: quotes, backslashes, controls, surrogates
_PARAM = st.one_of(_TEXT, st.lists(_TEXT, max_size=3), st.just("hs_abc1_" + "x" * 20))


@settings(max_examples=300, deadline=None)
@given(
    request_id=_TEXT,
    key_id=st.none() | _TEXT,
    method=_TEXT,
    route=_TEXT,
    status=st.integers(100, 599),
    duration_ms=st.floats(min_value=0, max_value=1e9, allow_nan=False),
    params=st.dictionaries(_TEXT, _PARAM, max_size=4),
    model=st.none() | _TEXT,
    etag=st.none() | _TEXT,
    time=_TEXT,
)
def test_encode_entry_writes_what_the_encoder_writes(**fields: Any) -> None:
    record = AuditRecord(**fields)
    expected = json.dumps(record.to_dict(), separators=(",", ":"), ensure_ascii=False)
    assert record.line() == expected + "\n"
    params = fields.pop("params")
    line = audit.encode_entry(params_json=audit.encode_params(params), **fields)
    assert line == expected + "\n"
    assert list(json.loads(line)) == list(audit._FIELDS)


def test_write_line_appends_a_record_the_reader_reads(log_path: Path) -> None:
    fields = {k: v for k, v in _record(3).to_dict().items() if k != "params"}
    with AuditLog(log_path) as log:
        log.write_line(audit.encode_entry(params_json='{"top":"100"}', **fields))
        log.write(_record(4))
    first, second = list(read(log_path))
    assert first == _record(3, params={"top": "100"}) and second == _record(4)
