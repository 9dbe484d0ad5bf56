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

    Names may repeat, also among siblings (as in upstream LightcurveDB); `query_for_instrument` finds them
    by name. Deleting an instrument deletes its observations (and their products). Through the ORM session
    its children are kept and become top-level instruments (``parent_id`` set to NULL); in plain SQL
    (``DELETE FROM instrument``) they are deleted with it (``ON DELETE CASCADE``) -- upstream's rules both.

    Examples
    --------
    >>> camera = Instrument(name="TESS Camera 1")
    >>> ccd = Instrument(name="CCD 1", parent=camera)
    """

    __tablename__ = "instrument"

    id: orm.Mapped[uuid.UUID] = orm.mapped_column(primary_key=True, default=uuid.uuid4)
    name: orm.Mapped[str] = orm.mapped_column(comment="Instrument name, e.g. Camera 1 or CCD 2")
    properties: orm.Mapped[dict[str, Any]] = orm.mapped_column(
        postgresql.JSONB,
        default=dict,
        server_default=sa.text("'{}'::jsonb"),
        comment="Instrument-specific properties and metadata",
    )
    parent_id: orm.Mapped[uuid.UUID | None] = orm.mapped_column(
        sa.ForeignKey("instrument.id", ondelete="CASCADE"), index=True
    )

    parent: orm.Mapped[Instrument | None] = orm.relationship(back_populates="children", remote_side=[id])
    children: orm.Mapped[list[Instrument]] = orm.relationship(back_populates="parent")
    observations: orm.Mapped[list[Observation]] = orm.relationship(
        back_populates="instrument", cascade="all, delete-orphan", passive_deletes=True
    )

    @classmethod
    def query_for_instrument(cls, name: str, parent_name: str | None = None) -> sa.Select[tuple[Instrument]]:
        """A SELECT of the instruments called `name`: children of an instrument called `parent_name`, or
        top-level instruments when `parent_name` is not given (upstream LightcurveDB's method)."""
        query = sa.select(cls).where(cls.name == name)
        if not parent_name:
            return query.where(cls.parent_id.is_(None))
        parent = orm.aliased(cls, name="parent_instrument")
        return query.join(parent, cls.parent_id == parent.id).where(parent.name == parent_name)
