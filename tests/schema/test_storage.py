"""Column storage strategies (which SQLAlchemy's DDL cannot express): the models (`create_all`) and the
migrations give every column the same one, and the float arrays are EXTERNAL."""

from __future__ import annotations

import sqlalchemy as sa

from lcdb_schema import LCDBModel
from lcdb_schema.database import make_engine
from lcdb_schema.migrations import upgrade_database

STORAGE_QUERY = sa.text("""
    SELECT c.relname || '.' || a.attname, a.attstorage FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
      AND c.relname = ANY(:tables)
""")


def _storage(url: str) -> dict[str, str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(STORAGE_QUERY, {"tables": sorted(LCDBModel.metadata.tables)}).all())
    finally:
        engine.dispose()


def test_models_and_migrations_agree_on_column_storage(make_database):
    migrated, created = make_database("storage_migrated"), make_database("storage_created")
    upgrade_database(migrated)
    engine = make_engine(created)
    try:
        LCDBModel.metadata.create_all(engine)
    finally:
        engine.dispose()
    by_migration, by_models = _storage(migrated), _storage(created)
    # (other test modules may have mapped the seed's example subclasses, adding columns no migration makes)
    assert {column: by_models.get(column) for column in by_migration} == by_migration
    external = sorted(k for k, v in by_migration.items() if v == "e")
    assert external == ["data_set.errors", "data_set.values", "target_specific_time.barycentric_julian_dates"]
    assert by_migration["quality_flag_array.quality_flags"] == "x"  # mostly zeros: compressed is right
