"""Alembic: an empty database upgrades to head, the result equals the models, `lcdb db upgrade` works and
is idempotent, concurrent upgrades are safe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from lcdb_schema.database import make_engine
from lcdb_schema.migrations import (
    VERSION_TABLE,
    alembic_config,
    current_revision,
    head_revision,
    upgrade_database,
)

PACKAGE_TABLES = {
    "mission", "mission_catalog", "target", "instrument", "observation", "fits_frame", "photometric_source",
    "detrending_method", "processing_group", "data_set", "target_specific_time", "quality_flag_array",
}

# The comparison runs in a fresh interpreter that imports only lcdb_schema: other test modules of this
# process (test_seed_examples) map the seed's example subclasses, which add columns and tables to
# LCDBModel.metadata that no migration creates -- and mapped classes cannot be unmapped.
COMPARE = textwrap.dedent("""
    import json, sys
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from lcdb_schema import LCDBModel
    from lcdb_schema.database import make_engine
    from lcdb_schema.migrations import configure_kwargs

    opts = configure_kwargs()
    opts.pop("include_object")  # strict: a table the models lack counts as a difference too
    engine = make_engine(sys.argv[1])
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts=opts), LCDBModel.metadata)
    print(json.dumps({"tables": sorted(LCDBModel.metadata.tables), "diffs": [repr(d) for d in diffs]}))
""")


def run_python(code: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                          timeout=120)


def table_oids(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT relname, oid::int FROM pg_class WHERE relnamespace = 'public'::regnamespace "
                "AND relkind = 'r'"
            ))
            return dict(rows.all())
    finally:
        engine.dispose()


def test_empty_database_upgrades_to_head_and_equals_the_models(database_url):
    assert current_revision(database_url) is None
    upgrade_database(database_url)
    assert current_revision(database_url) == head_revision() == "0002"
    assert set(table_oids(database_url)) == PACKAGE_TABLES | {VERSION_TABLE}

    result = run_python(COMPARE, database_url)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report["tables"]) == PACKAGE_TABLES
    assert report["diffs"] == []


def test_migrated_constraints_are_named_and_nulls_not_distinct(database_url):
    upgrade_database(database_url)  # no-op if the previous test ran
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            unnamed = conn.execute(sa.text(
                "SELECT conname FROM pg_constraint WHERE connamespace = 'public'::regnamespace "
                "AND conname !~ '^(pk|uq|fk|ck)_'"
            )).scalars().all()
            nnd = conn.execute(sa.text(
                "SELECT c.conname FROM pg_constraint c JOIN pg_index i ON i.indexrelid = c.conindid "
                "WHERE i.indnullsnotdistinct ORDER BY 1"
            )).scalars().all()
            defaults = dict(conn.execute(sa.text(
                "SELECT table_name || '.' || column_name, column_default FROM information_schema.columns "
                "WHERE table_schema = 'public' AND column_name IN ('created_on', 'properties')"
            )).all())
    finally:
        engine.dispose()
    assert unnamed == [f"{VERSION_TABLE}_pkc"]  # Alembic names its own table's key
    assert nnd == ["uq_instrument_parent_id_name", "uq_quality_flag_array_type_observation_id_target_id"]
    assert defaults == {
        "mission.created_on": "now()", "mission_catalog.created_on": "now()", "fits_frame.created_on": "now()",
        "quality_flag_array.created_on": "now()", "instrument.properties": "'{}'::jsonb",
    }


def test_downgrade_to_base_and_up_again(make_database):
    from alembic import command

    url = make_database("schema_downgrade")
    upgrade_database(url)
    command.downgrade(alembic_config(url), "base")
    assert set(table_oids(url)) == {VERSION_TABLE}
    upgrade_database(url)
    assert set(table_oids(url)) == PACKAGE_TABLES | {VERSION_TABLE}


def test_lcdb_db_upgrade_command_twice(make_database):
    url = make_database("schema_cli")
    # trust authentication ignores the password; it must still never be printed
    secret_url = make_url(url).set(password="s3cr3t-pw").render_as_string(hide_password=False)
    env = {**os.environ, "LCDB_DATABASE_URL": secret_url}
    command = [sys.executable, "-m", "lcdb_pipeline.cli", "db", "upgrade"]

    first = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    assert current_revision(url) == head_revision()
    oids = table_oids(url)

    second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert second.returncode == 0, second.stderr
    assert table_oids(url) == oids  # nothing dropped or recreated
    for run in (first, second):
        assert "s3cr3t-pw" not in run.stdout + run.stderr


def test_concurrent_upgrades_are_safe(make_database):
    """Several processes upgrading the same empty database at once: one migrates, the others wait on the
    advisory lock and find it done."""
    url = make_database("schema_concurrent")
    code = "import sys; from lcdb_schema.migrations import upgrade_database; upgrade_database(sys.argv[1])"
    procs = [subprocess.Popen([sys.executable, "-c", code, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert all(rc == 0 for rc, _ in results), results
    assert current_revision(url) == head_revision()
    assert set(table_oids(url)) == PACKAGE_TABLES | {VERSION_TABLE}


def test_alembic_config_needs_no_ini_file():
    cfg = alembic_config()
    assert cfg.config_file_name is None
    assert os.path.isfile(os.path.join(cfg.get_main_option("script_location"), "env.py"))


@pytest.mark.parametrize("path", ["env.py", "script.py.mako", "versions/0001_initial.py"])
def test_migration_files_are_package_data(path):
    """pyproject's package-data globs must ship every file Alembic needs at run time."""
    import fnmatch
    import tomllib

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "pyproject.toml"), "rb") as f:
        globs = tomllib.load(f)["tool"]["setuptools"]["package-data"]["lcdb_schema"]
    assert any(fnmatch.fnmatch(f"migrations/{path}", g) for g in globs), (path, globs)
