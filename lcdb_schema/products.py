"""The data products: lightcurves (DataSet), per-target times and quality flags, aligned to cadences.

Every array here is aligned to its observation's `Observation.cadence_reference`: element ``i`` belongs to
cadence ``cadence_reference[i]``.

The float arrays (`DataSet.values`/`errors`, `TargetSpecificTime.barycentric_julian_dates`) use PostgreSQL
storage EXTERNAL: out of line when a row outgrows ~2 kB, never compressed — pglz wins nothing on float64
measurements and costs about half the write speed of long lightcurves (docs/benchmarks.md). Quality flags
(mostly zero) keep the default, compressed storage.

The ids of these tables (and of `Target`) are ``bigint``, a deliberate widening of the seed's ``int``: one
row per target and observation reaches billions for a survey such as Pan-STARRS, past int32's 2.1 billion.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy import orm

from lcdb_schema.base import STORAGE, CreatedOnMixin, LCDBModel
from lcdb_schema.types import Float64Array, Int32Array

if TYPE_CHECKING:
    from lcdb_schema.mission import Target
    from lcdb_schema.observation import Observation
    from lcdb_schema.processing import ProcessingGroup


class DataSet(LCDBModel):
    """One lightcurve: the brightness of one target through one observation, made by one processing group.

    `values` are the photometric measurements (flux or magnitude) and `errors` their uncertainties, both
    aligned to the observation's cadences (NaN where there is no measurement). This is where the science
    data lives; each row is one complete lightcurve.

    As in upstream LightcurveDB, nothing forbids two lightcurves of one target, observation and processing
    group; lcdb's loader writes one (it replaces a catalog table's rows in one transaction, docs/schema.md).
    """

    __tablename__ = "data_set"

    id: orm.Mapped[int] = orm.mapped_column(sa.BigInteger, primary_key=True)
    processing_group_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("processing_group.id", ondelete="CASCADE"), index=True
    )
    target_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("target.id", ondelete="CASCADE"), index=True)
    observation_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("observation.id", ondelete="CASCADE"), index=True
    )
    values: orm.Mapped[npt.NDArray[np.float64]] = orm.mapped_column(
        Float64Array, info={STORAGE: "EXTERNAL"},
        comment="Photometric measurements (flux or magnitude), one per cadence",
    )
    errors: orm.Mapped[npt.NDArray[np.float64] | None] = orm.mapped_column(
        Float64Array, info={STORAGE: "EXTERNAL"}, comment="Uncertainties of the values, one per cadence"
    )

    processing_group: orm.Mapped[ProcessingGroup] = orm.relationship(back_populates="datasets")
    target: orm.Mapped[Target] = orm.relationship(back_populates="datasets")
    observation: orm.Mapped[Observation] = orm.relationship(back_populates="datasets")


class TargetSpecificTime(LCDBModel):
    """The time stamps of an observation's cadences as seen from the solar-system barycentre, for one target.

    Light from a star reaches the Earth earlier or later than the barycentre by up to ~8.3 minutes depending
    on where the Earth is and where the star lies; `barycentric_julian_dates` (BJD, TDB scale) removes that,
    so it depends on the target's position -- hence a row per (target, observation) (lcdb writes one; as in
    upstream, the database does not forbid more).
    """

    __tablename__ = "target_specific_time"

    id: orm.Mapped[int] = orm.mapped_column(sa.BigInteger, primary_key=True)
    target_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("target.id", ondelete="CASCADE"), index=True)
    observation_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("observation.id", ondelete="CASCADE"), index=True
    )
    barycentric_julian_dates: orm.Mapped[npt.NDArray[np.float64]] = orm.mapped_column(
        Float64Array, info={STORAGE: "EXTERNAL"}, comment="BJD (TDB) of each cadence at the target's position"
    )

    target: orm.Mapped[Target] = orm.relationship(back_populates="target_specific_times")
    observation: orm.Mapped[Observation] = orm.relationship(back_populates="target_specific_times")


class QualityFlagArray(LCDBModel, CreatedOnMixin):
    """Bit-encoded quality information, one 32-bit word per cadence of an observation.

    Each bit of ``quality_flags[i]`` flags a condition at cadence ``i`` (a cosmic ray, saturation, a bad
    pixel ...); bit meanings depend on the mission and the `type`. With `target_id` NULL the flags are
    observation-wide; otherwise they concern one target.

    ``(type, observation_id, target_id)`` is unique with NULLs not distinct (PostgreSQL >= 15): at most one
    observation-wide array per type and observation.

    Polymorphic on `type` (identity ``base_quality_flag``). Subclasses document their bits and add helpers;
    both single-table subclasses (no ``__tablename__``) and joined-table subclasses (own table whose ``id``
    is a foreign key to ``quality_flag_array.id``) work. A joined-table subclass should declare that foreign
    key with ``ondelete="CASCADE"``, or deleting an observation or target in SQL will be refused.

    Examples
    --------
    >>> flags = QualityFlagArray(observation=obs, target=target,
    ...                          quality_flags=np.array([0, 1, 4, 5], dtype=np.int32))
    >>> cosmic_ray_mask = (flags.quality_flags & 1) != 0
    """

    __tablename__ = "quality_flag_array"
    __table_args__ = (
        sa.UniqueConstraint("type", "observation_id", "target_id", postgresql_nulls_not_distinct=True),
    )
    __mapper_args__ = {"polymorphic_on": "type", "polymorphic_identity": "base_quality_flag"}

    id: orm.Mapped[int] = orm.mapped_column(sa.BigInteger, primary_key=True)
    type: orm.Mapped[str] = orm.mapped_column(comment="Polymorphic discriminator and flag category")
    observation_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("observation.id", ondelete="CASCADE"), index=True
    )
    target_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("target.id", ondelete="CASCADE"),
        index=True,
        comment="The target the flags concern; NULL for observation-wide flags",
    )
    quality_flags: orm.Mapped[npt.NDArray[np.int32]] = orm.mapped_column(
        Int32Array, comment="One 32-bit flag word per cadence"
    )

    observation: orm.Mapped[Observation] = orm.relationship(back_populates="quality_flag_arrays")
    target: orm.Mapped[Target | None] = orm.relationship(back_populates="quality_flag_arrays")


@functools.cache
def target_observation_pairs() -> sa.Subquery:
    """The distinct (target_id, observation_id) pairs with a target-specific time series or a lightcurve.

    The link behind the read-only `Target.observations` / `Observation.targets` relationships. In both
    tables `target_id` and `observation_id` have their own index, so looking up one target's (or one
    observation's) pairs stays indexed.
    """
    tst = TargetSpecificTime.__table__
    ds = DataSet.__table__
    return sa.union(
        sa.select(tst.c.target_id, tst.c.observation_id),
        sa.select(ds.c.target_id, ds.c.observation_id),
    ).subquery("target_observation")
