"""The real PS1 PV2 and PV3 Photcodes.dat: typed records, uint32 masks, the camera → chip tree."""

from __future__ import annotations

import numpy as np
import pytest

from lcdb_pipeline.dvo import DVOError, Photcodes, PhotcodeType, split_name
from lcdb_pipeline.dvo.fits import BinTable
from lcdb_pipeline.synth import pv3_photcodes_path
from lcdb_pipeline.synth.fits_writer import write_bintable
from lcdb_pipeline.dvo.formats import layout
from lcdb_pipeline.dvo.photcodes import MeasurementKind
from support.fits import PV2, patch_cell

GPC1_POOR = 0xE0440130


@pytest.fixture(scope="module", params=["PV2", "PV3"])
def real(request):
    path = str(PV2) if request.param == "PV2" else pv3_photcodes_path()
    return request.param, Photcodes(path)


def test_read_real_files(real):
    release, pc = real
    assert pc.extname == "DVO_PHOTCODE_PS1_V5"
    assert len(pc) == {"PV2": 907, "PV3": 933}[release]
    assert pc.code.dtype == np.uint16 and pc.type.dtype == np.uint8
    counts = {t: int((pc.type == t).sum()) for t in PhotcodeType}
    assert counts == {"PV2": {PhotcodeType.PRI: 0, PhotcodeType.SEC: 9, PhotcodeType.DEP: 862, PhotcodeType.REF: 36},
                      "PV3": {PhotcodeType.PRI: 0, PhotcodeType.SEC: 9, PhotcodeType.DEP: 882,
                              PhotcodeType.REF: 42}}[release]
    assert list(pc.name[pc.type == PhotcodeType.SEC]) == ["g", "r", "i", "z", "y", "J", "H", "K", "w"]
    g = pc.by_name("GPC1.g.XY01")
    assert (g.code, g.type, g.equiv, g.nc) == (10001, PhotcodeType.DEP, 1, 1)
    assert g.c_lam == {"PV2": 24563, "PV3": 24583}[release] and g.k == pytest.approx(-0.147)
    assert (g.camera, g.filter, g.chip, g.equiv_name) == ("GPC1", "g", "XY01", "g")
    assert pc.by_code(10001) == g and 10001 in pc and 65000 not in pc


def test_masks_are_uint32(real):
    release, pc = real
    for mask in (pc.astrom_poor_mask, pc.astrom_bad_mask, pc.photom_poor_mask, pc.photom_bad_mask):
        assert mask.dtype == np.uint32
    is_gpc1 = pc.camera == "GPC1"
    is_xy = np.array([str(c).startswith("XY") for c in pc.chip])
    xy = is_gpc1 & is_xy
    assert xy.sum() == 360  # 6 filters (g r i z y w) × 60 chips
    assert (pc.photom_poor_mask[xy] == GPC1_POOR).all()
    assert GPC1_POOR > 2**31 and pc.by_name("GPC1.r.XY33").photom_poor_mask == GPC1_POOR
    skychip = np.array([c == "SkyChip" for c in pc.chip])
    assert (pc.photom_poor_mask[is_gpc1 & skychip] == 0).all()
    others = set(pc.name[(pc.photom_poor_mask == GPC1_POOR) & ~xy])
    assert others == ({"GPC1.g.ForcedWarp", "GPC1.r.ForcedWarp", "GPC1.i.ForcedWarp", "GPC1.z.ForcedWarp",
                       "GPC1.y.ForcedWarp", "GPC1.w.ForcedWarp"} if release == "PV3" else set())
    assert pc.by_name("MEGACAM.g.04").astrom_bad_mask == 0x3888
    # independent check: the raw big-endian words, reinterpreted by hand
    raw = BinTable(pc.path).raw()["PHOTOM_POOR_MASK"]
    np.testing.assert_array_equal(pc.photom_poor_mask, raw.astype(np.int64) & 0xFFFFFFFF)


