"""Table layouts of the DVO files the synthetic generator writes, as the real IPP files have them.

Transcribed from the real FITS headers in `dvo_reference/headers/` (`catdir.2mass` = PS1_V1,
`catdir.example` = PS1_V5_LOAD): same EXTNAMEs, column names and order, TFORMs, TUNITs and TTYPE comments,
and the same primary-header keywords in the same order. Two layouts have no real header to copy and follow
the IPP's own definitions (`Ohana/src/libautocode/def/*.d`): `SECFILT_PS1_V5_LOAD` (secfilt-ps1-v5-ld.d)
and `IMAGE_PS1_V1` (image-ps1-v1.d).

The **reader never uses these layouts**: it reads whatever columns a file declares, by name. They exist so
the generator writes faithful files and the tests can check that it does.

Style "v1" is the older IPP header style (TSCALn/TZEROn written for every column, PCOUNT/GCOUNT in the
primary header); "v5" is the newer one (TUNITn only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lcdb_pipeline.synth.fits_writer import ColumnSpec, spec_dtype


@dataclass(frozen=True)
class Layout:
    extname: str
    primary: tuple[str, ...]  # primary-header keywords, in order
    style: str  # "v1" | "v5"
    columns: tuple[ColumnSpec, ...]

    @property
    def dtype(self) -> np.dtype:
        return spec_dtype(self.columns)

    @property
    def row_bytes(self) -> int:
        return self.dtype.itemsize

    def empty(self, n: int) -> np.ndarray:
        """n zeroed rows (big-endian structured array)."""
        return np.zeros(n, dtype=self.dtype)


def _layout(extname: str, primary: tuple[str, ...], style: str, columns: list[tuple]) -> Layout:
    return Layout(extname, tuple(primary), style, tuple(ColumnSpec(*c) for c in columns))


# from dvo_reference/headers/catdir.2mass/n0000/0001.00.cpt.hdr
AVERAGE_PS1_V1_PRIMARY = (
    'SIMPLE', 'BITPIX', 'NAXIS', 'PCOUNT', 'GCOUNT', 'BSCALE', 'BZERO', 'EXTEND', 'MEASURE', 'MISSING',
    'SECFILT', 'RA0', 'DEC0', 'RA1', 'DEC1', 'CATID', 'DATE', 'SORTED', 'NSTARS', 'NMEAS', 'NMISS', 'NSECFILT',
    'OBJID',
)
AVERAGE_PS1_V1 = _layout('DVO_AVERAGE_PS1_V1', AVERAGE_PS1_V1_PRIMARY, "v1", [
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
MEASURE_PS1_V1_PRIMARY = (
    'SIMPLE', 'BITPIX', 'NAXIS', 'PCOUNT', 'GCOUNT', 'BSCALE', 'BZERO', 'EXTEND',
)
MEASURE_PS1_V1 = _layout('DVO_MEASURE_PS1_V1', MEASURE_PS1_V1_PRIMARY, "v1", [
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
SECFILT_PS1_V1_PRIMARY = (
    'SIMPLE', 'BITPIX', 'NAXIS', 'PCOUNT', 'GCOUNT', 'BSCALE', 'BZERO', 'EXTEND',
)
SECFILT_PS1_V1 = _layout('DVO_SECFILT_PS1_V1', SECFILT_PS1_V1_PRIMARY, "v1", [
    ('MAG', 'E', 'mags', 'average mag in this band'),
    ('MAG_ERR', 'E', 'mags', 'error on average mag'),
    ('MAG_CHI', 'E', '[100*log(value)]', 'chisq on average mag'),
    ('NCODE', 'I', '', 'number of detections in band'),
    ('NUSED', 'I', '', 'number of detections used in average'),
    ('MAG_20', 'I', 'millimags', 'lower 20percent mag'),
    ('MAG_80', 'I', 'millimags', 'upper 20percent mag'),
])
# from dvo_reference/headers/catdir.example/s2230/6821.10.cpt.hdr
AVERAGE_PS1_V5_LOAD_PRIMARY = (
    'SIMPLE', 'BITPIX', 'NAXIS', 'BSCALE', 'BZERO', 'EXTEND', 'MEASURE', 'MISSING', 'SECFILT', 'LENSING',
    'LENSOBJ', 'STARPAR', 'GALPHOT', 'RA0', 'DEC0', 'RA1', 'DEC1', 'CATID', 'DATE', 'SORTED', 'NSTARS', 'NMEAS',
    'NMISS', 'NSECFILT', 'NLENSING', 'NLENSOBJ', 'NSTARPAR', 'NGALPHOT', 'OBJID',
)
AVERAGE_PS1_V5_LOAD = _layout('DVO_AVERAGE_PS1_V5_LOAD', AVERAGE_PS1_V5_LOAD_PRIMARY, 'v5', [
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
MEASURE_PS1_V5_LOAD_PRIMARY = (
    'SIMPLE', 'BITPIX', 'NAXIS', 'BSCALE', 'BZERO', 'EXTEND',
)
MEASURE_PS1_V5_LOAD = _layout('DVO_MEASURE_PS1_V5_LOAD', MEASURE_PS1_V5_LOAD_PRIMARY, 'v5', [
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
MISSING_PRIMARY = (
    'SIMPLE', 'BITPIX', 'NAXIS', 'BSCALE', 'BZERO', 'EXTEND',
)
MISSING = _layout('DVO_MISSING', MISSING_PRIMARY, 'v5', [
    ('TIME', 'J', '', 'time in seconds'),
])
# from dvo_reference/headers/catdir.2mass/SkyTable.fits.hdr
SKY_REGION_PRIMARY = (
    'SIMPLE', 'BITPIX', 'NAXIS', 'PCOUNT', 'GCOUNT', 'BSCALE', 'BZERO', 'EXTEND',
)
SKY_REGION = _layout('SKY_REGION', SKY_REGION_PRIMARY, "v1", [
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
IMAGE_PS1_V5_LOAD_PRIMARY = (
    'SIMPLE', 'BITPIX', 'NAXIS', 'BSCALE', 'BZERO', 'EXTEND', 'NIMAGES', 'ZERO_PT', 'DVO_DBID', 'FORMAT',
    'IMAGEID',
)
IMAGE_PS1_V5_LOAD = _layout('DVO_IMAGE_PS1_V5_LOAD', IMAGE_PS1_V5_LOAD_PRIMARY, 'v5', [
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
PHOTCODE_PS1_V1_PRIMARY = (
    'SIMPLE', 'BITPIX', 'NAXIS', 'PCOUNT', 'GCOUNT', 'BSCALE', 'BZERO', 'EXTEND', 'NEXTEND',
)
PHOTCODE_PS1_V1 = _layout('DVO_PHOTCODE_PS1_V1', PHOTCODE_PS1_V1_PRIMARY, "v1", [
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
PHOTCODE_PS1_V6_PRIMARY = (
    'SIMPLE', 'BITPIX', 'NAXIS', 'BSCALE', 'BZERO', 'EXTEND', 'NEXTEND',
)
PHOTCODE_PS1_V6 = _layout('DVO_PHOTCODE_PS1_V6', PHOTCODE_PS1_V6_PRIMARY, 'v5', [
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

# from Ohana/src/libautocode/def/secfilt-ps1-v5-ld.d (no real header available)
SECFILT_PS1_V5_LOAD_PRIMARY = MEASURE_PS1_V5_LOAD_PRIMARY
SECFILT_PS1_V5_LOAD = _layout('DVO_SECFILT_PS1_V5_LOAD', SECFILT_PS1_V5_LOAD_PRIMARY, "v5", [
    ('MAG', 'E', 'mags', 'average mag in this band'),
    ('NCODE', 'I', '', 'number of detections in band'),
    ('NUSED', 'I', '', 'number of detections used in average'),
])

# the .cpn of a PS1_V1 table: the DVO_MISSING layout in the v1 header style
MISSING_PS1_V1 = _layout('DVO_MISSING', MEASURE_PS1_V1_PRIMARY, "v1",
                         [(c.name, c.tform, c.unit, c.comment) for c in MISSING.columns])

# from Ohana/src/libautocode/def/image-ps1-v1.d (no real header available); 344 bytes per row
IMAGE_PS1_V1_PRIMARY = (
    'SIMPLE', 'BITPIX', 'NAXIS', 'PCOUNT', 'GCOUNT', 'BSCALE', 'BZERO', 'EXTEND', 'NIMAGES', 'ZERO_PT',
    'DVO_DBID', 'FORMAT', 'IMAGEID',
)
IMAGE_PS1_V1 = _layout('DVO_IMAGE_PS1_V1', IMAGE_PS1_V1_PRIMARY, "v1", [
    *[(c.name, c.tform, c.unit, c.comment) for c in IMAGE_PS1_V5_LOAD.columns[:27]],  # COORDS .. LAT
    ('NAME', '121A', '', 'name of original image'),
    *[(c.name, c.tform, c.unit, c.comment) for c in IMAGE_PS1_V5_LOAD.columns[33:47]],  # DETECTION_LIMIT ..
    ('DUMMY3', 'I', '', 'place holder for byte boundaries'),
    *[(c.name, c.tform, c.unit, c.comment) for c in IMAGE_PS1_V5_LOAD.columns[48:]],  # XPIX_SYS_ERR ..
])

#: the layouts of one catalog-table format
CATALOG_LAYOUTS = {
    "PS1_V1": {"cpt": AVERAGE_PS1_V1, "cpm": MEASURE_PS1_V1, "cps": SECFILT_PS1_V1, "cpn": MISSING_PS1_V1},
    "PS1_V5_LOAD": {"cpt": AVERAGE_PS1_V5_LOAD, "cpm": MEASURE_PS1_V5_LOAD, "cps": SECFILT_PS1_V5_LOAD,
                    "cpn": MISSING},
}
IMAGE_LAYOUTS = {"PS1_V1": IMAGE_PS1_V1, "PS1_V5_LOAD": IMAGE_PS1_V5_LOAD}
