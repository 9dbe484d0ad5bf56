"""Upstream LightcurveDB's constraints, cascades and nullability; lcdb's DVO instrument registry.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

Brings a 0002 database to the rules of upstream LightcurveDB's models (mit-kavli-institute/lightcurvedb,
``src/lightcurvedb/models``, July 2025; docs/schema.md lists each one):

* ``name`` of mission, mission_catalog, photometric_source, detrending_method, processing_group is
  ``varchar(64)`` and their ``description`` NOT NULL (upstream's NameAndDescriptionMixin). NULL descriptions
  become ''; a longer name stops the upgrade with the rows to shorten.
* a catalog name is unique per mission, not globally; deleting a mission deletes its catalogs, deleting a
  catalog its targets (``ON DELETE CASCADE``; target.catalog_id also ``ON UPDATE CASCADE``).
* instrument names may repeat (no unique (parent_id, name)); deleting an instrument deletes its children
  and observations (``ON DELETE CASCADE``); ``instrument.parent_id`` is indexed.
* photometric_source / detrending_method names may repeat; data_set (target_id, observation_id,
  processing_group_id) and target_specific_time (target_id, observation_id) are no longer unique -- their
  ``target_id`` gets the index upstream has instead.
* ``dvo_instrument`` (lcdb's own table) records which instruments lcdb made from DVO photcodes, by
  (camera, chip), so reloads keep instrument ids without a unique key on instrument names. It is filled with
  the existing instruments lcdb made: roots and their children whose properties hold ``photcodes``.

Downgrade restores the 0002 constraints; it fails if rows now violate them (repeated names, duplicates).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME_LENGTH = 64
#: Tables of the name-and-description mixin -> (comment of `name` at 0002, comment at 0003).
MIXIN_NAMES = {
    "mission": ("Unique mission name, e.g. TESS", "Unique mission name, e.g. TESS"),
    "mission_catalog": ("Unique catalog name, e.g. TIC", "Catalog name, unique within its mission, e.g. TIC"),
    "photometric_source": ("Unique name of the photometric method", "Human-readable name"),
    "detrending_method": ("Unique name of the detrending method", "Human-readable name"),
    "processing_group": ("Name of the processing group", "Human-readable name"),
}
#: Foreign keys whose ON DELETE / ON UPDATE change: name -> (table, column, referred table).
FOREIGN_KEYS = {
    "fk_mission_catalog_host_mission_id_mission": ("mission_catalog", "host_mission_id", "mission"),
    "fk_target_catalog_id_mission_catalog": ("target", "catalog_id", "mission_catalog"),
    "fk_instrument_parent_id_instrument": ("instrument", "parent_id", "instrument"),
    "fk_observation_instrument_id_instrument": ("observation", "instrument_id", "instrument"),
}
UPSTREAM_ACTIONS = {"fk_target_catalog_id_mission_catalog": {"ondelete": "CASCADE", "onupdate": "CASCADE"}}
#: 0002's unique keys upstream does not have -> (table, columns); the product tables get target_id indexes.
DROPPED_UNIQUE = {
    "uq_photometric_source_name": ("photometric_source", ["name"]),
    "uq_detrending_method_name": ("detrending_method", ["name"]),
    "uq_data_set_target_id_observation_id_processing_group_id": (
        "data_set", ["target_id", "observation_id", "processing_group_id"]),
    "uq_target_specific_time_target_id_observation_id": ("target_specific_time", ["target_id", "observation_id"]),
}
TARGET_INDEXES = {"ix_data_set_target_id": "data_set", "ix_target_specific_time_target_id": "target_specific_time"}


def _refuse_long_names() -> None:
    connection = op.get_bind()
    for table in MIXIN_NAMES:
        long_names = connection.execute(sa.text(
            f"SELECT name FROM {table} WHERE length(name) > :n ORDER BY name LIMIT 5"), {"n": NAME_LENGTH}
        ).scalars().all()
        if long_names:
            raise RuntimeError(
                f"cannot upgrade to revision 0003: {table}.name must hold at most {NAME_LENGTH} characters "
                f"(upstream LightcurveDB's limit), but these are longer: {long_names}; shorten them and upgrade again"
            )


def _mixin_columns(upgrade: bool) -> None:
    for table, (old_comment, new_comment) in MIXIN_NAMES.items():
        if upgrade:
            op.execute(f"UPDATE {table} SET description = '' WHERE description IS NULL")
        op.alter_column(table, "description", nullable=not upgrade, existing_type=sa.Text(),
                        existing_comment="Free-text description")
        op.alter_column(
            table, "name", existing_nullable=False,
            type_=sa.String(NAME_LENGTH) if upgrade else sa.String(),
            existing_type=sa.String() if upgrade else sa.String(NAME_LENGTH),
            comment=new_comment if upgrade else old_comment,
            existing_comment=old_comment if upgrade else new_comment,
        )


def _foreign_keys(upgrade: bool) -> None:
    for name, (table, column, referred) in FOREIGN_KEYS.items():
        actions = UPSTREAM_ACTIONS.get(name, {"ondelete": "CASCADE"}) if upgrade else {}
        op.drop_constraint(op.f(name), table, type_="foreignkey")
        op.create_foreign_key(op.f(name), table, referred, [column], ["id"], **actions)


def _create_dvo_instrument() -> None:
    op.create_table(
        "dvo_instrument",
        sa.Column("instrument_id", sa.Uuid(), nullable=False),
        sa.Column("camera", sa.String(), nullable=False, comment="Camera or bare reference name, e.g. GPC1"),
        sa.Column("chip", sa.String(), nullable=True, comment="Chip of the camera, e.g. XY01; NULL for the camera"),
        sa.ForeignKeyConstraint(["instrument_id"], ["instrument.id"],
                                name=op.f("fk_dvo_instrument_instrument_id_instrument"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("instrument_id", name=op.f("pk_dvo_instrument")),
        sa.UniqueConstraint("camera", "chip", name=op.f("uq_dvo_instrument_camera_chip"),
                            postgresql_nulls_not_distinct=True),
    )
    # 0002's unique (parent_id, name) NULLS NOT DISTINCT makes (camera, chip) unique here.
    op.execute(
        "INSERT INTO dvo_instrument (instrument_id, camera, chip) "
        "SELECT i.id, i.name, NULL FROM instrument i WHERE i.parent_id IS NULL AND i.properties ? 'photcodes' "
        "UNION ALL "
        "SELECT c.id, p.name, c.name FROM instrument c JOIN instrument p ON p.id = c.parent_id "
        "WHERE p.parent_id IS NULL AND p.properties ? 'photcodes' AND c.properties ? 'photcodes'"
    )


def upgrade() -> None:
    _refuse_long_names()
    _mixin_columns(upgrade=True)
    op.drop_constraint(op.f("uq_mission_catalog_name"), "mission_catalog", type_="unique")
    op.create_unique_constraint(op.f("uq_mission_catalog_host_mission_id_name"), "mission_catalog",
                                ["host_mission_id", "name"])
    op.drop_index(op.f("ix_mission_catalog_host_mission_id"), table_name="mission_catalog")  # the key leads
    _create_dvo_instrument()
    op.drop_constraint(op.f("uq_instrument_parent_id_name"), "instrument", type_="unique")
    op.create_index(op.f("ix_instrument_parent_id"), "instrument", ["parent_id"], unique=False)
    _foreign_keys(upgrade=True)
    for name, (table, _columns) in DROPPED_UNIQUE.items():
        op.drop_constraint(op.f(name), table, type_="unique")
    for name, table in TARGET_INDEXES.items():
        op.create_index(op.f(name), table, ["target_id"], unique=False)


def downgrade() -> None:
    for name, table in TARGET_INDEXES.items():
        op.drop_index(op.f(name), table_name=table)
    for name, (table, columns) in DROPPED_UNIQUE.items():
        op.create_unique_constraint(op.f(name), table, columns)
    _foreign_keys(upgrade=False)
    op.drop_index(op.f("ix_instrument_parent_id"), table_name="instrument")
    op.create_unique_constraint(op.f("uq_instrument_parent_id_name"), "instrument", ["parent_id", "name"],
                                postgresql_nulls_not_distinct=True)
    op.drop_table("dvo_instrument")
    op.create_index(op.f("ix_mission_catalog_host_mission_id"), "mission_catalog", ["host_mission_id"],
                    unique=False)
    op.drop_constraint(op.f("uq_mission_catalog_host_mission_id_name"), "mission_catalog", type_="unique")
    op.create_unique_constraint(op.f("uq_mission_catalog_name"), "mission_catalog", ["name"])
    _mixin_columns(upgrade=False)
