"""Files a delimited text export is not read from, told by their first bytes or their name:
other compressions and archives (a CSV is read plain or gzip-compressed; a ``.zip`` by its
name, ``ingest.zipped``) and spreadsheet workbooks."""

from __future__ import annotations

import re
from pathlib import Path

from hotspots.errors import InputFileError

OTHER_PACKINGS = {
    re.compile(rb"BZh[1-9]1AY&SY"): "bzip2-compressed",  # with the first block's magic
    re.compile(rb"\xfd7zXZ\x00"): "xz-compressed",
    re.compile(rb"\x28\xb5\x2f\xfd"): "zstd-compressed",
    re.compile(rb"PK\x03\x04"): "a zip archive",
    re.compile(rb"7z\xbc\xaf\x27\x1c"): "a 7-Zip archive",
}
"""First bytes of the packings a CSV is not read from (gzip is); no text export starts so."""
SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods", ".numbers")
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""The first bytes of an Excel 97-2003 workbook (and other old Office files)."""


def check_packing(path: Path, head: bytes) -> None:
    """InputFileError naming a file packed in a way a CSV is not read from (by content), or
    a spreadsheet workbook (an .xlsx is a zip, an .xls an OLE2 file: neither is text)."""
    name = path.name.lower()
    if name.endswith(SPREADSHEET_SUFFIXES) or head.startswith(OLE2_MAGIC):
        raise InputFileError(
            f"{path.name} is a spreadsheet workbook (or another Office file), not a delimited "
            "text file: save the sheet with the incidents as CSV (UTF-8) and ingest that"
        )
    for magic, what in OTHER_PACKINGS.items():
        if magic.match(head):
            named = ", not gzip as its name says" if name.endswith(".gz") else ""
            todo = "unpack it first"
            if what == "a zip archive":  # ingest.zipped reads one by its name
                todo += ", or name it .zip to read the CSVs in it"
            raise InputFileError(
                f"{path.name} is {what}{named}; a delimited text file is read plain or "
                f"gzip-compressed: {todo}"
            )