def test_instrument_tree(real):
    release, pc = real
    tree = pc.instrument_tree()
    gpc1 = tree["GPC1"]
    xy = sorted(c for c in gpc1.chips if c.startswith("XY"))
    assert len(xy) == 60 and xy[0] == "XY01" and xy[-1] == "XY76"
    assert "XY00" not in gpc1.chips and "XY77" not in gpc1.chips  # the corners
    assert gpc1.filters == ["g", "i", "r", "w", "y", "z"]
    assert sorted(p.filter for p in gpc1.chips["XY01"]) == ["g", "i", "r", "w", "y", "z"]
    assert gpc1.photcodes == []
    mega = tree["MEGACAM"]
    assert sorted(mega.chips) == [f"{i:02d}" for i in range(40)] and mega.filters == ["g", "i", "r", "u", "z"]
    # detector chips only: no stacks, forced photometry, test chips or plates in the tree
    assert not {"SkyChip", "ForcedWarp"} & set(gpc1.chips)
    assert "ISP-Apogee-01" not in tree and "USNO" not in tree and "SCOS" not in tree
    if release == "PV3":
        assert "SIMTEST" not in tree
    twomass = tree["2MASS_J"]  # bare REF name: a root of its own
    assert twomass.chips == {} and [p.name for p in twomass.photcodes] == ["2MASS_J"]
    assert twomass.photcodes[0].type == PhotcodeType.REF and twomass.photcodes[0].camera is None
    assert "g" not in tree  # SEC average filters are not instruments
    assert "SYNTH" not in tree  # a 2-part REF name is not a camera


def test_measurement_kind_of_every_pv3_photcode():
    """The photcode-name rule (docs/dvo.md) on the real PV3 file: what each name is, counted by kind."""
    pc = Photcodes(pv3_photcodes_path())
    kind = {str(n): MeasurementKind(int(k)) for n, k in zip(pc.name, pc.kind)}
    assert kind["GPC1.g.XY01"] == kind["GPC1.w.XY76"] == kind["MEGACAM.u.39"] == MeasurementKind.EPOCH
    assert kind["GPC1.g.SkyChip"] == kind["SIMTEST.y.SkyChip"] == MeasurementKind.STACK
    assert kind["GPC1.w.ForcedWarp"] == MeasurementKind.FORCED
    assert kind["2MASS_J"] == kind["SYNTH.g"] == kind["g"] == MeasurementKind.REFERENCE
    for other in ("SIMTEST.g.Chip", "USNO.103AE.AMB2", "USNO.103AE.#12", "SCOS.103a.E", "ISP-Apogee-01.g",
                  "VYSOS20.r", "U_SDSS"):
        assert kind[other] == MeasurementKind.OTHER, other
    counts = {k: sum(v == k for v in kind.values()) for k in MeasurementKind}
    assert counts == {MeasurementKind.EPOCH: 802, MeasurementKind.REFERENCE: 51, MeasurementKind.STACK: 11,
                      MeasurementKind.FORCED: 6, MeasurementKind.OTHER: 63}
    # every epoch name is CAMERA.filter.CHIP with a detector chip, every DEP 3-part name not so is not
    for name, k in kind.items():
        parts = name.split(".")
        detector = len(parts) == 3 and (parts[2].isdigit() or (parts[2][:2] == "XY" and parts[2][2:].isdigit()))
        assert (k == MeasurementKind.EPOCH) == (detector and pc.by_name(name).type == PhotcodeType.DEP), name


def test_dep_equiv_is_the_sec_filter(real):
    _, pc = real
    dep = pc.type == PhotcodeType.DEP
    for name in ("GPC1.w.XY01", "GPC1.y.XY55", "MEGACAM.z.10"):
        p = pc.by_name(name)
        assert p.equiv_name == p.filter and pc.equiv_of(p.code).type == PhotcodeType.SEC
    assert pc.by_name("MEGACAM.u.00").equiv == 0 and pc.equiv_of(100) is None
    gpc1 = dep & (pc.camera == "GPC1")
    assert (pc.equiv_name[gpc1] == pc.filter[gpc1]).all()


def test_colour_terms_only_up_to_nc(real):
    _, pc = real
    assert pc.x.shape == (len(pc), 4) and pc.x.dtype == np.float32
    g = pc.by_name("GPC1.g.XY01")
    assert g.nc == 1 and g.x == (float(pc.x[g.row, 0]),)
    assert pc.by_name("2MASS_J").x == ()  # NC 0


def test_observation_keys(real):
    _, pc = real
    for name, expected in [("GPC1.g.XY01", ("GPC1", "g")), ("GPC1.g.XY76", ("GPC1", "g")),
                           ("MEGACAM.r.07", ("MEGACAM", "r")), ("ISP-Apogee-01.i", ("ISP-Apogee-01", "i")),
                           ("2MASS_J", ("2MASS_J", "J")), ("GSC", ("GSC", "GSC"))]:
        assert pc.observation_names(pc.observation_key[pc.row_of(pc.by_name(name).code)]) == expected
    assert pc.observation_key[pc.row_of(10001)] == pc.observation_key[pc.row_of(10076)]
    assert pc.observation_key.max() + 1 == pc.n_observation_keys


