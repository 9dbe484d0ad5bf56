"""The own FITS binary-table reader: TFORM types, duplicate names, TZERO/TSCAL, and astropy as a referee."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits as afits

from lcdb_pipeline.dvo import DVOError
from lcdb_pipeline.dvo.fits import BinTable, padded
from lcdb_pipeline.synth.fits_writer import (
    ColumnSpec,
    header_bytes,
    spec_dtype,
    write_bintable,
)


def _write_raw(path, ext_cards, data: bytes):
    with open(path, "wb") as f:
        f.write(header_bytes([("SIMPLE", True), ("BITPIX", 8), ("NAXIS", 0), ("EXTEND", True)]))
        f.write(header_bytes(ext_cards))
        f.write(data + b"\0" * (padded(len(data)) - len(data)))


def test_all_types_duplicates_and_scaling(tmp_path):
    cols = [("FLAG", "L"), ("BYTE", "B"), ("SHORT", "I"), ("INT", "J"), ("LONG", "K"), ("F", "E"), ("D", "D"),
            ("NAME", "5A"), ("VEC", "3E"), ("PAD", "J"), ("PAD", "J"), ("USHORT", "I"), ("SCALED", "J")]
    dtype = spec_dtype([ColumnSpec(n, f) for n, f in cols])
    assert dtype.names[9:11] == ("PAD", "PAD_2")
    a = np.zeros(3, dtype)
    a["FLAG"] = [ord("T"), ord("F"), 0]
    a["BYTE"] = [0, 200, 255]
    a["SHORT"] = [-1, 2, 32767]
    a["INT"] = [-1, 7, -(2**31)]
    a["LONG"] = [-1, 2**40, 3]
    a["F"] = [1.5, np.nan, -2.0]
    a["D"] = [np.pi, -1e300, 0.0]
    a["NAME"] = [b"abc", b"abcde", b"a\0zz"]
    a["VEC"] = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    a["PAD"] = [1, 2, 3]
    a["PAD_2"] = [4, 5, 6]
    a["USHORT"] = np.array([0, 65535, 40000], dtype=np.uint16).astype(np.int32) - 32768
    a["SCALED"] = [0, 10, -4]
    cards = [("XTENSION", "BINTABLE"), ("BITPIX", 8), ("NAXIS", 2), ("NAXIS1", dtype.itemsize), ("NAXIS2", 3),
             ("PCOUNT", 0), ("GCOUNT", 1), ("TFIELDS", len(cols)), ("EXTNAME", "TEST")]
    for i, (n, f) in enumerate(cols, start=1):
        cards += [(f"TTYPE{i}", n), (f"TFORM{i}", f)]
    cards += [("TZERO12", 32768), ("TSCAL13", 0.5), ("TZERO13", 100.0)]
    path = tmp_path / "t.fits"
    _write_raw(path, cards, a.tobytes())

    t = BinTable(path)
    assert t.extname == "TEST" and t.nrows == 3 and [c.name for c in t.columns][9:11] == ["PAD", "PAD_2"]
    d = t.read([(n, None, False) for n in ("FLAG", "BYTE", "SHORT", "INT", "LONG", "F", "D", "NAME", "VEC", "PAD",
                                           "PAD_2", "USHORT", "SCALED")])
    assert d["FLAG"].tolist() == [True, False, False]
    assert d["BYTE"].tolist() == [0, 200, 255]
    assert d["SHORT"].tolist() == [-1, 2, 32767] and d["SHORT"].dtype == np.int16
    assert d["INT"].tolist() == [-1, 7, -(2**31)]
    assert d["LONG"].tolist() == [-1, 2**40, 3]
    assert d["F"][0] == 1.5 and np.isnan(d["F"][1])
    assert d["D"].tolist() == [np.pi, -1e300, 0.0]
    assert d["NAME"].tolist() == ["abc", "abcde", "a"]  # C string: garbage after the NUL is dropped
    assert d["VEC"].shape == (3, 3) and d["VEC"][2].tolist() == [7, 8, 9]
    assert d["PAD"].tolist() == [1, 2, 3] and d["PAD_2"].tolist() == [4, 5, 6]
    assert d["USHORT"].dtype == np.uint16 and d["USHORT"].tolist() == [0, 65535, 40000]  # TZERO convention
    assert d["SCALED"].tolist() == [100.0, 105.0, 98.0]  # TSCAL/TZERO honoured
    # unsigned reinterpretation without TZERO; output dtypes on request
    u = t.read([("INT", np.uint32, True), ("SHORT", np.int64, True), ("INT", np.int64, False)])
    assert u["SHORT"].tolist() == [65535, 2, 32767]
    for arr in d.values():
        assert arr.dtype.isnative or arr.dtype.kind in "bU"


def test_empty_table(tmp_path):
    cols = [ColumnSpec("TIME", "J")]
    path = tmp_path / "e.fits"
    write_bintable(path, [("SIMPLE", True), ("BITPIX", 8), ("NAXIS", 0)], "DVO_MISSING", cols,
                   np.zeros(0, spec_dtype(cols)))
    t = BinTable(path)
    assert t.nrows == 0 and t.read([("TIME", np.int64, False)])["TIME"].shape == (0,)


def test_many_chunks(tmp_path, monkeypatch):
    import lcdb_pipeline.dvo.fits as fits_mod

    monkeypatch.setattr(fits_mod, "CHUNK_BYTES", 100)  # force many chunks
    cols = [ColumnSpec("A", "J"), ColumnSpec("B", "D")]
    a = np.zeros(1001, spec_dtype(cols))
    a["A"] = np.arange(1001)
    a["B"] = np.arange(1001) * 0.5
    path = tmp_path / "c.fits"
    write_bintable(path, [("SIMPLE", True), ("BITPIX", 8), ("NAXIS", 0)], "X", cols, a)
    d = BinTable(path).read([("B", None, False), ("A", np.int64, False)])
    assert (d["A"] == np.arange(1001)).all() and (d["B"] == np.arange(1001) * 0.5).all()


def test_missing_column_and_not_bintable(tmp_path):
    cols = [ColumnSpec("A", "J")]
    path = tmp_path / "m.fits"
    write_bintable(path, [("SIMPLE", True), ("BITPIX", 8), ("NAXIS", 0)], "X", cols, np.zeros(2, spec_dtype(cols)))
    with pytest.raises(DVOError) as err:
        BinTable(path).read([("B", None, False)])
    assert err.value.key == "B" and str(path) in str(err.value)
    with pytest.raises(DVOError, match="file not found"):
        BinTable(tmp_path / "nope.fits")
    with pytest.raises(DVOError, match="HDU 2"):
        BinTable(path, hdu=2)


def test_agrees_with_astropy_on_generated_files(synth, fmt):
    db, summary = synth
    name = summary.tables[2]
    files = [db.table_path(name), db.table_path(name, "cps"), str(db.images.path), str(db.skytable.path)]
    if fmt == "ps1_v1":
        files.append(db.table_path(name, "cpm"))  # astropy refuses the duplicate PADDING of V5_LOAD .cpm
    for path in files:
        ours = BinTable(path)
        with afits.open(path) as hdul:
            ref = hdul[1].data
            assert ours.nrows == len(ref) and ours.extname == hdul[1].header["EXTNAME"]
            for c in ours.columns:
                if c.code == "A":
                    continue
                mine = ours.read([(c.name, None, False)])[c.name]
                theirs = np.asarray(ref[c.name])
                if c.code == "L":
                    continue
                np.testing.assert_array_equal(mine, theirs.astype(mine.dtype), err_msg=f"{path} {c.name}")
