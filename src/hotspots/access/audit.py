"""The audit log: one JSON line per API request, append-only, and a filtered reader.

The log named ``audit.jsonl`` is written as one file per UTC day beside that name:
``audit-2026-11-21.jsonl``. Only today's file is open, so past days can be archived or
deleted while the service runs (how long to keep them is the operator's policy); the reader
reads a plain ``audit.jsonl`` (left by an older release) first, then the days in order.

Each record goes out in one ``os.write`` on a descriptor opened ``O_APPEND`` (under a lock, so
threads never interleave), so lines from concurrent writers stay whole. There is no API to
rewrite or truncate the log. The reader skips a torn line (a crash mid-write) and counts it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from hotspots.errors import ConfigError

logger = logging.getLogger(__name__)

AUDIT_FILE = "audit.jsonl"
"""Name of the audit log inside the service's state folder."""
REDACTED = "[redacted]"
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
"""Compact JSON (``json.dumps`` with options would make an encoder each call)."""

# A parameter name or value, or a client's request id, that holds an API key
# (``hs_<id>_<secret>``) is never written.
_KEY_PATTERN = re.compile(r"hs_[0-9a-z]+_[A-Za-z0-9_-]{16,}", re.IGNORECASE)
CLIENT_ID_LENGTH = 64
"""Characters of a client's ``X-Request-ID`` kept (``client_request_id``)."""
_NOT_ID = re.compile(r"[^A-Za-z0-9._:-]+")


def utc_timestamp(moment: datetime | None = None) -> str:
    """UTC ISO 8601 time with milliseconds, e.g. ``2024-05-01T12:00:00.123Z`` (default: now)."""
    if moment is None:
        return _now_timestamp()
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_last_second: tuple[int, str] = (-1, "")


def _now_timestamp() -> str:
    """``utc_timestamp()`` of now, the seconds part formatted once a second (one record a
    request: ``datetime.now().isoformat()`` was a sixth of the audit's cost)."""
    global _last_second
    second, micros = divmod(round(time.time() * 1_000_000), 1_000_000)  # as datetime rounds
    cached, text = _last_second
    if cached != second:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _last_second = (second, text)
    return f"{text}.{micros // 1000:03d}Z"


@dataclass(frozen=True, kw_only=True)
class AuditRecord:
    """What the log keeps about one request (the key's id, never the key)."""

    request_id: str
    key_id: str | None
    method: str
    route: str
    """The route template, e.g. ``/v1/cells/{cell}``, not the concrete path."""
    status: int
    duration_ms: float
    params: Mapping[str, Any] = field(default_factory=dict)
    model: str | None = None
    """``name/version`` of the model that answered, if any."""
    etag: str | None = None
    client_request_id: str | None = None
    """The client's own ``X-Request-ID``, sanitised (``client_request_id``); never ours."""
    time: str = field(default_factory=utc_timestamp)

    def to_dict(self) -> dict[str, Any]:
        """The record as written: ``time`` first, key-like parameter values redacted."""
        out = {name: getattr(self, name) for name in _FIELDS}
        out["params"] = {_redact_name(str(k)): _redact(v) for k, v in self.params.items()}
        return out

    def line(self) -> str:
        """The record as one log line (``encode_entry``): ``to_dict()`` in JSON."""
        values = {name: getattr(self, name) for name in _FIELDS if name != "params"}
        return encode_entry(params_json=encode_params(self.params), **values)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditRecord:
        """A record from one parsed line; KeyError/TypeError/ValueError if it is not one."""
        params = data["params"]
        if not isinstance(params, Mapping):
            raise TypeError(f"params is {type(params).__name__}, not an object")
        return cls(
            time=str(data["time"]),
            request_id=str(data["request_id"]),
            key_id=None if data["key_id"] is None else str(data["key_id"]),
            method=str(data["method"]),
            route=str(data["route"]),
            params=dict(params),
            status=int(data["status"]),
            model=None if data.get("model") is None else str(data["model"]),
            etag=None if data.get("etag") is None else str(data["etag"]),
            duration_ms=float(data["duration_ms"]),
            client_request_id=None
            if data.get("client_request_id") is None
            else str(data["client_request_id"]),
        )


