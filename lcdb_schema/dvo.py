"""The DVO extension: observations and quality flags of a DVO database (Pan-STARRS IPP and others).

A DVO database splits the sky into regions, each holding catalog tables of objects and their measurements.
LightcurveDB rows made from it use these subclasses (see docs/schema.md and DESIGN §5).
"""

from __future__ import annotations

import uuid

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy import orm

from lcdb_schema.base import LCDBModel
from lcdb_schema.instrument import Instrument
from lcdb_schema.observation import Observation
from lcdb_schema.products import QualityFlagArray
from lcdb_schema.types import Int32Array


class DVOInstrument(LCDBModel):
    """Which `Instrument` lcdb made for a camera or chip of a DVO database's Photcodes -- lcdb's own table.

    Instrument names may repeat (upstream LightcurveDB has no unique key on them), so a reload of the
    Photcodes finds its instruments here, by ``(camera, chip)``, and keeps their ids; instruments anyone
    else created, whatever their names, are never taken for lcdb's. `camera` is the first part of a photcode
    name (``GPC1``) or a bare reference-catalog name (``2MASS_J``); `chip` the last part of a detector
    photcode (``XY01``), NULL for the camera itself. ``(camera, chip)`` is unique, NULLs not distinct.
    Deleting the instrument deletes its row here (a later reload then creates a new instrument).
    """

    __tablename__ = "dvo_instrument"
    __table_args__ = (sa.UniqueConstraint("camera", "chip", postgresql_nulls_not_distinct=True),)

    instrument_id: orm.Mapped[uuid.UUID] = orm.mapped_column(
        sa.ForeignKey("instrument.id", ondelete="CASCADE"), primary_key=True
    )
    camera: orm.Mapped[str] = orm.mapped_column(comment="Camera or bare reference name, e.g. GPC1")
    chip: orm.Mapped[str | None] = orm.mapped_column(comment="Chip of the camera, e.g. XY01; NULL for the camera")

    instrument: orm.Mapped[Instrument] = orm.relationship()


class DVOObservation(Observation):
    """The measurements of one DVO catalog table taken by one camera in one filter.

    One row per (catalog table, camera, filter): `catalog_table` is the table's SkyTable name
    (``n0000/0148``), `region` its region directory (``n0000``), `filter_name` the filter (``g``, ``r``,
    ...) and `instrument` the camera. `cadence_reference` holds the sorted distinct exposure times of the
    group, in milliseconds since the unix epoch.

    The three columns live in the shared ``observation`` table and are therefore nullable there, but they
    are always set on DVO rows. ``(catalog_table, instrument_id, filter_name)`` is unique (rows of other
    observation types have NULLs there and never collide).
    """

    __mapper_args__ = {"polymorphic_identity": "dvo_observation"}

    region: orm.Mapped[str | None] = orm.mapped_column(
        use_existing_column=True, comment="DVO region directory, e.g. n0000"
    )
    catalog_table: orm.Mapped[str | None] = orm.mapped_column(
        use_existing_column=True, comment="DVO catalog table (SkyTable name), e.g. n0000/0148"
    )
    filter_name: orm.Mapped[str | None] = orm.mapped_column(
        use_existing_column=True, comment="Filter of the measurements, e.g. g"
    )


# A single-table subclass cannot carry __table_args__: the constraint goes on the shared table.
Observation.__table__.append_constraint(sa.UniqueConstraint("catalog_table", "instrument_id", "filter_name"))


_FLAG_WORDS = Int32Array()


class _UnsignedFlagsMixin:
    """Bit helpers for 32-bit flag words stored as int32 but meant as uint32."""

    @property
    def unsigned(self) -> npt.NDArray[np.uint32]:
        """The flag words as uint32 (a view of the loaded int32 array, no copy)."""
        # to_numpy also takes what was assigned but not yet written: lists, uint32 arrays
        return _FLAG_WORDS.to_numpy(self.quality_flags).view(np.uint32)  # type: ignore[attr-defined]

    def mask(self, bits: int) -> npt.NDArray[np.bool_]:
        """Per cadence: is any of `bits` set? `bits` is taken as unsigned (``0x80000000`` works)."""
        if not 0 <= bits <= 0xFFFFFFFF:
            raise ValueError(f"bits must be a 32-bit unsigned mask, got {bits:#x}")
        return (self.unsigned & np.uint32(bits)) != 0

    def bit(self, n: int) -> npt.NDArray[np.bool_]:
        """Per cadence: is bit `n` (0 = least significant, 31 = most) set?"""
        if not 0 <= n < 32:
            raise ValueError(f"bit number must be in 0..31, got {n}")
        return self.mask(1 << n)


class PhotFlagsArray(_UnsignedFlagsMixin, QualityFlagArray):
    """DVO ``PHOT_FLAGS`` of one target's measurements, one word per cadence (0 where it was not measured).

    In the IPP, PHOT_FLAGS are the flags "supplied by the photometry program": the quality bits the IPP
    reduction (psphot) sets on each detection -- saturation, defects, blends, poor PSF fits, ... -- copied
    into the ``.cpm`` measurement table. Which bits mean bad astrometry or photometry is camera-specific: the
    photcode's ``ASTROM_BAD_MASK``, ``ASTROM_POOR_MASK`` and ``PHOTOM_BAD_MASK`` (kept in the instrument's
    `properties`) say, e.g. ``flags.mask(photom_bad_mask)``.

    The words are unsigned in DVO and stored as their int32 bit pattern: use `unsigned`, `mask` and `bit`.
    """

    __mapper_args__ = {"polymorphic_identity": "dvo_phot_flags"}


class DBFlagsArray(_UnsignedFlagsMixin, QualityFlagArray):
    """DVO ``DB_FLAGS`` of one target's measurements, one word per cadence (0 where it was not measured).

    In the IPP, DB_FLAGS are the flags "supplied by analysis in database": set on each measurement by DVO's
    own calibration programs (relphot, relastro ...), e.g. whether the measurement was used in or rejected
    from the object's average photometry or astrometry.

    The words are unsigned in DVO and stored as their int32 bit pattern: use `unsigned`, `mask` and `bit`.
    """

    __mapper_args__ = {"polymorphic_identity": "dvo_db_flags"}
