"""The declarative base of LightcurveDB and the mixins its models share."""

from __future__ import annotations

import datetime
import decimal
import pathlib
import uuid
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects import postgresql

from lcdb_schema.types import PathType

#: Every constraint and index gets a deterministic name, so migrations can address them and two databases
#: built from the same models are identical.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: `Column.info` key for a PostgreSQL column storage strategy (``ALTER TABLE … ALTER COLUMN … SET STORAGE``),
#: which SQLAlchemy's DDL cannot express: `create_all` applies it right after ``CREATE TABLE`` (see
#: `_apply_column_storage`), migrations apply it explicitly, and a test checks both agree.
STORAGE = "postgresql_storage"


class LCDBModel(orm.DeclarativeBase):
    """Base class of every LightcurveDB model (one shared `MetaData`: `LCDBModel.metadata`).

    Subclassing notes (they make the seed's extension examples work as written):

    * A single-table subclass (e.g. ``TESSObservation(Observation)`` with no ``__tablename__``) adds its
      columns to the parent's table. Those columns are made nullable, because rows of every *other* type
      share the table and have no value for them -- a ``Mapped[int]`` NOT NULL column would reject them.
    * If two single-table subclasses declare the same attribute name with a bare annotation (``filter_name:
      Mapped[str]`` on both an HST and the DVO observation), the second one maps the column that already
      exists instead of failing with a conflict; the two declarations must agree on its type.
    """

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict: postgresql.JSONB,
        dict[str, Any]: postgresql.JSONB,
        uuid.UUID: sa.Uuid,
        decimal.Decimal: sa.Numeric,
        datetime.datetime: sa.DateTime(timezone=True),
        pathlib.Path: PathType,
        str: sa.String,
        float: sa.Double,
    }

    def __init_subclass__(cls, **kwargs: Any) -> None:
        parent_table = _single_table_parent(cls)
        if parent_table is None:
            super().__init_subclass__(**kwargs)
            return
        # Bare annotations naming a column the shared table already has: map that column.
        for name in cls.__dict__.get("__annotations__", {}):
            if name not in cls.__dict__ and name in parent_table.c:
                setattr(cls, name, orm.mapped_column(use_existing_column=True))
        nullable_before = {column.key: column.nullable for column in parent_table.c}
        super().__init_subclass__(**kwargs)
        for column in parent_table.c:
            # new columns: nullable; reused ones: as they were (a `Mapped[str]` would tighten them)
            column.nullable = nullable_before.get(column.key, True)

    def __repr__(self) -> str:
        mapper = sa.inspect(type(self))
        keys = [c.key for c in mapper.primary_key]
        for extra in ("type", "name"):
            if extra in mapper.columns and extra not in keys:
                keys.append(extra)
        state = sa.inspect(self)
        shown = ", ".join(
            f"{k}={state.dict[k]!r}" for k in keys if k in state.dict
        )
        return f"{type(self).__name__}({shown})"


def _single_table_parent(cls: type) -> sa.Table | None:
    """The table a class inherits without defining its own (single-table inheritance), else None."""
    if cls.__dict__.get("__abstract__") or "__tablename__" in cls.__dict__ or "__table__" in cls.__dict__:
        return None
    table = getattr(cls, "__table__", None)
    return table if isinstance(table, sa.Table) else None


#: Length limit of the mixin's `name` (upstream LightcurveDB's ``String(64)``).
NAME_LENGTH = 64


class NameAndDescriptionMixin:
    """A human-readable name (at most 64 characters) and a free-text description, both required -- as in
    upstream LightcurveDB, where ``description`` is a NOT NULL column of the mixin.

    Uniqueness is decided per model (a mission's name is unique, a catalog's per mission), so the mixin
    itself declares no constraint.
    """

    name: orm.Mapped[str] = orm.mapped_column(sa.String(NAME_LENGTH), comment="Human-readable name")
    description: orm.Mapped[str] = orm.mapped_column(sa.Text, comment="Free-text description")


class CreatedOnMixin:
    """When the row was inserted, set by the database server (timezone-aware)."""

    created_on: orm.Mapped[datetime.datetime] = orm.mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), comment="Row creation time (server clock)"
    )


@sa.event.listens_for(LCDBModel.metadata, "after_create")
def _apply_column_storage(target: sa.MetaData, connection: sa.Connection, tables=(), **kw: Any) -> None:
    """``SET STORAGE`` for the columns whose `info` names one (e.g. EXTERNAL for incompressible float arrays)."""
    quote = connection.dialect.identifier_preparer
    for table in tables:
        for column in table.columns:
            storage = column.info.get(STORAGE)
            if storage:
                connection.execute(sa.text(
                    f"ALTER TABLE {quote.format_table(table)} ALTER COLUMN {quote.quote(column.name)} "
                    f"SET STORAGE {storage}"
                ))
