"""The one table of DVO layouts: every table format lcdb reads or writes, looked up by EXTNAME.

Each `Layout` says what a file of that EXTNAME holds — column names, TFORMs (with repeat counts), units and
TTYPE comments in file order, the primary keywords its real header has — and, for the tables the pipeline
reads, the `fields`: which column gives each quantity, with the scale and "no value" sentinel the IPP's
conversion applies (`Ohana/src/libdvo/src/dvo_convert_*.c`). The reader checks every file against its
layout before reading anything (`check_layout`), and reads by field (`read_fields`); the synthetic
generator writes files from the same layouts.

Sources (transcribed, then cross-checked): the real IPP header dumps in `dvo_reference/headers/`
(`catdir.2mass` = PS1_V1, `catdir.example` = PS1_V5_LOAD, `catdir.grizy` = ELIXIR in MEF mode) and the IPP's
definitions `Ohana/src/libautocode/def/*.d` where no real header exists (noted per layout).

Header style "v1" is the older IPP style (TSCALn/TZEROn for every column, PCOUNT/GCOUNT in the primary
header); "v5" the newer one (TUNITn only). It only matters for writing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from lcdb_pipeline.dvo.errors import DVOError
from lcdb_pipeline.dvo.fits import BIG_ENDIAN_TYPES, BinTable, parse_tform

#: DVO's integer "no value" sentinels (Ohana dvo.h, DVO_INT_NAN)
NAN_S_SHORT = 0x7FFF
NAN_U_CHAR = 0xFF


@dataclass(frozen=True)
class ColumnSpec:
    """A table column as written: TTYPE, TFORM (repeat count included), TUNIT and the TTYPE comment."""

    name: str
    tform: str
    unit: str = ""
    comment: str = ""


@dataclass(frozen=True)
class Field:
    """How one quantity is read from a column: output dtype, signed bits read as unsigned, `null` (a stored
    integer meaning "no value", → NaN), then `scale` (e.g. millimag → mag), or `shift` (bits moved left)."""

    column: str
    dtype: object
    unsigned: bool = False
    scale: float | None = None
    null: int | None = None
    shift: int = 0
    raw: object = None  # dtype the column is read as before the conversion (default: int64 / dtype)


@dataclass(frozen=True)
class Layout:
    extname: str
    style: str  # "v1" | "v5": the header style of the real files
    columns: tuple[ColumnSpec, ...]
    kind: str = ""  # average | measure | secfilt | missing | image | photcode | skytable
    format: str = ""  # PS1_V1, PS1_V5_LOAD, ELIXIR, … ("" for DVO_MISSING, shared by every format)
    extra_primary: tuple[str, ...] = ()  # primary keywords after the style's base keywords
    fields: Mapping[str, Field] = field(default_factory=dict)

    def primary(self, style: str | None = None) -> tuple[str, ...]:
        """Primary-header keywords, in order, of a file of this layout written in `style`."""
        return BASE_PRIMARY[style or self.style] + self.extra_primary

    @property
    def dtype(self) -> np.dtype:
        return spec_dtype(self.columns)

    @property
    def row_bytes(self) -> int:
        return self.dtype.itemsize

    def empty(self, n: int) -> np.ndarray:
        """n zeroed rows (big-endian structured array)."""
        return np.zeros(n, dtype=self.dtype)


BASE_PRIMARY = {
    "v1": ("SIMPLE", "BITPIX", "NAXIS", "PCOUNT", "GCOUNT", "BSCALE", "BZERO", "EXTEND"),
    "v5": ("SIMPLE", "BITPIX", "NAXIS", "BSCALE", "BZERO", "EXTEND"),
}


def spec_dtype(columns: Sequence[ColumnSpec]) -> np.dtype:
    """The big-endian structured dtype of a row of `columns` (duplicate names get _2, _3 … as when read)."""
    names, formats, offsets, offset, seen = [], [], [], 0, {}
    for col in columns:
        repeat, code, width = parse_tform(col.tform, "<layout>", col.name)
        n = seen.get(col.name.upper(), 0) + 1
        seen[col.name.upper()] = n
        names.append(col.name if n == 1 else f"{col.name}_{n}")
        if code == "A":
            formats.append(f"S{repeat}")
        elif code == "X":
            formats.append(("u1", (width,)))
        else:
            formats.append(BIG_ENDIAN_TYPES[code] if repeat == 1 else (BIG_ENDIAN_TYPES[code], (repeat,)))
        offsets.append(offset)
        offset += width
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": offset})


def _layout(extname: str, style: str, columns: list) -> Layout:
    return Layout(extname, style, tuple(c if isinstance(c, ColumnSpec) else ColumnSpec(*c) for c in columns))


def _same(columns: Sequence[ColumnSpec]) -> list[ColumnSpec]:
    return list(columns)


# from dvo_reference/headers/catdir.2mass/n0000/0001.00.cpt.hdr
AVERAGE_PS1_V1 = _layout('DVO_AVERAGE_PS1_V1', "v1", [
    ('RA', 'D', 'decimal degrees', 'RA'),
    ('DEC', 'D', 'decimal degrees', 'DEC'),
    ('RA_ERR', 'E', '', 'RA error                      arcsec'),
    ('DEC_ERR', 'E', '', 'DEC error                     arcsec'),
    ('U_RA', 'E', 'arcsec/year', 'RA*cos(D) proper-motion'),
    ('U_DEC', 'E', 'arcsec/year', 'DEC proper-motion'),
    ('V_RA_ERR', 'E', 'arcsec/year', 'RA*cos(D) p-m error'),
    ('V_DEC_ERR', 'E', 'arcsec/year', 'DEC p-m error'),
    ('PAR', 'E', 'arcsec', 'parallax'),
    ('PAR_ERR', 'E', 'arcsec', 'parallax error'),
    ('SIGMA_POS', 'E', '1/100 arcsec', 'position scatter'),
    ('CHISQ_POS', 'E', '', 'astrometry analysis chisq'),
    ('NUMBER_POS', 'I', '', 'number of detections used for astrometry'),
    ('NMEASURE', 'I', '', 'number of psf measurements'),
    ('NMISSING', 'I', '', 'number of missings'),
    ('NEXTEND', 'I', '', 'number of extended measurements'),
    ('OFF_MEASURE', 'J', '', 'offset to first psf measurement'),
    ('OFF_MISSING', 'J', '', 'offset to first missing obs'),
    ('OFF_EXTEND', 'J', '', 'offset to first extended measurement'),
    ('FLAGS', 'J', '', 'average object flags (star; ghost; etc)'),
    ('OBJ_ID', 'J', '', 'unique ID for object in table'),
    ('CAT_ID', 'J', '', 'unique ID for table in which object was first r'),
    ('EXT_ID', '2J', '', 'external ID for object (eg PSPS objID)'),
])
# from dvo_reference/headers/catdir.2mass/n0000/0001.00.cpm.hdr
MEASURE_PS1_V1 = _layout('DVO_MEASURE_PS1_V1', "v1", [
    ('D_RA', 'E', 'arcsec', 'RA offset'),
    ('D_DEC', 'E', 'arcsec', 'DEC offset'),
    ('MAG', 'E', 'mag', 'catalog mag'),
    ('M_CAL', 'E', 'mag', 'image cal mag'),
    ('M_APER', 'E', 'mag', 'aperture mag'),
    ('MAG_ERR', 'E', 'mag', 'mag error'),
    ('MAG_CAL_ERR', 'E', 'mag', 'systematic calibration error'),
    ('M_TIME', 'E', '2.5*log(exptime)', 'exposure time'),
    ('AIRMASS', 'E', 'airmass', '(airmass - 1)'),
    ('AZ', 'E', '', 'telescope azimuth'),
    ('X_CCD', 'E', 'pixels', 'X coord on chip'),
    ('Y_CCD', 'E', 'pixels', 'Y coord on chip'),
    ('SKY_FLUX', 'E', 'counts/sec', 'local estimate of sky flux'),
    ('SKY_FLUX_ERR', 'E', 'counts/sec', 'local estimate of sky flux'),
    ('TIME', 'J', '', 'time in seconds (UNIX)'),
    ('AVE_REF', 'J', '', 'reference to average entry'),
    ('DET_ID', 'J', '', 'detection ID'),
    ('IMAGE_ID', 'J', '', 'reference to DVO image ID'),
    ('OBJ_ID', 'J', '', 'unique ID for object in table'),
    ('CAT_ID', 'J', '', 'unique ID for table in which object was first r'),
    ('EXT_ID', '2J', '', 'external ID (eg PSPS detID)'),
    ('PSF_QF', 'E', '', 'psf coverage/quality factor'),
    ('PSF_CHISQ', 'E', '', 'psf fit chisq'),
    ('PSF_NDOF', 'J', '', 'psf degrees of freedom'),
    ('PSF_NPIX', 'J', '', 'psf number of pixels'),
    ('CR_NSIGMA', 'E', '', 'Nsigma deviation towards CR'),
    ('EXT_NSIGMA', 'E', '', 'Nsigma deviation towards EXT'),
    ('FWHM_MAJOR', 'I', '1/100 of pixels', 'object fwhm major axis'),
    ('FWHM_MINOR', 'I', '1/100 of pixels', 'object fwhm minor axis'),
    ('PSF_THETA', 'I', '(0xffff/360) deg', 'angle wrt ccd X dir'),
    ('MXX', 'I', '1/100 of pixels', 'second moments in pixel coords'),
    ('MXY', 'I', '1/100 of pixels', 'second moments in pixel coords'),
    ('MYY', 'I', '1/100 of pixels', 'second moments in pixel coords'),
    ('TIME_MSEC', 'I', 'milliseconds', 'time fraction of second'),
    ('PHOTCODE', 'I', '', 'photcode'),
    ('X_CCD_ERR', 'I', '1/100 of pixels', 'X coord error on chip'),
    ('Y_CCD_ERR', 'I', '1/100 of pixels', 'Y coord error on chip'),
    ('PAD', '6A', '', 'padding'),
    ('POSANGLE', 'I', '(0xffff/360) deg', 'position angle sky to chip'),
    ('PLTSCALE', 'E', 'arcsec/pixel', 'plate scale'),
    ('DB_FLAGS', 'J', '', 'flags supplied by analysis in database'),
    ('PHOT_FLAGS', 'J', '', 'flags supplied by photometry program'),
])
# from dvo_reference/headers/catdir.2mass/n0000/0001.00.cps.hdr
SECFILT_PS1_V1 = _layout('DVO_SECFILT_PS1_V1', "v1", [
    ('MAG', 'E', 'mags', 'average mag in this band'),
    ('MAG_ERR', 'E', 'mags', 'error on average mag'),
    ('MAG_CHI', 'E', '[100*log(value)]', 'chisq on average mag'),
    ('NCODE', 'I', '', 'number of detections in band'),
    ('NUSED', 'I', '', 'number of detections used in average'),
    ('MAG_20', 'I', 'millimags', 'lower 20percent mag'),
    ('MAG_80', 'I', 'millimags', 'upper 20percent mag'),
])
# from dvo_reference/headers/catdir.example/s2230/6821.10.cpt.hdr
AVERAGE_PS1_V5_LOAD = _layout('DVO_AVERAGE_PS1_V5_LOAD', "v5", [
    ('RA', 'D', 'decimal degrees', 'RA'),
    ('DEC', 'D', 'decimal degrees', 'DEC'),
    ('OBJ_ID', 'J', '', 'unique ID for object in table'),
    ('CAT_ID', 'J', '', 'unique ID for table in which object was first realized'),
    ('EXT_ID', 'K', '', 'external ID for object (eg PSPS objID)'),
    ('OFF_MEASURE', 'J', '', 'offset to first measurement'),
    ('OFF_LENSING', 'J', '', 'offset to first lensing obs'),
    ('OFF_GALPHOT', 'J', '', 'offset to galphot object entry'),
    ('NMEASURE', 'I', '', 'number of psf measurements'),
    ('NLENSING', 'I', '', 'number of lensing measurements'),
    ('NGALPHOT', 'I', '', 'number of galphot measurements'),
    ('DUMMY', '6A', '', 'padding'),
])
# from dvo_reference/headers/catdir.example/s2230/6821.10.cpm.hdr
MEASURE_PS1_V5_LOAD = _layout('DVO_MEASURE_PS1_V5_LOAD', "v5", [
    ('RA', 'D', 'degrees', 'RA at epoch'),
    ('DEC', 'D', 'degrees', 'DEC at epoch'),
    ('MAG', 'E', 'mag', 'catalog mag'),
    ('MAG_ERR', 'E', 'mag', 'mag error'),
    ('M_APER', 'E', 'mag', 'aperture mag'),
    ('M_APER_ERR', 'E', 'mag', 'aperture mag'),
    ('M_KRON', 'E', 'mag', 'kron magnitude'),
    ('M_KRON_ERR', 'E', 'mag', 'kron magnitude error'),
    ('M_CAL', 'E', 'mag', 'image cal mag'),
    ('MAG_CAL_ERR', 'E', 'mag', 'systematic calibration error'),
    ('M_TIME', 'E', '2.5*log(exptime)', 'exposure time'),
    ('FLUX_PSF', 'E', 'counts/sec', 'flux from psf fit'),
    ('FLUX_PSF_ERR', 'E', 'counts/sec', 'error on psf flux'),
    ('FLUX_KRON', 'E', 'counts/sec', 'flux from kron ap'),
    ('FLUX_KRON_ERR', 'E', 'counts/sec', 'error on kron flux'),
    ('FLUX_AP', 'E', 'counts/sec', 'flux from ap ap'),
    ('FLUX_AP_ERR', 'E', 'counts/sec', 'error on ap flux'),
    ('AIRMASS', 'E', 'airmass', '(airmass - 1)'),
    ('AZ', 'E', '', 'telescope azimuth'),
    ('X_CCD', 'E', 'pixels', 'X coord on chip (raw value)'),
    ('Y_CCD', 'E', 'pixels', 'Y coord on chip (raw value)'),
    ('X_FIX', 'E', 'pixels', 'X coord after correction'),
    ('Y_FIX', 'E', 'pixels', 'Y coord after correction'),
    ('X_OFF_KH', 'E', 'pixels', 'X offset from correction'),
    ('Y_OFF_KH', 'E', 'pixels', 'Y offset from correction'),
    ('X_OFF_DCR', 'E', 'pixels', 'X offset from correction'),
    ('Y_OFF_DCR', 'E', 'pixels', 'Y offset from correction'),
    ('X_OFF_CAM', 'E', 'pixels', 'X offset from correction'),
    ('Y_OFF_CAM', 'E', 'pixels', 'Y offset from correction'),
    ('M_FLAT', 'E', 'mag', 'Static Flat-field offset'),
    ('PADDING', 'J', '', 'unused 4 bytes'),
    ('SKY_FLUX', 'E', 'counts/sec', 'local estimate of sky flux'),
    ('SKY_FLUX_ERR', 'E', 'counts/sec', 'local estimate of sky flux'),
    ('TIME', 'J', '', 'time in seconds (UNIX)'),
    ('AVE_REF', 'J', '', 'reference to average entry'),
    ('DET_ID', 'J', '', 'detection ID'),
    ('OBJ_ID', 'J', '', 'unique ID for object in table'),
    ('CAT_ID', 'J', '', 'unique ID for table in which object was first realized'),
    ('EXT_ID', 'K', '', 'external ID (eg PSPS detID)'),
    ('IMAGE_ID', 'J', '', 'reference to DVO image ID'),
    ('PSF_QF', 'E', '', 'psf coverage/quality factor'),
    ('PSF_QF_PEFECT', 'E', '', 'psf coverage / quality factor (all mask bits)'),
    ('PSF_CHISQ', 'E', '', 'psf fit chisq'),
    ('PSF_NDOF', 'J', '', 'psf degrees of freedom'),
    ('PSF_NPIX', 'J', '', 'psf number of pixels'),
    ('PHOT_FLAGS2', 'J', '', 'flags supplied by photometry program'),
    ('EXT_NSIGMA', 'E', '', 'Nsigma deviation towards EXT'),
    ('FWHM_MAJOR', 'I', '1/100 of pixels', 'object fwhm major axis'),
    ('FWHM_MINOR', 'I', '1/100 of pixels', 'object fwhm minor axis'),
    ('PSF_THETA', 'I', '(0xffff/360) deg', 'angle wrt ccd X dir'),
    ('MXX', 'I', '1/100 of pixels', 'second moments in pixel coords'),
    ('MXY', 'I', '1/100 of pixels', 'second moments in pixel coords'),
    ('MYY', 'I', '1/100 of pixels', 'second moments in pixel coords'),
    ('TIME_MSEC', 'I', 'milliseconds', 'time fraction of second'),
    ('PHOTCODE', 'I', '', 'photcode'),
    ('X_CCD_ERR', 'I', '1/100 of pixels', 'X coord error on chip'),
    ('Y_CCD_ERR', 'I', '1/100 of pixels', 'Y coord error on chip'),
    ('POS_SYS_ERR', 'I', '1/100 of pixels', 'systematic error from astrom'),
    ('POSANGLE', 'I', '(0xffff/360) deg', 'position angle sky to chip'),
    ('PLTSCALE', 'E', 'arcsec/pixel', 'plate scale'),
    ('DB_FLAGS', 'J', '', 'flags supplied by analysis in database'),
    ('PHOT_FLAGS', 'J', '', 'flags supplied by photometry program'),
    ('PADDING', 'J', '', 'padding to ensure 8byte blocks'),
])
# from dvo_reference/headers/catdir.example/s2230/6821.10.cpn.hdr
MISSING = _layout('DVO_MISSING', "v5", [
    ('TIME', 'J', '', 'time in seconds'),
])
# from dvo_reference/headers/catdir.2mass/SkyTable.fits.hdr
SKY_REGION = _layout('SKY_REGION', "v1", [
    ('R_MIN', 'E', '', ''),
    ('R_MAX', 'E', '', ''),
    ('D_MIN', 'E', '', ''),
    ('D_MAX', 'E', '', ''),
    ('CHILD_S', 'J', '', 'sequence number in full table of first child'),
    ('CHILD_E', 'J', '', 'sequence number in full table of last child + 1'),
    ('PARENT', 'J', '', 'sequence number in full table of parent'),
    ('INDEX', 'J', '', 'sequence number in full table of this entry'),
    ('DEPTH', 'A', '', 'depth of this entry'),
    ('CHILD', 'A', '', 'does this entry have children?'),
    ('TABLE', 'A', '', 'does this entry have a table?'),
    ('NAME', '21A', '', 'name / filename'),
])
# from dvo_reference/headers/catdir.example/Images.dat.hdr
IMAGE_PS1_V5_LOAD = _layout('DVO_IMAGE_PS1_V5_LOAD', "v5", [
    ('CRVAL1', 'D', '', 'coordinate at reference pixel'),
    ('CRVAL2', 'D', '', 'coordinate at reference pixel'),
    ('CRPIX1', 'E', '', 'coordinate of reference pixel'),
    ('CRPIX2', 'E', '', 'coordinate of reference pixel'),
    ('CDELT1', 'E', '', 'degrees per pixel'),
    ('CDELT2', 'E', '', 'degrees per pixel'),
    ('PC1_1', 'E', '', 'rotation matrix'),
    ('PC1_2', 'E', '', 'rotation matrix'),
    ('PC2_1', 'E', '', 'rotation matrix'),
    ('PC2_2', 'E', '', 'rotation matrix'),
    ('POLYTERMS', '14E', '', 'higher order warping terms'),
    ('CTYPE', '15A', '', 'coordinate type'),
    ('NPOLYTERMS', 'A', '', 'order of polynomial'),
    ('TZERO', 'J', '', 'readout time (row 0)'),
    ('NSTAR', 'J', '', 'number of stars on image'),
    ('SECZ', 'E', 'mag', 'airmass'),
    ('NX', 'I', '', 'image width'),
    ('NY', 'I', '', 'image height'),
    ('APMIFIT', 'E', 'mag', 'aperture correction'),
    ('DAPMIFIT', 'E', 'mag', 'apmifit error'),
    ('MCAL', 'E', 'mag', 'calibration mag'),
    ('DMCAL', 'E', 'mag', 'error on Mcal'),
    ('XM', 'I', '10*log(value)', 'image chisq'),
    ('PHOTCODE', 'I', '', 'identifier for CCD,'),
    ('EXPTIME', 'E', 'seconds', 'exposure time'),
    ('ST', 'E', '', 'sidereal time of exposure'),
    ('LAT', 'E', 'degrees', 'observatory latitude'),
    ('RA_CENTER', 'E', 'degrees', 'image center'),
    ('DEC_CENTER', 'E', 'degrees', 'image center'),
    ('RADIUS', 'E', 'degrees', 'image radius'),
    ('REF_COLOR_BLUE', 'E', '', 'median astrometry ref color'),
    ('REF_COLOR_RED', 'E', '', 'median astrometry ref color'),
    ('NAME', '117A', '', 'name of original image'),
    ('DETECTION_LIMIT', 'B', '10*mag', 'detection limit'),
    ('SATURATION_LIMIT', 'B', '10*mag', 'saturation limit'),
    ('CERROR', 'B', '50*arcsec', 'astrometric error'),
    ('FWHM_X', 'B', '25*arcsec', 'PSF x width'),
    ('FWHM_Y', 'B', '25*arcsec', 'PSF y width'),
    ('TRATE', 'B', '100 usec/pixel', 'scan rate'),
    ('CCDNUM', 'B', '', 'CCD ID number'),
    ('FLAGS', 'J', '', 'image quality flags'),
    ('IMAGE_ID', 'J', '', 'internal image ID'),
    ('PARENT_ID', 'J', '', 'associated ref image'),
    ('EXTERN_ID', 'J', '', 'external image ID'),
    ('SOURCE_ID', 'I', '', 'analysis source ID'),
    ('NLINK_ASTROM', 'I', '', 'mean number of matched measurements for astrometry'),
    ('NLINK_PHOTOM', 'I', '', 'mean number of matched measurements for astrometry'),
    ('UBERCAL_DIST', 'I', '', 'distance to nearest ubercal image'),
    ('XPIX_SYS_ERR', 'E', '', 'systematic astrometry error in X'),
    ('YPIX_SYS_ERR', 'E', '', 'systematic astrometry error in Y'),
    ('MAG_SYS_ERR', 'E', '', 'systematic photometry error'),
    ('N_FIT_ASTROM', 'I', '', 'number of stars used for astrometry cal'),
    ('N_FIT_PHOTOM', 'I', '', 'number of stars used for photometry cal'),
    ('PHOTOM_MAP_ID', 'J', '', 'reference to 2D zero point map'),
    ('ASTROM_MAP_ID', 'J', '', 'reference to 2D astrometry map'),
])
# from dvo_reference/headers/catdir.2mass/Photcodes.dat.hdr
PHOTCODE_PS1_V1 = _layout('DVO_PHOTCODE_PS1_V1', "v1", [
    ('CODE', 'I', '', 'code number (stored in Measure.source)'),
    ('NAME', '32A', '', 'name for filter combination'),
    ('TYPE', 'A', '', 'PRI/SEC/DEP/REF'),
    ('DUMMY', '3A', '', 'padding'),
    ('C_LAM', 'I', '', 'primary phot calibration terms (millimags)'),
    ('C_LAM_ERR', 'I', '', 'primary phot calibration terms (millimags)'),
    ('X_ERR', 'I', '', 'primary phot calibration terms (millimags)'),
    ('K', 'E', '', 'secondary phot calibration terms (millimags)'),
    ('C1', 'J', '', 'color is average.M[c1] - average.M[c2]'),
    ('C2', 'J', '', 'color is average.M[c1] - average.M[c2]'),
    ('EQUIV', 'J', '', 'this dependent filter is equivalent to equiv PR'),
    ('NC', 'J', '', 'number of color terms'),
    ('X', '4E', 'etc', 'color terms $X[0]*mc + X[1]*mc^2 + X[2]*mc^3$'),
    ('ASTROM_ERR_SYS', 'E', '', 'systematic astrometry error (arcsec)'),
    ('ASTROM_ERR_SCALE', 'E', '', 'astrometric error scale'),
    ('ASTROM_ERR_MAG_SCALE', 'E', '', 'astrometric error / mag error scale'),
    ('ASTROM_POOR_MASK', 'I', '', 'detections matching this mask should only be us'),
    ('ASTROM_BAD_MASK', 'I', '', 'detections matching this mask should not be use'),
    ('PHOTOM_ERR_SYS', 'E', '', 'systematic photometric error'),
    ('PHOTOM_POOR_MASK', 'I', '', 'detections matching this mask should only be us'),
    ('PHOTOM_BAD_MASK', 'I', '', 'detections matching this mask should not be use'),
])
# from dvo_reference/headers/catdir.example/Photcodes.dat.hdr
PHOTCODE_PS1_V6 = _layout('DVO_PHOTCODE_PS1_V6', "v5", [
    ('CODE', 'I', '', 'code number (stored in Measure.source)'),
    ('NAME', '32A', '', 'name for filter combination'),
    ('TYPE', 'A', '', 'PRI/SEC/DEP/REF'),
    ('DUMMY', '3A', '', 'padding'),
    ('C_LAM', 'I', '', 'primary phot calibration terms (millimags)'),
    ('C_LAM_ERR', 'I', '', 'primary phot calibration terms (millimags)'),
    ('X_ERR', 'I', '', 'primary phot calibration terms (millimags)'),
    ('K', 'E', '', 'secondary phot calibration terms (millimags)'),
    ('C1', 'J', '', 'color is average.M[c1] - average.M[c2]'),
    ('C2', 'J', '', 'color is average.M[c1] - average.M[c2]'),
    ('EQUIV', 'J', '', 'this dependent filter is equivalent to equiv PRI/SEC'),
    ('NC', 'J', '', 'number of color terms'),
    ('X', '4E', 'etc', 'color terms $X[0]*mc + X[1]*mc^2 + X[2]*mc^3$'),
    ('ASTROM_ERR_SYS', 'E', '', 'systematic astrometry error (arcsec)'),
    ('ASTROM_ERR_SCALE', 'E', '', 'astrometric error scale'),
    ('ASTROM_ERR_MAG_SCALE', 'E', '', 'astrometric error / mag error scale'),
    ('ASTROM_POOR_MASK', 'J', '', 'detections matching this mask should only be used'),
    ('ASTROM_BAD_MASK', 'J', '', 'detections matching this mask should not be used'),
    ('PHOTOM_ERR_SYS', 'E', '', 'systematic photometric error'),
    ('PHOTOM_POOR_MASK', 'J', '', 'detections matching this mask should only be used'),
    ('PHOTOM_BAD_MASK', 'J', '', 'detections matching this mask should not be used'),
])

# from Ohana/src/libautocode/def/secfilt-ps1-v5-ld.d (no real header available to cross-check)
SECFILT_PS1_V5_LOAD = _layout('DVO_SECFILT_PS1_V5_LOAD', "v5", [
    ('MAG', 'E', 'mags', 'average mag in this band'),
    ('NCODE', 'I', '', 'number of detections in band'),
    ('NUSED', 'I', '', 'number of detections used in average'),
])

# from Ohana/src/libautocode/def/image-ps1-v1.d (no real header available to cross-check); 344 bytes per row
IMAGE_PS1_V1 = _layout('DVO_IMAGE_PS1_V1', "v1", [
    *_same(IMAGE_PS1_V5_LOAD.columns[:27]),  # COORDS .. LAT
    ('NAME', '121A', '', 'name of original image'),
    *_same(IMAGE_PS1_V5_LOAD.columns[33:47]),  # DETECTION_LIMIT ..
    ('DUMMY3', 'I', '', 'place holder for byte boundaries'),
    *_same(IMAGE_PS1_V5_LOAD.columns[48:]),  # XPIX_SYS_ERR ..
])


# from dvo_reference/headers/catdir.grizy/n0000/0001.cpt.hdr (HDU 1; average-elixir.d agrees)
AVERAGE_ELIXIR = _layout('DVO_AVERAGE_ELIXIR', "v1", [
    ('RA', 'E', 'decimal degrees', 'RA'),
    ('DEC', 'E', 'decimal degrees', 'DEC'),
    ('MAG', 'I', 'millimag', 'primary mag'),
    ('NMEAS', 'I', '', 'number of measures'),
    ('NMISS', 'I', '', 'number of missings'),
    ('SIGMA_POS', 'I', '1/100 arcsec', 'position scatter'),
    ('CHISQ_MAG', 'I', '[100*log(value)]  ?', 'chisq for primary mag'),
    ('code', 'I', '', 'ID code (star; ghost; etc)'),
    ('offset', 'J', '', 'offset to first measurement'),
    ('missing', 'J', '', 'offset to first missing obs'),
    ('MAG_ERR', 'I', 'millimag', 'error on primary mag'),
    ('Xg', 'I', '', 'best chisq value'),
])
# from dvo_reference/headers/catdir.grizy/n0000/0001.cpt.hdr (HDU 2; measure-elixir.d agrees)
MEASURE_ELIXIR = _layout('DVO_MEASURE_ELIXIR', "v1", [
    ('D_RA', 'I', '1/100 arcsec', 'RA offset'),
    ('D_DEC', 'I', '1/100 arcsec', 'DEC offset'),
    ('MAG', 'I', 'millimag', 'catalog mag'),
    ('Mcal', 'I', 'millimag', 'image cal mag'),
    ('Mgal', 'I', 'millimag', 'galaxy mag'),
    ('airmass', 'I', 'milliairmass', '(airmass - 1)'),
    ('FWx', 'I', '1/100 of arcsec', 'object fwhm major axis'),
    ('dM', 'B', 'millimag', 'mag error'),
    ('fwy', 'B', '', 'object fwhm minor/major ratio'),
    ('theta', 'B', '(0xff/360) deg', 'angle wrt ccd X dir'),
    ('dophot', 'A', '', 'dophot type'),
    ('source', 'I', '', 'photcode'),
    ('t', 'J', '', 'time in seconds (UNIX)'),
    ('averef', 'J', '', 'reference to average entry'),
    ('dt', 'I', '2500*log(exptime)', 'exposure time'),
    ('flags', 'I', '', 'flags for various uses'),
])
# from dvo_reference/headers/catdir.grizy/n0000/0001.cpt.hdr (HDU 4; secfilt-elixir.d agrees)
SECFILT_ELIXIR = _layout('DVO_SECFILT_ELIXIR', "v1", [
    ('MAG', 'I', 'millimags', 'other mags'),
    ('MAG_CHI', 'I', '', 'chisq on mag'),
    ('MAG_ERR', 'I', '', 'scatter on mag'),
])
# from dvo_reference/headers/catdir.grizy/Images.dat.hdr. The IPP's image-elixir.d today names the last 30
# bytes differently (the deprecated Mrel polyterms ORDER … MYYYY became NLINK_ASTROM … ASTROM_MAP_ID in
# 2011, see dvo_convert_elixir.c): both variants are accepted, the real one is written.
IMAGE_ELIXIR = _layout('DVO_IMAGE_ELIXIR', "v1", [
    *_same(IMAGE_PS1_V5_LOAD.columns[:15]),  # the CoordsDisk substructure, TZERO, NSTAR
    ('SECZ', 'I', 'milliairmass', 'airmass'),
    ('NX', 'I', '', 'image width'),
    ('NY', 'I', '', 'image height'),
    ('APMIFIT', 'I', 'millimag', 'aperture correction'),
    ('DAPMIFIT', 'I', 'millimag', 'apmifit error'),
    ('SOURCE', 'I', '', 'identifier for CCD,'),
    ('MCAL', 'I', 'millimag', 'calibration mag'),
    ('DMCAL', 'I', 'millimag', 'error on Mcal'),
    ('XM', 'I', '10*log(value)', 'image chisq'),
    ('NAME', '32A', '', 'name of original image'),
    ('DETECTION_LIMIT', 'B', '10*mag', 'detection limit'),
    ('SATURATION_LIMIT', 'B', '10*mag', 'saturation limit'),
    ('CERROR', 'B', '50*arcsec', 'astrometric error'),
    ('FWHM_X', 'B', '25*arcsec', 'PSF x width'),
    ('FWHM_Y', 'B', '25*arcsec', 'PSF y width'),
    ('TRATE', 'B', '100 usec/pixel', 'scan rate'),
    ('EXPTIME', 'E', 'seconds', 'exposure time'),
    ('CODE', 'A', '', 'image quality flag'),
    ('CCDNUM', 'B', '', 'CCD ID number'),
    ('DUMMY', '20A', '', 'unused'),
    ('ORDER', 'I', '', 'Mrel 2D polynomical order'),
    ('MX', 'I', '', 'Mrel polyterm'),
    ('MY', 'I', '', 'Mrel polyterm'),
    ('MXX', 'I', '', 'Mrel polyterm'),
    ('MXY', 'I', '', 'Mrel polyterm'),
    ('MYY', 'I', '', 'Mrel polyterm'),
    ('MXXX', 'I', '', 'Mrel polyterm'),
    ('MXXY', 'I', '', 'Mrel polyterm'),
    ('MXYY', 'I', '', 'Mrel polyterm'),
    ('MYYY', 'I', '', 'Mrel polyterm'),
    ('MXXXX', 'I', '', 'Mrel polyterm'),
    ('MXXXY', 'I', '', 'Mrel polyterm'),
    ('MXXYY', 'I', '', 'Mrel polyterm'),
    ('MXYYY', 'I', '', 'Mrel polyterm'),
    ('MYYYY', 'I', '', 'Mrel polyterm'),
])
IMAGE_ELIXIR_2011 = _layout('DVO_IMAGE_ELIXIR', "v1", [
    *_same(IMAGE_ELIXIR.columns[:35]),  # CRVAL1 .. DUMMY
    ('NLINK_ASTROM', 'I', '', 'mean number of matched measurements for astrometry'),
    ('NLINK_PHOTOM', 'I', '', 'mean number of matched measurements for astrometry'),
    ('DUMMY3', 'I', '', 'place holder for byte boundaries'),
    ('XPIX_SYS_ERR', 'E', '', 'systematic astrometry error in X'),
    ('YPIX_SYS_ERR', 'E', '', 'systematic astrometry error in Y'),
    ('MAG_SYS_ERR', 'E', '', 'systematic photometry error'),
    ('N_FIT_ASTROM', 'I', '', 'number of stars used for astrometry cal'),
    ('N_FIT_PHOTOM', 'I', '', 'number of stars used for photometry cal'),
    ('PHOTOM_MAP_ID', 'J', '', 'reference to 2D zero point map'),
    ('ASTROM_MAP_ID', 'J', '', 'reference to 2D astrometry map'),
])
# the PS1 PV2/PV3 releases' Photcodes.dat (lcdb_pipeline/data/PV3.Photcodes.dat, read back) and
# photcode-ps1-v5-ld.d: the PS1_V6 columns under their own EXTNAMEs
PHOTCODE_PS1_V5 = replace(PHOTCODE_PS1_V6, extname='DVO_PHOTCODE_PS1_V5')
PHOTCODE_PS1_V5_LOAD = replace(PHOTCODE_PS1_V6, extname='DVO_PHOTCODE_PS1_V5_LOAD')

# --------------------------------------------------------------------------------------------------------
# fields: what the pipeline reads from each catalog and image layout (canonical name → column)
# --------------------------------------------------------------------------------------------------------

_F32, _F64, _U32, _I64 = np.float32, np.float64, np.uint32, np.int64

_OBJECTS_PS1 = {
    "ra": Field("RA", _F64), "dec": Field("DEC", _F64), "obj_id": Field("OBJ_ID", _U32, True),
    "cat_id": Field("CAT_ID", _U32, True), "nmeasure": Field("NMEASURE", _U32, True),
}
_MEASURE_PS1 = {
    "mag": Field("MAG", _F32), "mag_err": Field("MAG_ERR", _F32), "m_aper": Field("M_APER", _F32),
    "m_cal": Field("M_CAL", _F32), "mag_cal_err": Field("MAG_CAL_ERR", _F32), "m_time": Field("M_TIME", _F32),
    "airmass": Field("AIRMASS", _F32), "time": Field("TIME", _I64), "time_msec": Field("TIME_MSEC", _I64, True),
    "photcode": Field("PHOTCODE", np.uint16, True), "image_id": Field("IMAGE_ID", _U32, True),
    "db_flags": Field("DB_FLAGS", _U32, True), "phot_flags": Field("PHOT_FLAGS", _U32, True),
    "ave_ref": Field("AVE_REF", _I64, True), "obj_id": Field("OBJ_ID", _U32, True),
    "cat_id": Field("CAT_ID", _U32, True), "det_id": Field("DET_ID", _U32, True),
}
_MILLI = 0.001

FIELDS: dict[str, dict[str, Field]] = {
    "DVO_AVERAGE_PS1_V1": {**_OBJECTS_PS1, "off_measure": Field("OFF_MEASURE", _I64, True),
                           "flags": Field("FLAGS", _U32, True)},
    "DVO_AVERAGE_PS1_V5_LOAD": {**_OBJECTS_PS1, "off_measure": Field("OFF_MEASURE", _I64)},
    # Average_Elixir_ToInternal: no OBJ_ID/CAT_ID on disk (the reader numbers the rows, see catalog.py)
    "DVO_AVERAGE_ELIXIR": {"ra": Field("RA", _F64), "dec": Field("DEC", _F64),
                           "nmeasure": Field("NMEAS", _U32, True), "off_measure": Field("offset", _I64),
                           "flags": Field("code", _U32, True)},
    "DVO_MEASURE_PS1_V1": {"d_ra": Field("D_RA", _F64), "d_dec": Field("D_DEC", _F64), **_MEASURE_PS1},
    "DVO_MEASURE_PS1_V5_LOAD": {"ra": Field("RA", _F64), "dec": Field("DEC", _F64), **_MEASURE_PS1,
                                "m_aper_err": Field("M_APER_ERR", _F32), "m_flat": Field("M_FLAT", _F32)},
    # Measure_Elixir_ToInternal (dvo_convert_elixir.c): millimag shorts with NAN_S_SHORT, dM a byte with
    # NAN_U_CHAR, offsets in 1/100 arcsec, photFlags = dophot << 16, dbFlags = flags; no TIME_MSEC, IMAGE_ID,
    # M_APER or MAG_CAL_ERR on disk
    "DVO_MEASURE_ELIXIR": {
        "d_ra": Field("D_RA", _F64, scale=0.01, null=NAN_S_SHORT),
        "d_dec": Field("D_DEC", _F64, scale=0.01, null=NAN_S_SHORT),
        "mag": Field("MAG", _F32, scale=_MILLI, null=NAN_S_SHORT),
        "mag_err": Field("dM", _F32, scale=_MILLI, null=NAN_U_CHAR, raw=np.uint8),
        "m_cal": Field("Mcal", _F32, scale=_MILLI, null=NAN_S_SHORT),
        "m_time": Field("dt", _F32, scale=_MILLI, null=NAN_S_SHORT),
        "airmass": Field("airmass", _F32, scale=_MILLI, null=NAN_S_SHORT),
        "time": Field("t", _I64, True), "photcode": Field("source", np.uint16, True),
        "ave_ref": Field("averef", _I64, True), "db_flags": Field("flags", _U32, True),
        "phot_flags": Field("dophot", _U32, shift=16, raw=np.uint8),
    },
    "DVO_SECFILT_PS1_V1": {"mag": Field("MAG", _F32), "mag_err": Field("MAG_ERR", _F32),
                           "mag_chi": Field("MAG_CHI", _F32), "ncode": Field("NCODE", np.int16),
                           "nused": Field("NUSED", np.int16), "mag_20": Field("MAG_20", np.int16),
                           "mag_80": Field("MAG_80", np.int16)},
    "DVO_SECFILT_PS1_V5_LOAD": {"mag": Field("MAG", _F32), "ncode": Field("NCODE", np.int16),
                                "nused": Field("NUSED", np.int16)},
    "DVO_SECFILT_ELIXIR": {"mag": Field("MAG", _F32, scale=_MILLI, null=NAN_S_SHORT),
                           "mag_err": Field("MAG_ERR", _F32, scale=_MILLI, null=NAN_S_SHORT)},
    "DVO_IMAGE_PS1_V1": (_IMAGE := {"image_id": Field("IMAGE_ID", _U32, True), "tzero": Field("TZERO", _I64),
                                    "exptime": Field("EXPTIME", _F32), "photcode": Field("PHOTCODE", np.uint16, True),
                                    "name": Field("NAME", None)}),
    "DVO_IMAGE_PS1_V5_LOAD": _IMAGE,
    # Image_Elixir_ToInternal: no IMAGE_ID on disk ("determine on-the-fly": the reader numbers the rows)
    "DVO_IMAGE_ELIXIR": {"tzero": Field("TZERO", _I64), "exptime": Field("EXPTIME", _F32),
                         "photcode": Field("SOURCE", np.uint16, True), "name": Field("NAME", None)},
}

#: primary keywords beyond the style's base ones, as in the real headers (writer; the reader checks its own)
EXTRA_PRIMARY = {
    "DVO_AVERAGE_PS1_V1": ("MEASURE", "MISSING", "SECFILT", "RA0", "DEC0", "RA1", "DEC1", "CATID", "DATE",
                           "SORTED", "NSTARS", "NMEAS", "NMISS", "NSECFILT", "OBJID"),
    "DVO_AVERAGE_PS1_V5_LOAD": ("MEASURE", "MISSING", "SECFILT", "LENSING", "LENSOBJ", "STARPAR", "GALPHOT", "RA0",
                                "DEC0", "RA1", "DEC1", "CATID", "DATE", "SORTED", "NSTARS", "NMEAS", "NMISS",
                                "NSECFILT", "NLENSING", "NLENSOBJ", "NSTARPAR", "NGALPHOT", "OBJID"),
    "DVO_AVERAGE_ELIXIR": ("RA0", "DEC0", "RA1", "DEC1", "DATE", "SORTED", "NSTARS", "NMEAS", "NMISS",
                           "NSECFILT"),  # MEF: one primary header for all the tables
    "DVO_IMAGE_PS1_V1": ("NIMAGES", "ZERO_PT", "DVO_DBID", "FORMAT", "IMAGEID"),
    "DVO_IMAGE_PS1_V5_LOAD": ("NIMAGES", "ZERO_PT", "DVO_DBID", "FORMAT", "IMAGEID"),
    "DVO_IMAGE_ELIXIR": ("NIMAGES", "ZERO_PT", "FORMAT", "DVO_DBID"),
    "DVO_PHOTCODE_PS1_V1": ("NEXTEND",), "DVO_PHOTCODE_PS1_V5": ("NEXTEND",),
    "DVO_PHOTCODE_PS1_V5_LOAD": ("NEXTEND",), "DVO_PHOTCODE_PS1_V6": ("NEXTEND",),
}


def _kind_and_format(extname: str) -> tuple[str, str]:
    if extname == "SKY_REGION":
        return "skytable", ""
    if extname == "DVO_MISSING":
        return "missing", ""
    _, kind, fmt = extname.split("_", 2)
    return kind.lower(), fmt


def _complete(layout: Layout) -> Layout:
    kind, fmt = _kind_and_format(layout.extname)
    return replace(layout, kind=kind, format=fmt, extra_primary=EXTRA_PRIMARY.get(layout.extname, ()),
                   fields=FIELDS.get(layout.extname, {}))


#: THE table: EXTNAME → its layout variants (the first is the one written)
LAYOUTS: dict[str, tuple[Layout, ...]] = {}
for _lay in (AVERAGE_PS1_V1, MEASURE_PS1_V1, SECFILT_PS1_V1, AVERAGE_PS1_V5_LOAD, MEASURE_PS1_V5_LOAD,
             SECFILT_PS1_V5_LOAD, AVERAGE_ELIXIR, MEASURE_ELIXIR, SECFILT_ELIXIR, MISSING, SKY_REGION,
             IMAGE_PS1_V1, IMAGE_PS1_V5_LOAD, IMAGE_ELIXIR, IMAGE_ELIXIR_2011, PHOTCODE_PS1_V1, PHOTCODE_PS1_V5,
             PHOTCODE_PS1_V5_LOAD, PHOTCODE_PS1_V6):
    LAYOUTS[_lay.extname] = LAYOUTS.get(_lay.extname, ()) + (_complete(_lay),)
del _lay


@dataclass(frozen=True)
class CatalogFormat:
    """One catalog format: the EXTNAMEs of its tables, its image table and its header style."""

    name: str
    style: str

    def layout(self, kind: str) -> Layout:
        extname = "DVO_MISSING" if kind == "missing" else f"DVO_{kind.upper()}_{self.name}"
        return LAYOUTS[extname][0]


CATALOG_FORMATS = {name: CatalogFormat(name, LAYOUTS[f"DVO_AVERAGE_{name}"][0].style)
                   for name in ("PS1_V1", "PS1_V5_LOAD", "ELIXIR")}


def layout(extname: str) -> Layout:
    """The (first) layout of an EXTNAME; KeyError when lcdb does not know it."""
    return LAYOUTS[extname][0]


# --------------------------------------------------------------------------------------------------------
# checking a file against its layout, and reading its fields
# --------------------------------------------------------------------------------------------------------

def _normal_tform(tform: str) -> str:
    """`1E` and `E` are the same form; anything after the type code is kept (so `E9` is not `E`)."""
    t = tform.strip().upper()
    digits = len(t) - len(t.lstrip("0123456789"))
    repeat = int(t[:digits]) if digits else 1
    return f"{repeat}{t[digits:]}"


def _mismatch(t: BinTable, want: Layout) -> tuple[str, str] | None:
    """(key, problem) saying why the columns of `t` are not those of `want`; None when they are."""
    if len(t.columns) != len(want.columns):
        return "TFIELDS", (f"TFIELDS = {len(t.columns)} but the {want.extname} layout has {len(want.columns)} "
                           f"columns ({', '.join(c.name for c in want.columns)})")
    for i, (got, spec) in enumerate(zip(t.columns, want.columns), start=1):
        if got.ttype != spec.name:
            return f"TTYPE{i}", (f"column {i} is named {got.ttype!r}, but the {want.extname} layout has "
                                 f"{spec.name!r} there")
        if _normal_tform(got.tform) != _normal_tform(spec.tform):
            return spec.name, (f"TFORM{i} = {got.tform!r}, but the {want.extname} layout stores {spec.name} as "
                               f"{spec.tform!r}")
    return None


def check_layout(t: BinTable, candidates: Sequence[Layout]) -> Layout:
    """The layout `t` follows: BITPIX 8, PCOUNT 0 (no heap), GCOUNT 1, and every column's name, type and
    repeat count as one of `candidates` declares. `DVOError` naming the file, the column and both forms."""
    for key, want in (("BITPIX", 8), ("PCOUNT", 0), ("GCOUNT", 1)):
        value = t.header.get(key, want if key != "BITPIX" else None)
        if value != want or isinstance(value, bool):
            raise DVOError(t.path, f"{key} = {value!r} in the {t.extname or 'BINTABLE'} header, but a DVO binary "
                                   f"table has {key} = {want}", key=key)
    problems = [_mismatch(t, lay) for lay in candidates]
    for lay, problem in zip(candidates, problems):
        if problem is None:
            return lay
    key, problem = problems[0]
    raise DVOError(t.path, problem, key=key)


def open_table(path: str, kinds: Sequence[str], what: str, hdu: int = 1) -> tuple[BinTable, Layout]:
    """Open HDU `hdu` of `path`, find its layout by EXTNAME among the layouts of `kinds`, and check it.

    `what` names the file's role in messages (`Images.dat`, `a catalog table (.cpt)` …)."""
    t = BinTable(path, hdu)
    candidates = LAYOUTS.get(t.extname, ())
    if not candidates or candidates[0].kind not in kinds:
        known = sorted(e for e, lays in LAYOUTS.items() if lays[0].kind in kinds)
        raise DVOError(path, f"unknown EXTNAME {t.extname!r} for {what}; supported: {', '.join(known)}",
                       key="EXTNAME")
    return t, check_layout(t, candidates)


def read_fields(t: BinTable, lay: Layout, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """The layout's fields (all, or those of `names` the layout has) as native arrays, in one pass."""
    fields = {n: f for n, f in lay.fields.items() if names is None or n in names}
    plain = {n: f for n, f in fields.items() if f.scale is None and f.null is None and not f.shift}
    spec = {(f.column, f.dtype, f.unsigned) for f in plain.values()}
    spec |= {(f.column, f.raw or np.int64, f.unsigned) for n, f in fields.items() if n not in plain}
    d = t.read(sorted(spec, key=lambda s: s[0]))
    out: dict[str, np.ndarray] = {}
    for name, f in fields.items():
        v = d[f.column]
        if name in plain:
            out[name] = v
            continue
        if f.shift:
            out[name] = (v.astype(np.int64) << f.shift).astype(f.dtype)
            continue
        x = v.astype(np.float64)
        if f.null is not None:
            x[v == f.null] = np.nan
        out[name] = (x * f.scale if f.scale is not None else x).astype(f.dtype)
    return out
