"""The generator: faithful headers, a valid SkyTable, determinism, sizes, and `lcdb synth` from the shell."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lcdb_pipeline.dvo import DVODatabase
from lcdb_pipeline.synth import generate, pv3_photcodes_path
from support.fits import HEADERS, file_bytes, parse_header_dump, written_header

# (generated file, real header dump) with the same layout
PAIRS = {
    "ps1_v1": [("SkyTable.fits", "catdir.2mass/SkyTable.fits.hdr"),
               ("{table}.cpt", "catdir.2mass/n0000/0001.00.cpt.hdr"),
               ("{table}.cpm", "catdir.2mass/n0000/0001.00.cpm.hdr"),
               ("{table}.cps", "catdir.2mass/n0000/0001.00.cps.hdr")],
    "ps1_v5_load": [("SkyTable.fits", "catdir.2mass/SkyTable.fits.hdr"),
                    ("{table}.cpt", "catdir.example/s2230/6821.10.cpt.hdr"),
                    ("{table}.cpm", "catdir.example/s2230/6821.10.cpm.hdr"),
                    ("{table}.cpn", "catdir.example/s2230/6821.10.cpn.hdr"),
                    ("Images.dat", "catdir.example/Images.dat.hdr")],
}
VALUE_KEYS = {"XTENSION", "BITPIX", "NAXIS", "NAXIS1", "PCOUNT", "GCOUNT", "TFIELDS", "EXTNAME", "SIMPLE",
              "EXTEND"}


def test_headers_match_the_real_ipp_headers(synth, fmt):
    db, summary = synth
    for ours, real in PAIRS[fmt]:
        path = os.path.join(db.root, ours.format(table=summary.tables[0]))
        mine = written_header(path)
        ref = parse_header_dump(HEADERS / real)
        for h_mine, h_ref in zip(mine, ref):
            assert h_mine["keys"] == h_ref["keys"], (ours, real)  # same keywords, same order
            for key in VALUE_KEYS & set(h_ref["values"]):
                expect = {"T": True, "F": False}.get(h_ref["values"][key], h_ref["values"][key])
                got = h_mine["values"][key]
                assert str(got) == str(expect), (ours, key, got, expect)
            assert h_mine["columns"] == {i: {k: str(v) for k, v in c.items()} for i, c in h_ref["columns"].items()}
    assert Path(db.root, "Photcodes.dat").read_bytes() == Path(pv3_photcodes_path()).read_bytes()


def test_v1_images_layout_follows_the_ipp_definition(synth, fmt):
    db, summary = synth
    h = written_header(os.path.join(db.root, "Images.dat"))
    expected = "DVO_IMAGE_PS1_V1" if fmt == "ps1_v1" else "DVO_IMAGE_PS1_V5_LOAD"
    assert h[1]["values"]["EXTNAME"] == expected
    assert h[1]["values"]["NAXIS1"] == (344 if fmt == "ps1_v1" else 360)  # image-ps1-v1.d / -v5-ld.d SIZE
    assert h[0]["values"]["ZERO_PT"] == 25.0 and h[0]["values"]["FORMAT"] == summary.format


def test_skytable_hierarchy(synth):
    db, summary = synth
    sky = db.skytable
    sky.check_hierarchy()
    assert (sky.depth == 1).sum() == 24
    assert set(np.unique(sky.depth)) == {0, 1, 2, 3, 4}
    assert (sky.is_table == (sky.depth == 4)).all()
    assert ((sky.child != 0) == (sky.child_e > sky.child_s)).all()
    # populated and special bands have children, the others are listed but childless
    with_children = {str(n) for n, d, c in zip(sky.name, sky.depth, sky.child) if d == 1 and c}
    assert with_children == set(summary.regions) | {summary.missing_dir_region, summary.empty_dir_region}
    for name in summary.tables:
        rmin, rmax, dmin, dmax = sky.bounds_of(name)
        t = summary.truth[name]
        assert (rmin, rmax, dmin, dmax) == pytest.approx(t["bounds"])
        dec = t["objects"]["dec"]
        ok = np.isfinite(dec)
        assert ((dec[ok] >= dmin) & (dec[ok] <= dmax)).all()
    assert os.path.isdir(os.path.join(db.root, summary.empty_dir_region))
    assert os.listdir(os.path.join(db.root, summary.empty_dir_region)) == []
    assert not os.path.exists(os.path.join(db.root, summary.missing_dir_region))


def test_summary(synth):
    db, summary = synth
    assert 20_000 <= summary.measurements <= 99_999  # small: tens of thousands
    assert summary.seconds < 3.0
    assert len(summary.regions) >= 3 and len(summary.tables) >= 3 * 4
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(db.root) for f in fs)
    assert summary.bytes == total
    assert summary.objects == sum(len(db.read_objects(t)) for t in summary.tables)
    assert summary.measurements == sum(db.read_table(t).nmeas for t in summary.tables)
    text = "\n".join(summary.lines())
    assert "measurements" in text and summary.out_dir in text


@pytest.mark.parametrize("fmt_", ["ps1_v1", "ps1_v5_load"])
def test_deterministic(tmp_path, fmt_):
    a = generate(tmp_path / "a", "small", seed=5, fmt=fmt_)
    b = generate(tmp_path / "b", "small", seed=5, fmt=fmt_)
    c = generate(tmp_path / "c", "small", seed=6, fmt=fmt_)
    fa, fb, fc = file_bytes(a.out_dir), file_bytes(b.out_dir), file_bytes(c.out_dir)
    assert fa.keys() == fb.keys() and all(fa[k] == fb[k] for k in fa)  # byte-identical
    assert fa["SkyTable.fits"] == fc["SkyTable.fits"]  # same plan …
    assert any(fa[k] != fc[k] for k in fa if k.endswith(".cpm"))  # … other content


def test_medium_scale(tmp_path):
    s = generate(tmp_path / "m", "medium", seed=1, fmt="ps1_v1")
    assert 250_000 <= s.measurements <= 400_000 and len(s.tables) == 36
    db = DVODatabase(s.out_dir)
    assert sum(db.read_table(t).nmeas for t in db.tables_in_region(s.regions[0])) > 0


def test_overwrite_rules(tmp_path):
    out = tmp_path / "db"
    generate(out, "small", seed=1)
    with pytest.raises(FileExistsError, match="not empty"):
        generate(out, "small", seed=1)
    generate(out, "small", seed=2, fmt="ps1_v5_load", overwrite=True)
    assert DVODatabase(out).read_table(DVODatabase(out).tables_in_region("n0000")[0]).format == "PS1_V5_LOAD"
    other = tmp_path / "other"
    other.mkdir()
    (other / "precious.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="does not hold a DVO database"):
        generate(other, "small", overwrite=True)
    assert (other / "precious.txt").exists()
    with pytest.raises(ValueError):
        generate(tmp_path / "x", "huge")
    with pytest.raises(ValueError):
        generate(tmp_path / "y", fmt="ps1_v9")


def _lcdb() -> list[str]:
    script = Path(sys.executable).with_name("lcdb")
    return [str(script)] if script.exists() else [sys.executable, "-m", "lcdb_pipeline.cli"]


def test_cli(tmp_path):
    out = tmp_path / "cli"
    run = subprocess.run([*_lcdb(), "synth", str(out), "--scale", "small", "--seed", "4", "--format", "ps1_v5_load"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "measurements" in run.stdout and str(out) in run.stdout
    db = DVODatabase(out)
    assert db.populated_regions() and db.read_table(db.tables_in_region("n0000")[0]).format == "PS1_V5_LOAD"
    same = generate(tmp_path / "py", "small", seed=4, fmt="ps1_v5_load")
    assert file_bytes(out) == file_bytes(same.out_dir)  # the CLI is the same generator
    again = subprocess.run([*_lcdb(), "synth", str(out)], capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and "not empty" in again.stderr
    forced = subprocess.run([*_lcdb(), "synth", str(out), "--force"], capture_output=True, text=True, timeout=120)
    assert forced.returncode == 0, forced.stderr
    help_ = subprocess.run([*_lcdb(), "synth", "--help"], capture_output=True, text=True, timeout=60)
    assert "--scale" in help_.stdout and "ps1_v5_load" in help_.stdout
    shutil.rmtree(out)


def test_elixir_mef_files_match_the_real_grizy_headers(tmp_path):
    """The ELIXIR database is MEF like catdir.grizy: the .cpt's five HDUs (primary, average, measure, missing,
    secfilt) and Images.dat have the real files' keywords in order, EXTNAMEs, columns, TFORMs and TUNITs."""
    summary = generate(tmp_path / "db", scale="small", seed=4, fmt="elixir")
    pairs = [(os.path.join(summary.out_dir, f"{summary.tables[0]}.cpt"), "catdir.grizy/n0000/0001.cpt.hdr", 5),
             (os.path.join(summary.out_dir, "Images.dat"), "catdir.grizy/Images.dat.hdr", 2),
             (os.path.join(summary.out_dir, "SkyTable.fits"), "catdir.grizy/SkyTable.fits.hdr", 2)]
    for path, real, n in pairs:
        mine = written_header(path, tables=n - 1)
        ref = parse_header_dump(HEADERS / real)
        assert len(ref) == n and len(mine) == n, real
        for h_mine, h_ref in zip(mine, ref):
            assert h_mine["keys"] == h_ref["keys"], (real, h_ref["values"].get("EXTNAME"))
            for key in VALUE_KEYS & set(h_ref["values"]):
                expect = {"T": True, "F": False}.get(h_ref["values"][key], h_ref["values"][key])
                assert str(h_mine["values"][key]) == str(expect), (real, key)
            assert h_mine["columns"] == {i: {k: str(v) for k, v in c.items()} for i, c in h_ref["columns"].items()}
    assert not list((tmp_path / "db").rglob("*.cpm")) and not list((tmp_path / "db").rglob("*.cps"))


def test_cpm_rows_of_every_kind_with_real_pv3_codes(synth):
    """Besides chip detections a real .cpm holds reference-catalogue, filter-average, stack and forced rows."""
    db, summary = synth
    codes = set()
    for name in summary.tables:
        codes |= set(db.read_table(name).measurements["photcode"].tolist())
    pc = db.photcodes
    for name in ("2MASS_J", "SYNTH.g", "g", "GPC1.g.SkyChip", "GPC1.y.SkyChip", "GPC1.r.ForcedWarp"):
        assert pc.by_name(name).code in codes, name
    assert {pc.by_name(n).code for n in ("2MASS_J", "SYNTH.g", "g", "GPC1.g.SkyChip", "GPC1.g.ForcedWarp")} == {
        2011, 3001, 1, 11000, 12000}
    assert "SORTED" not in db.read_table(summary.no_sorted_table).header
    assert summary.unknown_image_rows and summary.unknown_image_table in summary.tables
