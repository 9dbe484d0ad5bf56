"""Writing FITS files as the IPP writes DVO tables: a primary HDU (keywords only) plus one BINTABLE extension
from a big-endian structured array, headers padded with spaces and data with zeros to 2880-byte blocks.

Used by the synthetic generator only; the reader is `lcdb_pipeline.dvo.fits`, the layouts both use are
`lcdb_pipeline.dvo.formats` (`ColumnSpec`, `spec_dtype` are re-exported here for the writer's callers).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np

from lcdb_pipeline.dvo.fits import CARD, padded
from lcdb_pipeline.dvo.formats import ColumnSpec, spec_dtype


def format_card(key: str, value=None, comment: str = "") -> str:
    """One 80-character header card in the IPP's style (`KEY     =                value / comment`)."""
    key = key.upper()
    if key == "END":
        return "END".ljust(CARD)
    if value is None:
        return f"{key:<8}".ljust(CARD)[:CARD]
    if isinstance(value, bool):
        v = f"{'T' if value else 'F':>20}"
    elif isinstance(value, (int, np.integer)):
        v = f"{int(value):>20d}"
    elif isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            raise ValueError(f"cannot write non-finite header value for {key}")
        v = f"{value:20.10f}" if abs(value) < 1e9 else f"{value:20.10E}"
    else:
        s = str(value).replace("'", "''")
        v = f"'{s:<8}'"
    card = f"{key:<8}= {v} /"
    if comment:
        card += f" {comment}"
    if len(card) > CARD:
        card = card[:CARD]
    return card.ljust(CARD)


def header_bytes(cards: Sequence[tuple]) -> bytes:
    """A header from (key, value[, comment]) tuples, END appended, padded with blanks to 2880 bytes."""
    text = "".join(format_card(*c) for c in cards) + format_card("END")
    raw = text.encode("ascii")
    return raw + b" " * (padded(len(raw)) - len(raw))


def _extension_cards(extname: str, columns: Sequence[ColumnSpec], nrows: int, row_bytes: int,
                     scale_keywords: bool, extra_cards: Sequence[tuple] = ()) -> list[tuple]:
    ext = [("XTENSION", "BINTABLE"), ("BITPIX", 8), ("NAXIS", 2), ("NAXIS1", row_bytes),
           ("NAXIS2", nrows), ("PCOUNT", 0), ("GCOUNT", 1), ("TFIELDS", len(columns)),
           ("EXTNAME", extname)]
    ext += list(extra_cards)
    for i, col in enumerate(columns, start=1):
        ext.append((f"TTYPE{i}", col.name, col.comment))
        ext.append((f"TUNIT{i}", col.unit))
        ext.append((f"TFORM{i}", col.tform))
        if scale_keywords:
            ext.append((f"TSCAL{i}", 1.0))
            ext.append((f"TZERO{i}", 0.0))
    return ext


def write_tables(path: str | os.PathLike, primary_cards: Sequence[tuple],
                 tables: Sequence[tuple[str, Sequence[ColumnSpec], np.ndarray]], *, scale_keywords: bool = False,
                 extra_cards: Sequence[tuple] = ()) -> int:
    """Write a primary HDU (keywords only) and one BINTABLE per (extname, columns, data) — one table for a
    SPLIT-mode file, several for a MEF `.cpt`; return the file size.

    Each `data` must have the dtype `spec_dtype(columns)` (big-endian). `scale_keywords` writes TSCALn = 1
    and TZEROn = 0 for every column, as the older IPP files do."""
    with open(path, "wb") as f:
        f.write(header_bytes(primary_cards))
        for extname, columns, data in tables:
            dtype = spec_dtype(columns)
            if data.dtype != dtype:
                raise ValueError(f"data dtype does not match the layout of {extname}")
            f.write(header_bytes(_extension_cards(extname, columns, int(data.shape[0]), dtype.itemsize,
                                                  scale_keywords, extra_cards)))
            body = np.ascontiguousarray(data).tobytes()
            f.write(body)
            f.write(b"\0" * (padded(len(body)) - len(body)))
        return f.tell()


def write_bintable(path: str | os.PathLike, primary_cards: Sequence[tuple], extname: str,
                   columns: Sequence[ColumnSpec], data: np.ndarray, *, scale_keywords: bool = False,
                   extra_cards: Sequence[tuple] = ()) -> int:
    """Write a primary HDU (keywords only) and one BINTABLE; return the file size."""
    return write_tables(path, primary_cards, [(extname, columns, data)], scale_keywords=scale_keywords,
                        extra_cards=extra_cards)


__all__ = ["ColumnSpec", "format_card", "header_bytes", "spec_dtype", "write_bintable", "write_tables"]
