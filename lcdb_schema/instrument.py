"""Instruments: a self-referential tree of telescopes, cameras and detectors."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects import postgresql

from lcdb_schema.base import LCDBModel

if TYPE_CHECKING:
    from lcdb_schema.observation import Observation


class Instrument(LCDBModel):
    """A scientific instrument or an assembly of instruments that takes observations.

    Instruments form a tree: a physical device (a CCD, a chip of GPC1) has an assembly as `parent` (a
    camera), which may itself sit in a larger assembly; top-level instruments have no parent. `properties`
    holds instrument-specific metadata as JSON (for a DVO photcode: zero point, extinction, masks ...).

    ``(parent_id, name)`` is unique with NULLs not distinct -- an addition to the seed: it makes a name
    unique among siblings (and among top-level instruments), so reference data can be upserted idempotently.

    Examples
    --------
    >>> camera = Instrument(name="TESS Camera 1")
    >>> ccd = Instrument(name="CCD 1", parent=camera)
    """

    __tablename__ = "instrument"
    __table_args__ = (sa.UniqueConstraint("parent_id", "name", postgresql_nulls_not_distinct=True),)

    id: orm.Mapped[uuid.UUID] = orm.mapped_column(primary_key=True, default=uuid.uuid4)
    name: orm.Mapped[str] = orm.mapped_column(comment="Instrument name, e.g. Camera 1 or CCD 2")
    properties: orm.Mapped[dict[str, Any]] = orm.mapped_column(
        postgresql.JSONB,
        default=dict,
        server_default=sa.text("'{}'::jsonb"),
        comment="Instrument-specific properties and metadata",
    )
    parent_id: orm.Mapped[uuid.UUID | None] = orm.mapped_column(sa.ForeignKey("instrument.id"))

    parent: orm.Mapped[Instrument | None] = orm.relationship(back_populates="children", remote_side=[id])
    children: orm.Mapped[list[Instrument]] = orm.relationship(back_populates="parent")
    observations: orm.Mapped[list[Observation]] = orm.relationship(back_populates="instrument")
