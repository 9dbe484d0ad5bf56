"""PostgreSQL binary COPY streams built with numpy: one structured record per row, no per-value Python.

Every row of a LightcurveDB product table has fixed-width fields once its observation is fixed (all its
arrays have the cadence grid's length), so a whole chunk of rows is one numpy structured array whose bytes
are exactly the COPY BINARY wire format: int16 field count, then per field an int32 length and the value
(an array value is a 12/20-byte header followed by (int32 length, element) pairs), all big-endian.

The record array is handed to psycopg as a buffer (no `tobytes()` copy). Array values may have leading
dimensions (e.g. ``(groups, targets, cadences)`` for the three DataSet kinds of a chunk, row order C) and
may be broadcast views (the errors the three kinds share are written three times without being copied first).

`CopyWriter` runs the COPY statements of one transaction on a background thread, so encoding the next chunk
(numpy, main thread) overlaps PostgreSQL ingesting the previous one.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass

import numpy as np

from lcdb_schema.types import (
    PG_ELEMENT_WIRE,
    binary_array_dtype,
    fill_binary_array_header,
)

HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
TRAILER = (-1).to_bytes(2, "big", signed=True)

SCALAR_TYPES: dict[str, str] = {"int4": ">i4", "int8": ">i8"}

#: psycopg hands libpq at most this many bytes per call (larger buffers are sliced — zero-copy here, since
#: bodies are memoryviews).
WRITE_BLOCK = 128 * 1024


@dataclass(frozen=True)
class Field:
    """One column of the COPY: a scalar (`int4`, `int8`), fixed text (`text`), or an array (`float8[]` …).

    `values`: a scalar broadcast to every row, or an array whose C-order leading dimensions enumerate the rows
    (``(n,)`` for scalars; ``(n, m)`` or ``(k, n/k, m)`` for arrays of length m); str for text."""

    name: str
    pg_type: str
    values: object


def _layout(fields: list[Field]) -> np.dtype:
    layout: list[tuple] = [("nfields", ">i2")]
    for i, f in enumerate(fields):
        layout.append((f"len{i}", ">i4"))
        if f.pg_type.endswith("[]"):
            layout.append((f"arr{i}", binary_array_dtype(PG_ELEMENT_WIRE[f.pg_type[:-2]], _array_shape(f))))
        elif f.pg_type == "text":
            layout.append((f"val{i}", f"S{len(f.values.encode())}"))
        else:
            layout.append((f"val{i}", SCALAR_TYPES[f.pg_type]))
    return np.dtype(layout)


def _array_shape(f: Field) -> tuple[int, ...]:
    """The shape of each array value of an array field: its last dimension (empty arrays have none)."""
    m = np.shape(f.values)[-1]
    return (m,) if m else ()


def _assign_rows(column: np.ndarray, values, n_rows: int) -> None:
    """`column[...] = values` where `values`' leading dimensions enumerate the rows in C order."""
    shape = np.shape(values)
    trailing = column.ndim - 1  # 0 for scalars, 1 for arrays
    lead = shape[: len(shape) - trailing] if trailing else shape
    if len(lead) > 1:
        view = column.view()
        view.shape = tuple(lead) + column.shape[1:]  # raises instead of copying if it cannot be a view
        view[...] = values
    else:
        column[...] = values


def encode_rows(n_rows: int, fields: list[Field]) -> np.ndarray:
    """The COPY BINARY body (no header/trailer) for `n_rows` rows of `fields`, as a record array
    (a buffer: pass it to `copy.write` or call `tobytes()`)."""
    rec = np.empty(n_rows, dtype=_layout(fields))
    rec["nfields"] = len(fields)
    for i, f in enumerate(fields):
        if f.pg_type.endswith("[]"):
            arr = rec[f"arr{i}"]
            wire, shape = PG_ELEMENT_WIRE[f.pg_type[:-2]], _array_shape(f)
            rec[f"len{i}"] = arr.dtype.itemsize
            fill_binary_array_header(arr, wire, shape)
            if shape:
                _assign_rows(arr["elements"]["value"], f.values, n_rows)
        elif f.pg_type == "text":
            encoded = f.values.encode()
            rec[f"len{i}"] = len(encoded)
            rec[f"val{i}"] = encoded
        else:
            rec[f"len{i}"] = np.dtype(SCALAR_TYPES[f.pg_type]).itemsize
            _assign_rows(rec[f"val{i}"], f.values, n_rows)
    return rec


def copy_sql(table: str, fields: list[Field]) -> str:
    return f"COPY {table} ({', '.join(f.name for f in fields)}) FROM STDIN (FORMAT BINARY)"


def _send(cursor, sql: str, bodies) -> None:
    with cursor.copy(sql) as copy:
        copy.write(HEADER)
        for body in bodies:
            view = memoryview(body.view(np.uint8))
            for start in range(0, len(view), WRITE_BLOCK):
                copy.write(view[start : start + WRITE_BLOCK])
        copy.write(TRAILER)


def copy_rows(cursor, table: str, n_rows: int, fields: list[Field]) -> int:
    """COPY `n_rows` rows into `table` over an open psycopg cursor; return the bytes sent."""
    if n_rows == 0:
        return 0
    body = encode_rows(n_rows, fields)
    _send(cursor, copy_sql(table, fields), [body])
    return len(HEADER) + body.nbytes + len(TRAILER)


class CopyWriter:
    """COPY statements executed in submission order by one background thread on a psycopg cursor.

    `submit` returns as soon as the statement is queued (at most `depth` wait), so the caller encodes the
    next chunk while PostgreSQL ingests this one. The caller must not use the connection until `close()`
    returned; `close()` waits for every statement and re-raises the first error of the writer thread (after
    an error the remaining statements are skipped — the transaction is going to be rolled back anyway).
    Use as a context manager: leaving it on an exception stops the thread before the exception propagates.
    """

    def __init__(self, cursor, depth: int = 2):
        self._cursor = cursor
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="lcdb-copy-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None:
                try:
                    _send(self._cursor, *item)
                except BaseException as exc:  # re-raised in the caller's thread
                    self._error = exc

    def submit(self, table: str, fields_by_body: list[tuple[int, list[Field]]]) -> int:
        """Queue one COPY into `table` made of several bodies (same columns); return the bytes it sends."""
        if self._error is not None:
            raise self._error
        bodies = [encode_rows(n, fields) for n, fields in fields_by_body if n]
        if not bodies:
            return 0
        self._queue.put((copy_sql(table, fields_by_body[0][1]), bodies))
        return len(HEADER) + sum(b.nbytes for b in bodies) + len(TRAILER)

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error

    def __enter__(self) -> CopyWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
            return
        self._error = self._error or exc  # skip whatever is still queued
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
