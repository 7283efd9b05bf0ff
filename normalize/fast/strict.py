"""Payloads read into typed columns by Arrow's JSON reader, only where `json.loads` would
read them the same way.

The reader refuses, for every field the schema names, what the per-record mapper would
read differently: a repeated key (DuckDB keeps the first, `json.loads` the last), a value
of another type (a number where a string is read), a lone surrogate, a trailing comma.
Such a payload is not read here: its row comes back marked not ok, and the caller leaves
it to the mapper. One parse per payload replaces a JSON function per field and a check per
field's type, which is what made the vectorised paths slow.
"""
from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

CHUNK_ROWS = 16_384
CHUNK_BYTES = 64 << 20     # one chunk is one block of the reader: kept well under its 2 GiB limit
# Past this many refused payloads in one chunk, the rest of the chunk is left to the
# mapper: each refusal costs a re-read of what follows it.
MAX_REFUSALS = 32
_FAILED_ROW = re.compile(r"in row (\d+)")


def parse_strict(payloads: pa.Array | pa.ChunkedArray, schema: pa.Schema) -> tuple[pa.Table, np.ndarray]:
    """One row per payload, typed by `schema` (fields it does not name are ignored), and a
    boolean mask of the rows read; rows not read are all null."""
    arr = payloads.combine_chunks() if isinstance(payloads, pa.ChunkedArray) else payloads
    arr = arr.cast(pa.string())
    n = len(arr)
    # One object per line. Not read here: a payload that spans lines or is not an object,
    # one with a raw control character (json.loads refuses them inside strings; the reader
    # may not), and one with a NUL escape (kept by Python, refused by DuckDB's strings).
    plain = pc.and_(pc.match_substring_regex(arr, r"^ *\{"),
                    pc.invert(pc.match_substring_regex(arr, r"[\x00-\x1f]|\\u0000")))
    candidates = pc.indices_nonzero(pc.fill_null(plain, False)).to_numpy()
    chunks = _chunks(candidates, pc.binary_length(arr).to_numpy(zero_copy_only=False)[candidates])
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    workers = min(len(chunks), os.cpu_count() or 1)
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(lambda c: _read_chunk(arr, c, options), chunks))
    else:
        results = [_read_chunk(arr, c, options) for c in chunks]
    pieces = [piece for result in results for piece in result]
    ok = np.zeros(n, dtype=bool)
    if not pieces:
        return _all_null(schema, n), ok
    positions = np.concatenate([p for p, _t in pieces])
    ok[positions] = True
    read = pa.concat_tables([t for _p, t in pieces]).cast(schema)
    # Scatter back to payload order: row i of the result is payload i (null when not read).
    where = np.full(n, -1, dtype=np.int64)
    where[positions] = np.arange(len(positions))
    index = pa.array(where, mask=where < 0)
    return read.take(index), ok


def _chunks(positions: np.ndarray, sizes: np.ndarray) -> list[np.ndarray]:
    """`positions` cut into runs of at most CHUNK_ROWS payloads and about CHUNK_BYTES."""
    chunks = []
    for start in range(0, len(positions), CHUNK_ROWS):
        part, part_sizes = positions[start:start + CHUNK_ROWS], sizes[start:start + CHUNK_ROWS]
        total = int(part_sizes.sum())
        if total <= CHUNK_BYTES:
            chunks.append(part)
            continue
        cuts = np.searchsorted(np.cumsum(part_sizes), np.arange(CHUNK_BYTES, total, CHUNK_BYTES), side="right")
        chunks += [piece for piece in np.split(part, cuts) if len(piece)]
    return chunks


def _all_null(schema: pa.Schema, n: int) -> pa.Table:
    return pa.table([pa.nulls(n, f.type) for f in schema], schema=schema)


def _read_chunk(arr: pa.Array, positions: np.ndarray, options: pj.ParseOptions) -> list[tuple[np.ndarray, pa.Table]]:
    """(positions, rows) pieces for the payloads of `positions` that read cleanly."""
    pieces: list[tuple[np.ndarray, pa.Table]] = []
    todo = [(0, len(positions))]
    refusals = 0
    while todo and refusals <= MAX_REFUSALS:
        lo, hi = todo.pop()
        if lo >= hi:
            continue
        part = positions[lo:hi]
        table, failed_row = _read(arr, part, options)
        if table is not None and table.num_rows == len(part):
            pieces.append((part, table))
        elif hi - lo == 1:
            refusals += 1
        elif table is None and failed_row is not None and failed_row < len(part):
            # The reader names the row it stopped at, counting rows it made, not lines: a
            # payload holding two values before it shifts the count. That row is read alone.
            todo += [(lo + failed_row + 1, hi), (lo + failed_row, lo + failed_row + 1), (lo, lo + failed_row)]
        else:
            # no row named, or a payload holding two values (`{}{}`) gave an extra row
            mid = (lo + hi) // 2
            todo += [(mid, hi), (lo, mid)]
    return pieces


def _read(arr: pa.Array, positions: np.ndarray, options: pj.ParseOptions) -> tuple[pa.Table | None, int | None]:
    lines = arr.take(pa.array(positions))
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(lines)], pa.int32()), lines), "\n")[0]
    data = joined.as_buffer()
    read_options = pj.ReadOptions(use_threads=False, block_size=max(len(data) + 1, 1 << 16))
    try:
        return pj.read_json(pa.BufferReader(data), read_options=read_options, parse_options=options), None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        found = _FAILED_ROW.search(str(exc))
        return None, int(found.group(1)) if found else None
