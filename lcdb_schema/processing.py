"""How lightcurves were made: photometric sources, detrending methods and their combinations."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import orm

from lcdb_schema.base import LCDBModel, NameAndDescriptionMixin

if TYPE_CHECKING:
    from lcdb_schema.products import DataSet


class PhotometricSource(LCDBModel, NameAndDescriptionMixin):
    """A way of extracting brightness from images: an aperture of some size, PSF fitting, ...

    Names are not unique (as in upstream LightcurveDB).

    Examples
    --------
    >>> aperture_2px = PhotometricSource(name="Aperture_2px", description="2 pixel radius aperture")
    """

    __tablename__ = "photometric_source"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)

    processing_groups: orm.Mapped[list[ProcessingGroup]] = orm.relationship(back_populates="photometric_source")


class DetrendingMethod(LCDBModel, NameAndDescriptionMixin):
    """An algorithm removing systematic (instrumental) trends from lightcurves, e.g. PDC-SAP, or a
    photometric calibration such as DVO's relative photometry. Names are not unique (as in upstream).

    Examples
    --------
    >>> pdc = DetrendingMethod(name="PDC-SAP", description="Pre-search Data Conditioning")
    """

    __tablename__ = "detrending_method"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)

    processing_groups: orm.Mapped[list[ProcessingGroup]] = orm.relationship(back_populates="detrending_method")


class ProcessingGroup(LCDBModel, NameAndDescriptionMixin):
    """One processing pipeline: a photometric source followed by a detrending method.

    Every lightcurve (`DataSet`) names the group that produced it, so several versions of the same target's
    lightcurve can coexist. ``(photometric_source_id, detrending_method_id)`` is unique. Deleting a group
    deletes its datasets.
    """

    __tablename__ = "processing_group"
    __table_args__ = (sa.UniqueConstraint("photometric_source_id", "detrending_method_id"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    photometric_source_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("photometric_source.id"))
    detrending_method_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("detrending_method.id"), index=True)

    photometric_source: orm.Mapped[PhotometricSource] = orm.relationship(back_populates="processing_groups")
    detrending_method: orm.Mapped[DetrendingMethod] = orm.relationship(back_populates="processing_groups")
    datasets: orm.Mapped[list[DataSet]] = orm.relationship(
        back_populates="processing_group", cascade="all, delete-orphan", passive_deletes=True
    )