def test_split_name():
    assert split_name("GPC1.g.XY01") == ("GPC1", "g", "XY01")
    assert split_name("MEGACAM.g.04") == ("MEGACAM", "g", "04")
    assert split_name("ISP-Apogee-01.g") == ("ISP-Apogee-01", "g", None)
    assert split_name("2MASS_J") == (None, None, None)
    assert split_name("USNO.098-0.RED70") == ("USNO", "098-0", "RED70")
    assert split_name("a.b.c.d") == ("a", "b.c", "d")


def test_index_of(real):
    _, pc = real
    rows = pc.index_of(np.array([10001, 200, 2011], dtype=np.uint16))
    assert [pc.name[r] for r in rows] == ["GPC1.g.XY01", "MEGACAM.g.00", "2MASS_J"]
    assert pc.index_of(np.zeros(0, np.uint16)).size == 0
    with pytest.raises(DVOError) as err:
        pc.index_of(np.array([10001, 10001, 65000, 70000]), path="/x/n0000/0001.00.cpm")
    e = err.value
    assert (e.path, e.row, e.key) == ("/x/n0000/0001.00.cpm", 2, "PHOTCODE")
    assert "PHOTCODE 65000" in e.problem and "70000" in e.problem


def _v1_photcodes(tmp_path, pc: Photcodes, n: int = 40, type_byte=None, codes=None):
    """A DVO_PHOTCODE_PS1_V1 file (16-bit masks, TFORM I) from the first rows of `pc`."""
    lay = layout("DVO_PHOTCODE_PS1_V1")
    a = lay.empty(n)
    a["CODE"] = (pc.code[:n] if codes is None else codes).astype(np.uint16).view(np.int16)
    a["NAME"] = [s.encode() for s in pc.name[:n]]
    a["TYPE"] = [bytes([int(t) if type_byte is None else type_byte]) for t in pc.type[:n]]
    a["C_LAM"], a["K"], a["EQUIV"], a["NC"], a["X"] = pc.c_lam[:n], pc.k[:n], pc.equiv[:n], pc.nc[:n], pc.x[:n]
    a["ASTROM_BAD_MASK"] = np.uint16(0x3888).view(np.int16)
    a["PHOTOM_POOR_MASK"] = np.uint16(0xFFFF).view(np.int16)  # all 16 bits: must read as 0xFFFF
    path = tmp_path / "Photcodes.dat"
    write_bintable(path, [("SIMPLE", True), ("BITPIX", 8), ("NAXIS", 0), ("EXTEND", True), ("NEXTEND", 1)],
                   lay.extname, lay.columns, a, scale_keywords=True)
    return path


def test_ps1_v1_photcodes_with_16_bit_masks(tmp_path):
    pv3 = Photcodes(pv3_photcodes_path())
    pc = Photcodes(_v1_photcodes(tmp_path, pv3))
    assert pc.format == "PS1_V1" and len(pc) == 40
    assert pc.photom_poor_mask.dtype == np.uint32 and (pc.photom_poor_mask == 0xFFFF).all()
    assert (pc.astrom_bad_mask == 0x3888).all()
    assert list(pc.name) == list(pv3.name[:40]) and (pc.type == pv3.type[:40]).all()


def test_unknown_type_byte(tmp_path):
    pv3 = Photcodes(pv3_photcodes_path())
    path = _v1_photcodes(tmp_path, pv3, n=10)
    patch_cell(path, "TYPE", 6, b"\x07")
    with pytest.raises(DVOError) as err:
        Photcodes(path)
    assert err.value.row == 6 and err.value.key == "TYPE" and "TYPE byte 7" in str(err.value)


def test_duplicate_codes(tmp_path):
    pv3 = Photcodes(pv3_photcodes_path())
    codes = pv3.code[:10].copy()
    codes[8] = codes[2]
    with pytest.raises(DVOError) as err:
        Photcodes(_v1_photcodes(tmp_path, pv3, n=10, codes=codes))
    assert err.value.row == 8 and err.value.key == "CODE" and "row 2" in err.value.problem
