"""Missions, their catalogs and the catalogued targets: Mission -> MissionCatalog -> Target."""

from __future__ import annotations

import decimal
import uuid
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import orm

from lcdb_schema.base import NAME_LENGTH, CreatedOnMixin, LCDBModel, NameAndDescriptionMixin

if TYPE_CHECKING:
    from astropy.time import TimeFromEpoch

    from lcdb_schema.observation import Observation
    from lcdb_schema.products import DataSet, QualityFlagArray, TargetSpecificTime


class Mission(LCDBModel, NameAndDescriptionMixin, CreatedOnMixin):
    """A space mission or survey program (TESS, Pan-STARRS ...): the top-level context of observations.

    Besides its catalogs, a mission defines its **time system**: the mission's time stamps count `time_unit`
    from the epoch `time_epoch` (given in `time_epoch_format`, on the `time_epoch_scale` time scale). TESS
    counts days from BJD 2457000 TDB (``btjd``); a DVO database counts seconds from JD 2440587.5 UTC (unix
    time). `register_time_format` teaches astropy that system under the name `time_format_name`, so that
    ``Time(values, format=mission.time_format_name)`` denotes the right instants.

    Deleting a mission deletes its catalogs, and with them their targets and the targets' data products
    (``ON DELETE CASCADE``, and in the ORM session).

    Examples
    --------
    >>> mission = Mission(name="TESS", description="Transiting Exoplanet Survey Satellite")
    """

    __tablename__ = "mission"

    id: orm.Mapped[uuid.UUID] = orm.mapped_column(primary_key=True, default=uuid.uuid4)
    name: orm.Mapped[str] = orm.mapped_column(
        sa.String(NAME_LENGTH), unique=True, comment="Unique mission name, e.g. TESS"
    )
    time_unit: orm.Mapped[str] = orm.mapped_column(comment="Unit of the mission's time stamps, e.g. day or s")
    time_epoch: orm.Mapped[decimal.Decimal] = orm.mapped_column(comment="Epoch the time stamps count from")
    time_epoch_scale: orm.Mapped[str] = orm.mapped_column(comment="Time scale of the epoch, e.g. tdb or utc")
    time_epoch_format: orm.Mapped[str] = orm.mapped_column(comment="astropy format of the epoch, e.g. jd")
    time_format_name: orm.Mapped[str] = orm.mapped_column(
        unique=True, comment="Name of the astropy time format of this mission, e.g. btjd"
    )

    catalogs: orm.Mapped[list[MissionCatalog]] = orm.relationship(
        back_populates="host_mission", cascade="all, delete-orphan", passive_deletes=True
    )

    def register_time_format(self) -> type[TimeFromEpoch]:
        """Register this mission's time system with astropy as format `time_format_name`; returns the class.

        Idempotent; re-registering after the mission's time columns changed replaces the old definition.
        """
        from lcdb_schema.timesystem import register_time_format

        return register_time_format(
            self.time_format_name,
            unit=self.time_unit,
            epoch=self.time_epoch,
            epoch_scale=self.time_epoch_scale,
            epoch_format=self.time_epoch_format,
        )

    def register_mission_time_epoch(self) -> type[TimeFromEpoch]:
        """Upstream LightcurveDB's name for `register_time_format`: the same registered class each call."""
        return self.register_time_format()


class MissionCatalog(LCDBModel, NameAndDescriptionMixin, CreatedOnMixin):
    """A catalog of astronomical objects a mission observes, e.g. the TESS Input Catalog (TIC).

    It is the namespace of target identifiers: a TIC id means something only within the TIC. The name is
    unique within the mission (two missions may each have an "input catalog"). Deleting a catalog deletes its
    targets and their data products.
    """

    __tablename__ = "mission_catalog"
    __table_args__ = (sa.UniqueConstraint("host_mission_id", "name"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    host_mission_id: orm.Mapped[uuid.UUID] = orm.mapped_column(sa.ForeignKey("mission.id", ondelete="CASCADE"))
    name: orm.Mapped[str] = orm.mapped_column(
        sa.String(NAME_LENGTH), comment="Catalog name, unique within its mission, e.g. TIC"
    )

    host_mission: orm.Mapped[Mission] = orm.relationship(back_populates="catalogs")
    targets: orm.Mapped[list[Target]] = orm.relationship(
        back_populates="catalog", cascade="all, delete-orphan", passive_deletes=True
    )


class Target(LCDBModel):
    """One astronomical object (a star, a galaxy, ...) of a catalog, identified by its catalog number.

    `name` is the catalog's own numeric identifier (the TIC id for TESS; ``CAT_ID * 2**32 + OBJ_ID`` for a
    DVO object); ``(catalog_id, name)`` is unique.

    The primary key is ``bigint``, a deliberate widening of the seed's ``int``: surveys such as Pan-STARRS
    catalog billions of objects, more than an int32 can number.

    Deleting a target deletes its lightcurves (`datasets`), its `target_specific_times` and its
    target-specific `quality_flag_arrays` (the seed lists only the datasets; without the other two, deleting
    any observed target would fail on their foreign keys).
    """

    __tablename__ = "target"
    __table_args__ = (sa.UniqueConstraint("catalog_id", "name"),)

    id: orm.Mapped[int] = orm.mapped_column(sa.BigInteger, primary_key=True)
    catalog_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("mission_catalog.id", ondelete="CASCADE", onupdate="CASCADE")
    )
    name: orm.Mapped[int] = orm.mapped_column(
        sa.BigInteger, index=True, comment="Catalog identifier, e.g. the TIC id"
    )

    catalog: orm.Mapped[MissionCatalog] = orm.relationship(back_populates="targets")
    datasets: orm.Mapped[list[DataSet]] = orm.relationship(
        back_populates="target", cascade="all, delete-orphan", passive_deletes=True
    )
    target_specific_times: orm.Mapped[list[TargetSpecificTime]] = orm.relationship(
        back_populates="target", cascade="all, delete-orphan", passive_deletes=True
    )
    quality_flag_arrays: orm.Mapped[list[QualityFlagArray]] = orm.relationship(
        back_populates="target", cascade="all, delete-orphan", passive_deletes=True
    )
    observations: orm.Mapped[list[Observation]] = orm.relationship(
        "Observation",
        secondary=lambda: _observed_pairs(),
        primaryjoin=lambda: Target.id == orm.foreign(_observed_pairs().c.target_id),
        secondaryjoin=lambda: _observation_id() == orm.foreign(_observed_pairs().c.observation_id),
        viewonly=True,
        order_by="Observation.id",
    )
    """Observations holding data for this target (read-only): those with a target-specific time series or
    a lightcurve of it."""


def _observed_pairs() -> sa.Subquery:
    from lcdb_schema.products import target_observation_pairs

    return target_observation_pairs()


def _observation_id() -> sa.ColumnElement[int]:
    from lcdb_schema.observation import Observation

    return Observation.__table__.c.id
