"""Arrow string columns as numpy bytes, for vectorised checks without Python string objects.

An arrow string array is an offsets buffer and one data buffer; reading those with numpy lets
hot paths (fixed-width time stamps, id hashing, "does anything need trimming") run over
millions of rows without building a Python string per row.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

BoolArray = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
# Bytes that can start or end a string that whitespace trimming leaves alone: printable ASCII
# other than the space. Anything else (controls, spaces, multi-byte UTF-8) may be trimmed.
_PLAIN_LO, _PLAIN_HI = 0x21, 0x7E


def arrow_strings(values: pd.Series) -> pa.ChunkedArray:
    """A text column as arrow strings; zero-copy for pandas' arrow-backed string dtype."""
    arr = pa.array(values.astype("string"), from_pandas=True)
    chunked = arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])
    if not (pa.types.is_string(chunked.type) or pa.types.is_large_string(chunked.type)):
        chunked = chunked.cast(pa.large_string())
    return chunked


def string_buffers(chunk: pa.Array) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
    """(offsets of the chunk's n + 1 boundaries, data bytes) of one string array."""
    kind = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    _, off_buf, data_buf = chunk.buffers()
    offsets = np.frombuffer(off_buf, dtype=kind)[chunk.offset : chunk.offset + len(chunk) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, "u1")
    return offsets.astype(np.int64), data


def lengths(chunk: pa.Array) -> npt.NDArray[np.int64]:
    """Byte length of each string, 0 for nulls."""
    offsets, _ = string_buffers(chunk)
    out = np.diff(offsets)
    if chunk.null_count:
        out[null_mask(chunk)] = 0
    return out


def all_lengths(chunked: pa.ChunkedArray) -> npt.NDArray[np.int64]:
    """Byte length of each string of every chunk, 0 for nulls."""
    return np.concatenate([lengths(c) for c in chunked.chunks] or [np.zeros(0, np.int64)])


def null_mask(chunk: pa.Array) -> BoolArray:
    """True where the value is null."""
    if not chunk.null_count:
        return np.zeros(len(chunk), dtype=bool)
    return np.asarray(chunk.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def may_need_trim(chunked: pa.ChunkedArray) -> bool:
    """False when no string starts or ends with a byte that whitespace trimming could remove."""
    for chunk in chunked.chunks:
        offsets, data = string_buffers(chunk)
        size = lengths(chunk)
        some = size > 0
        first = data[offsets[:-1][some]]
        last = data[offsets[1:][some] - 1]
        for edge in (first, last):
            if ((edge < _PLAIN_LO) | (edge > _PLAIN_HI)).any():
                return True
    return False


def take_rows(chunked: pa.ChunkedArray, rows: npt.NDArray[np.int64]) -> pa.Array:
    """The values at sorted global ``rows``, taking from each chunk without joining them."""
    bounds = np.cumsum([0, *(len(c) for c in chunked.chunks)])
    which = np.searchsorted(bounds, rows, side="right") - 1
    parts = [
        chunk.take(pa.array(rows[which == i] - bounds[i]))
        for i, chunk in enumerate(chunked.chunks)
        if (which == i).any()
    ]
    return pa.concat_arrays(parts) if parts else pa.array([], type=chunked.type)


def word_view(chunk: pa.Array, pad: int) -> tuple[U64, I64, I64]:
    """(words, starts, lengths): ``words[i]`` is the little-endian 8 bytes from byte ``i``.

    The chunk's bytes are copied with ``pad`` zero bytes after them, so a word may be read up
    to ``pad - 8`` bytes past the start of the last string. Lengths are 0 for nulls.
    """
    offsets, data = string_buffers(chunk)
    used = int(offsets[-1] - offsets[0])
    padded = np.zeros(used + max(pad, 8), dtype=np.uint8)
    padded[:used] = data[offsets[0] : offsets[-1]]
    words = np.ndarray((len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))
    return words, offsets[:-1] - offsets[0], lengths(chunk)


_FIRST_BYTES = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [2**64 - 1], dtype=np.uint64)
"""_FIRST_BYTES[k]: the mask of a word's first k bytes."""


def hash_strings(chunked: pa.ChunkedArray, max_bytes: int = 64) -> U64 | None:
    """A 64-bit hash per string (equal strings, equal hashes; nulls hash like ""), or None
    when a string is longer than ``max_bytes``. Collisions are possible: confirm equality."""
    longest = int(all_lengths(chunked).max(initial=0))  # one round count for every chunk
    if longest > max_bytes:
        return None
    parts = []
    for chunk in chunked.chunks:
        words, start, size = word_view(chunk, longest + 8)
        h = size.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        for k in range(0, longest, 8):  # eight bytes at a time, each step over all rows
            w = words[start + k] & _FIRST_BYTES[np.clip(size - k, 0, 8)]
            h = (h ^ w) * np.uint64(0xBF58476D1CE4E5B9)
            h ^= h >> np.uint64(31)
        parts.append(h)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
