"""A .zip of CSV exports read as one: data.police.uk's downloads (a folder per month, a CSV
per force and month) and many portals' zipped extracts.

The members ending ``.csv`` (or ``.csv.gz``) are read in name order with the same column map,
each by ``readers.read_csv``, and stacked; ``source_row`` counts on across them, and the
report lists each member's first and last ``source_row`` so a row can be found again.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

import pandas as pd

from hotspots.errors import InputFileError
from hotspots.ingest import readers

MEMBER_SUFFIXES = (".csv", ".csv.gz")


@dataclass(frozen=True)
class ZipMember:
    """One CSV of a zip and the ``source_row`` range its rows got (1-based, inclusive)."""

    name: str
    first_row: int
    last_row: int


def is_zip(path: Path) -> bool:
    """True for a file named ``.zip`` (a zip that is not one is told when it is opened)."""
    return path.name.lower().endswith(".zip")


def csv_members(path: Path, pattern: str = "*") -> tuple[list[zipfile.ZipInfo], list[str]]:
    """The CSV members of a zip whose names match ``pattern``, in name order, and the other
    CSVs' names; InputFileError for a broken zip or one without such a CSV, naming what it
    holds."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError) as err:
        raise InputFileError(f"cannot open {path.name} as a zip file: {err}") from err
    wanted = [
        i
        for i in infos
        if not i.is_dir()
        and i.filename.lower().endswith(MEMBER_SUFFIXES)
        and not PurePosixPath(i.filename).name.startswith(("._", "."))  # macOS / hidden
        and "__MACOSX" not in PurePosixPath(i.filename).parts
    ]
    chosen = [i for i in wanted if fnmatch(PurePosixPath(i.filename).name.lower(), pattern)]
    if not chosen:
        held = ", ".join(i.filename for i in infos[:5]) or "nothing"
        more = f" and {len(infos) - 5} more" if len(infos) > 5 else ""
        which = ".csv file" if pattern == "*" else f".csv file named {pattern}"
        raise InputFileError(f"{path.name} holds no {which} (it holds {held}{more})")
    others = sorted(i.filename for i in wanted if i not in chosen)
    return sorted(chosen, key=lambda i: i.filename), others


def read_zip(
    path: Path,
    wanted: dict[str, str],
    optional: set[str],
    *,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    numeric: Sequence[str] = (),
    progress: readers.Progress | None = None,
    pattern: str = "*",
) -> tuple[readers.SourceTable, list[ZipMember], list[str]]:
    """The wanted columns of every CSV member named like ``pattern``, stacked in name order,
    their row ranges, and the names of the CSVs left out.

    Each member is unpacked to a temporary folder and read as a CSV file, so every check of a
    single export applies to each (an error names the member).
    """
    members, others = csv_members(path, pattern)
    total = sum(m.file_size for m in members)
    frames: list[pd.DataFrame] = []
    headers: dict[str, str] = {}
    ranges: list[ZipMember] = []
    done = 0
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(path) as archive:
        for info in members:
            name = PurePosixPath(info.filename).name
            target = Path(tmp) / name
            with archive.open(info) as src, target.open("wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
            try:
                table = readers.read_csv(
                    target,
                    wanted,
                    optional,
                    encoding=encoding,
                    delimiter=delimiter,
                    numeric=numeric,
                )
            except InputFileError as err:
                raise type(err)(f"{path.name}, member {info.filename}: {err}") from err
            finally:
                target.unlink()
            first = ranges[-1].last_row + 1 if ranges else 1
            frames.append(table.frame)
            headers = table.headers | headers  # the first member's spelling
            ranges.append(ZipMember(info.filename, first, first + len(table.frame) - 1))
            done += info.file_size
            if progress:
                progress(done, total)
    columns = set().union(*(f.columns for f in frames))
    frame = pd.concat([f.reindex(columns=sorted(columns)) for f in frames], ignore_index=True)
    return readers.SourceTable(frame, headers), ranges, others


def members_note(path: Path, members: list[ZipMember], others: list[str], pattern: str) -> str:
    """The report's line on a zip: how many CSVs, where source_row starts in a few, and how
    many other CSVs were left out."""
    shown = [f"{m.name} rows {m.first_row:,}-{m.last_row:,}" for m in members[:2]]
    if len(members) > 3:
        shown.append("...")
    if len(members) > 2:
        last = members[-1]
        shown.append(f"{last.name} rows {last.first_row:,}-{last.last_row:,}")
    skipped = (
        f"; left out {len(others)} other CSV(s) (the preset reads {pattern}), e.g. {others[0]}"
        if others
        else ""
    )
    return (
        f"read the {len(members)} CSV file(s) of {path.name} in name order, source_row counting "
        f"on across them: {'; '.join(shown)} (every file's rows: the report's 'files'){skipped}"
    )