_string = json.encoder.encode_basestring
"""JSON text of a str as ``_ENCODE`` writes it (not ASCII-escaped)."""


def _optional(value: str | None) -> str:
    return "null" if value is None else _string(value)


def encode_params(params: Mapping[str, Any]) -> str:
    """The JSON of a record's ``params`` as written: key-like names and values redacted."""
    return _ENCODE({_redact_name(str(k)): _redact(v) for k, v in params.items()})


def client_request_id(header: str | None) -> str | None:
    """What the audit keeps of a client's ``X-Request-ID``: the characters of an id
    (letters, digits, ``._:-``), at most ``CLIENT_ID_LENGTH`` of them; ``[redacted]`` if it
    holds an API key; None if nothing is left."""
    if not header:
        return None
    if _KEY_PATTERN.search(header):
        return REDACTED
    return _NOT_ID.sub("", header)[:CLIENT_ID_LENGTH] or None


def encode_entry(
    *,
    request_id: str,
    key_id: str | None,
    method: str,
    route: str,
    status: int,
    duration_ms: float,
    params_json: str,
    model: str | None = None,
    etag: str | None = None,
    client_request_id: str | None = None,
    time: str | None = None,
) -> str:
    """One log line, newline included: the JSON of ``AuditRecord(...).to_dict()``, its
    ``params`` given encoded (``encode_params``), written without building the record or a
    dict (one line a request; the audit tests check it against the JSON encoder)."""
    return (
        f'{{"time":{_string(utc_timestamp() if time is None else time)},'
        f'"request_id":{_string(request_id)},"key_id":{_optional(key_id)},'
        f'"method":{_string(method)},"route":{_string(route)},"status":{int(status)},'
        f'"duration_ms":{float(duration_ms)!r},"params":{params_json},'
        f'"model":{_optional(model)},"etag":{_optional(etag)},'
        f'"client_request_id":{_optional(client_request_id)}}}\n'
    )


_FIELDS = ("time", *(f.name for f in fields(AuditRecord) if f.name != "time"))
"""The record's fields in the order written: time first."""


def _redact_name(name: str) -> str:
    return REDACTED if _KEY_PATTERN.search(name) else name


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return REDACTED if _KEY_PATTERN.search(value) else value
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    return value


_DAY = 86_400
"""Seconds in a UTC day (POSIX time has no leap seconds)."""


def day_file(path: str | Path, day: date | str) -> Path:
    """The file of one UTC day of the log named ``path``: ``audit-2026-11-21.jsonl``
    (``day="*"``: the glob pattern of every day's file)."""
    base = Path(path)
    stamp = day if isinstance(day, str) else day.isoformat()
    return base.with_name(f"{base.stem}-{stamp}{base.suffix}")


def _utc_day(moment: float) -> date:
    return datetime.fromtimestamp(moment, UTC).date()


def log_files(path: str | Path) -> list[tuple[Path, date | None]]:
    """The files of the log named ``path``, oldest first, each with its day (None for a
    plain ``audit.jsonl`` an older release wrote, which comes first)."""
    base = Path(path)
    found: list[tuple[Path, date | None]] = [(base, None)] if base.is_file() else []
    days = []
    for file in base.parent.glob(day_file(base, "*").name):
        try:
            days.append(
                (date.fromisoformat(file.name[len(base.stem) + 1 : -len(base.suffix)]), file)
            )
        except ValueError:  # not one of ours
            continue
    return found + [(file, day) for day, file in sorted(days)]


