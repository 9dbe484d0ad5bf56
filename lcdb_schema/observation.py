"""Observations (polymorphic, one table) and the FITS frames they are made of."""

from __future__ import annotations

import pathlib
import uuid
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy import orm

from lcdb_schema.base import CreatedOnMixin, LCDBModel
from lcdb_schema.types import Int64Array, IntList, PathType

if TYPE_CHECKING:
    from lcdb_schema.instrument import Instrument
    from lcdb_schema.mission import Target
    from lcdb_schema.products import DataSet, QualityFlagArray, TargetSpecificTime


class Observation(LCDBModel):
    """A set of exposures an instrument took, on a common grid of cadences.

    `cadence_reference` is that grid: the time-ordered cadence numbers (or exposure times, in the mission's
    time system) every per-target array of the observation is aligned to -- element ``i`` of a lightcurve's
    `DataSet.values` was measured at cadence ``cadence_reference[i]``.

    Observation is polymorphic with **single-table inheritance** on `type`: mission-specific subclasses
    (``TESSObservation``, `DVOObservation`, ...) add their columns to the same ``observation`` table. Add
    mission fields by subclassing, never by changing this class::

        class TESSObservation(Observation):
            __mapper_args__ = {"polymorphic_identity": "tess_observation"}
            sector: orm.Mapped[int]
            orbit_number: orm.Mapped[int]

    Deleting an observation deletes its FITS frames, target-specific times, datasets and quality-flag arrays
    (in the database, ``ON DELETE CASCADE``, and in the ORM session). Deleting its instrument deletes it.
    """

    __tablename__ = "observation"
    __mapper_args__ = {"polymorphic_on": "type", "polymorphic_identity": "observation"}

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    type: orm.Mapped[str] = orm.mapped_column(comment="Polymorphic discriminator: the observation subclass")
    cadence_reference: orm.Mapped[npt.NDArray[np.int64]] = orm.mapped_column(
        Int64Array, comment="Time-ordered cadences all per-target arrays are aligned to"
    )
    instrument_id: orm.Mapped[uuid.UUID] = orm.mapped_column(
        sa.ForeignKey("instrument.id", ondelete="CASCADE"), index=True
    )

    instrument: orm.Mapped[Instrument] = orm.relationship(back_populates="observations")
    fits_frames: orm.Mapped[list[FITSFrame]] = orm.relationship(
        back_populates="observation", cascade="all, delete-orphan", passive_deletes=True
    )
    target_specific_times: orm.Mapped[list[TargetSpecificTime]] = orm.relationship(
        back_populates="observation", cascade="all, delete-orphan", passive_deletes=True
    )
    datasets: orm.Mapped[list[DataSet]] = orm.relationship(
        back_populates="observation", cascade="all, delete-orphan", passive_deletes=True
    )
    quality_flag_arrays: orm.Mapped[list[QualityFlagArray]] = orm.relationship(
        back_populates="observation", cascade="all, delete-orphan", passive_deletes=True
    )
    targets: orm.Mapped[list[Target]] = orm.relationship(
        "Target",
        secondary=lambda: _observed_pairs(),
        primaryjoin=lambda: Observation.id == orm.foreign(_observed_pairs().c.observation_id),
        secondaryjoin=lambda: _target_id() == orm.foreign(_observed_pairs().c.target_id),
        viewonly=True,
        order_by="Target.id",
    )
    """Targets with data in this observation (read-only; the mirror of `Target.observations`)."""


def _observed_pairs() -> sa.Subquery:
    from lcdb_schema.products import target_observation_pairs

    return target_observation_pairs()


def _target_id() -> sa.ColumnElement[int]:
    from lcdb_schema.mission import Target

    return Target.__table__.c.id


class FITSFrame(LCDBModel, CreatedOnMixin):
    """The metadata of one FITS file (one exposure, or one frame of it) belonging to an observation.

    The columns mirror the mandatory FITS primary-header keywords: `simple` (``SIMPLE``: conforms to the
    standard), `bitpix` (``BITPIX``: bits per pixel, negative for floats), `naxis` and `naxis_values`
    (``NAXIS`` and ``NAXIS1..n``), `extended` (``EXTEND``: extensions may follow), `bscale`/`bzero`
    (physical = ``BZERO + BSCALE * stored``). `cadence` is the frame's time-ordered number.

    Polymorphic on `type` (identity ``basefits``) so that science, calibration ... frames can be
    specialised; ``(type, cadence)`` is unique.
    """

    __tablename__ = "fits_frame"
    __table_args__ = (sa.UniqueConstraint("type", "cadence"),)
    __mapper_args__ = {"polymorphic_on": "type", "polymorphic_identity": "basefits"}

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    type: orm.Mapped[str] = orm.mapped_column(comment="Polymorphic discriminator: the frame subclass")
    cadence: orm.Mapped[int] = orm.mapped_column(sa.BigInteger, comment="Time-ordered frame number")
    observation_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("observation.id", ondelete="CASCADE"), index=True
    )
    simple: orm.Mapped[bool] = orm.mapped_column(default=True, server_default=sa.true(), comment="SIMPLE")
    bitpix: orm.Mapped[int] = orm.mapped_column(comment="BITPIX")
    naxis: orm.Mapped[int] = orm.mapped_column(comment="NAXIS")
    naxis_values: orm.Mapped[list[int]] = orm.mapped_column(IntList, comment="NAXIS1, NAXIS2, ...")
    extended: orm.Mapped[bool] = orm.mapped_column(default=False, server_default=sa.false(), comment="EXTEND")
    bscale: orm.Mapped[float] = orm.mapped_column(default=1.0, server_default=sa.text("1.0"), comment="BSCALE")
    bzero: orm.Mapped[float] = orm.mapped_column(default=0.0, server_default=sa.text("0.0"), comment="BZERO")
    file_path: orm.Mapped[pathlib.Path | None] = orm.mapped_column(PathType, comment="Path of the FITS file")

    observation: orm.Mapped[Observation] = orm.relationship(back_populates="fits_frames")
