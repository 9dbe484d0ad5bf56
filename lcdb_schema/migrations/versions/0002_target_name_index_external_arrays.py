"""Index target(name); EXTERNAL storage for the float arrays of data_set and target_specific_time.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21

* ``ix_target_name``: a lightcurve is looked up by its target's catalog number (``Target.name``) alone; the
  unique key (catalog_id, name) cannot serve that (its first column is the catalog).
* ``SET STORAGE EXTERNAL`` on data_set.values, data_set.errors and target_specific_time.barycentric_julian_dates:
  float64 measurements do not compress, and trying (pglz, on every row over ~2 kB) halves the COPY speed of
  long lightcurves. Affects rows written from now on; the models declare the same (`Column.info`
  ``postgresql_storage``, applied by `create_all`).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EXTERNAL = {"data_set": ("values", "errors"), "target_specific_time": ("barycentric_julian_dates",)}


def _storage(strategy: str) -> None:
    for table, columns in EXTERNAL.items():
        op.execute(f"ALTER TABLE {table} " + ", ".join(f'ALTER COLUMN "{c}" SET STORAGE {strategy}' for c in columns))


def upgrade() -> None:
    op.create_index(op.f("ix_target_name"), "target", ["name"], unique=False)
    _storage("EXTERNAL")


def downgrade() -> None:
    _storage("EXTENDED")
    op.drop_index(op.f("ix_target_name"), table_name="target")
