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
    "dvo_instrument",
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
    assert current_revision(database_url) == head_revision() == "0003"
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
    assert nnd == ["uq_dvo_instrument_camera_chip", "uq_quality_flag_array_type_observation_id_target_id"]
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


# ---- 0002 -> 0003: upstream LightcurveDB's constraints on a database holding data -----------------------

SEED_0002 = """
    INSERT INTO mission (id, name, description, time_unit, time_epoch, time_epoch_scale, time_epoch_format,
                         time_format_name)
    VALUES ('00000000-0000-0000-0000-00000000000a', 'Pan-STARRS1', NULL, 's', 2440587.5, 'utc', 'jd', 'dvo_unix');
    INSERT INTO mission_catalog (id, host_mission_id, name, description)
    VALUES (1, '00000000-0000-0000-0000-00000000000a', 'PS1 DVO', NULL);
    INSERT INTO target (id, catalog_id, name) VALUES (1, 1, 4294967297), (2, 1, 4294967298);
    INSERT INTO instrument (id, name, parent_id, properties) VALUES
        ('00000000-0000-0000-0000-000000000001', 'GPC1', NULL, '{"kind": "camera", "photcodes": []}'),
        ('00000000-0000-0000-0000-000000000002', 'XY01', '00000000-0000-0000-0000-000000000001',
         '{"kind": "chip", "photcodes": [{"code": 10001}]}'),
        ('00000000-0000-0000-0000-000000000003', 'TESS Camera 1', NULL, '{}'),
        ('00000000-0000-0000-0000-000000000004', 'CCD 1', '00000000-0000-0000-0000-000000000003', '{}');
    INSERT INTO observation (id, type, cadence_reference, instrument_id, region, catalog_table, filter_name)
    VALUES (1, 'dvo_observation', '{1000,2000}', '00000000-0000-0000-0000-000000000001', 'n0000', 'n0000/0148', 'g');
    INSERT INTO photometric_source (id, name, description) VALUES (1, 'psf', NULL);
    INSERT INTO detrending_method (id, name, description) VALUES (1, 'instrumental', 'as measured');
    INSERT INTO processing_group (id, name, description, photometric_source_id, detrending_method_id)
    VALUES (1, 'psf/instrumental', NULL, 1, 1);
    INSERT INTO data_set (id, processing_group_id, target_id, observation_id, values, errors)
    VALUES (1, 1, 1, 1, '{17.5,NaN}', '{0.01,0.02}'), (2, 1, 2, 1, '{18.5,19.0}', NULL);
    INSERT INTO target_specific_time (id, target_id, observation_id, barycentric_julian_dates)
    VALUES (1, 1, 1, '{2457000.1,2457000.2}'), (2, 2, 1, '{2457000.3,2457000.4}');
    INSERT INTO quality_flag_array (id, type, observation_id, target_id, quality_flags)
    VALUES (1, 'dvo_phot_flags', 1, 1, '{0,-1}'), (2, 'dvo_phot_flags', 1, 2, '{4,0}');
    SELECT setval(pg_get_serial_sequence(t, 'id'), 100) FROM unnest(ARRAY['mission_catalog', 'target',
        'observation', 'photometric_source', 'detrending_method', 'processing_group', 'data_set',
        'target_specific_time', 'quality_flag_array']) t;
"""
CONTENT_TABLES = ("mission", "mission_catalog", "target", "instrument", "observation", "photometric_source",
                  "detrending_method", "processing_group", "data_set", "target_specific_time", "quality_flag_array")


def _content(url: str) -> dict[str, list[str]]:
    """Every row of the package's tables as text (created_on left out: the server clock)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {t: conn.execute(sa.text(
                f"SELECT (to_jsonb(x) - 'created_on')::text FROM {t} x ORDER BY id")).scalars().all()
                for t in CONTENT_TABLES}
    finally:
        engine.dispose()


def test_upgrade_from_0002_keeps_the_data_and_applies_upstreams_rules(make_database):
    url = make_database("schema_upgrade_0002")
    upgrade_database(url, "0002")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(SEED_0002)
    before = _content(url)

    upgrade_database(url)
    assert current_revision(url) == "0003"
    # the same rows, but for the NULL descriptions, now '' (the mixin's description is NOT NULL)
    expected = {t: [row.replace('"description": null', '"description": ""') for row in rows]
                for t, rows in before.items()}
    assert _content(url) == expected
    result = run_python(COMPARE, url)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["diffs"] == []
    with engine.begin() as conn:
        registry = conn.execute(sa.text("SELECT camera, chip, instrument_id::text FROM dvo_instrument "
                                        "ORDER BY chip NULLS FIRST")).all()
        assert [tuple(r) for r in registry] == [  # lcdb's instruments; the user's TESS camera is not lcdb's
            ("GPC1", None, "00000000-0000-0000-0000-000000000001"),
            ("GPC1", "XY01", "00000000-0000-0000-0000-000000000002")]
        # upstream's rules hold on the upgraded data: a catalog name per mission, cascades down to lightcurves
        conn.execute(sa.text(
            "INSERT INTO mission (id, name, description, time_unit, time_epoch, time_epoch_scale, "
            "time_epoch_format, time_format_name) VALUES (gen_random_uuid(), 'CFHT', 'd', 's', 0, 'utc', 'jd', "
            "'cfht'); INSERT INTO mission_catalog (host_mission_id, name, description) "
            "SELECT id, 'PS1 DVO', 'same name, other mission' FROM mission WHERE name = 'CFHT'"))
        conn.execute(sa.text("DELETE FROM mission WHERE name = 'Pan-STARRS1'"))
        left = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("mission_catalog", "target", "data_set", "target_specific_time", "quality_flag_array")}
        assert left == {"mission_catalog": 1, "target": 0, "data_set": 0, "target_specific_time": 0,
                        "quality_flag_array": 0}
        conn.execute(sa.text("DELETE FROM instrument WHERE name = 'GPC1'"))
        assert conn.execute(sa.text("SELECT count(*) FROM observation")).scalar_one() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM dvo_instrument")).scalar_one() == 0
    engine.dispose()


def test_upgrade_refuses_names_longer_than_64_characters(make_database):
    url = make_database("schema_upgrade_long")
    upgrade_database(url, "0002")
    engine = make_engine(url)
    long_name = "A survey whose name is far longer than sixty-four characters, for sure"
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO photometric_source (name, description) VALUES (:n, 'x')"), {"n": long_name})
    engine.dispose()
    with pytest.raises(RuntimeError, match=r"photometric_source\.name must hold at most 64 characters.*survey whose"):
        upgrade_database(url)
    assert current_revision(url) == "0002"  # nothing half-done: the upgrade is one transaction