class AuditLog:
    """Appends audit records, one JSON-lines file per UTC day named after ``path`` (mode
    0600; see the module docstring); share one per process."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._day_ends = 0.0
        """When the open file's day ends (epoch seconds); a write after it opens the next."""

    def write(self, record: AuditRecord) -> None:
        """Append one record as one line; unbuffered, so it is in the file on return."""
        self.write_line(record.line())

    def write_line(self, line: str) -> None:
        """Append one record encoded by ``encode_entry`` (the service's hot path)."""
        data = line.encode("utf-8")
        with self._lock:
            fd = self._fd
            if fd is None or time.time() >= self._day_ends:
                fd, torn = self._open_today()
                if torn:  # end the line a crashed writer left, or this record is lost with it
                    data = b"\n" + data
            written = os.write(fd, data)
            while written < len(data):  # only on a full disk or a signal; finish the line
                written += os.write(fd, data[written:])

    @property
    def current(self) -> Path:
        """The file today's records go to."""
        return day_file(self.path, _utc_day(time.time()))

    def _open_today(self) -> tuple[int, bool]:
        """Open today's file in place of the one open: its descriptor, and whether it ends
        in a torn line (no final newline)."""
        now = time.time()
        path = day_file(self.path, _utc_day(now))
        path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(path, flags, 0o600)
        if self._fd is not None:
            os.close(self._fd)
        self._fd, self._day_ends = fd, (now // _DAY + 1) * _DAY
        size = os.fstat(fd).st_size
        return fd, size > 0 and os.pread(fd, 1, size - 1) != b"\n"

    def close(self) -> None:
        """Close the file; a later ``write`` opens (today's) again."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def parse_time(value: str | datetime, what: str = "time") -> datetime:
    """An aware UTC datetime from ISO text or a datetime (naive means UTC)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError as err:
            raise ConfigError(f"{what} {value!r} is not an ISO 8601 date or time") from err
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class AuditReader(Iterator[AuditRecord]):
    """Iterates the matching records of a log; ``skipped`` counts unreadable lines."""

    def __init__(self, lines: Iterator[AuditRecord | None], limit: int | None) -> None:
        self.skipped = 0
        self._lines = lines
        self._left = limit

    def __next__(self) -> AuditRecord:
        if self._left is not None and self._left <= 0:
            raise StopIteration
        for record in self._lines:
            if record is None:
                self.skipped += 1
                continue
            if self._left is not None:
                self._left -= 1
            return record
        raise StopIteration


def read(
    path: str | Path,
    *,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    key_id: str | None = None,
    route: str | None = None,
    status: int | None = None,
    limit: int | None = None,
) -> AuditReader:
    """The records of the audit log named ``path`` (every day's file, oldest first, in file
    order), filtered; a log with no files has none.

    ``since`` is inclusive and ``until`` exclusive (ISO text or datetimes, naive means UTC);
    a day's file that cannot hold a match is not read. ``limit`` keeps the first matches. A
    line that does not parse (a torn last line after a crash) is skipped, counted in the
    reader's ``skipped`` and logged as a warning.
    """
    if limit is not None and limit < 0:
        raise ConfigError(f"limit must be 0 or more, got {limit}")
    lo = None if since is None else parse_time(since, "since")
    hi = None if until is None else parse_time(until, "until")
    wanted = {"key_id": key_id, "route": route, "status": status}
    wanted = {k: v for k, v in wanted.items() if v is not None}

    def keep(record: AuditRecord) -> bool:
        if any(getattr(record, k) != v for k, v in wanted.items()):
            return False
        if lo is None and hi is None:
            return True
        moment = parse_time(record.time)
        return (lo is None or moment >= lo) and (hi is None or moment < hi)

    # a record is stamped just before it is written: a day's file may hold a few from
    # either side of its midnights, so a day is skipped only when a whole day away
    first = None if lo is None else lo.date() - timedelta(days=1)
    last = None if hi is None else hi.date() + timedelta(days=1)
    files = [
        file
        for file, day in log_files(path)
        if day is None or ((first is None or day >= first) and (last is None or day <= last))
    ]
    return AuditReader((r for file in files for r in _matching(file, keep)), limit)


def _matching(path: Path, keep: Callable[[AuditRecord], bool]) -> Iterator[AuditRecord | None]:
    """Records of one file that pass ``keep``, and None for each unreadable line."""
    if not path.exists():  # archived or deleted since it was listed
        return
    skipped = 0
    with path.open("rb") as lines:
        for raw in lines:
            if not raw.strip():
                continue
            try:
                record = AuditRecord.from_dict(json.loads(raw))
                parse_time(record.time)
            except (ValueError, KeyError, TypeError, ConfigError):
                skipped += 1
                yield None
                continue
            if keep(record):
                yield record
    if skipped:
        logger.warning("skipped %d unreadable line(s) in audit log %s", skipped, path)
