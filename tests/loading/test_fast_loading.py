"""The loader's fast path: numpy-built COPY bodies (leading dimensions, broadcast arrays), the writer thread,
and foreign keys checked in bulk instead of per-row triggers — which must write exactly what the per-row path
writes, and fall back to it whenever skipping triggers could change anything."""

from __future__ import annotations

import datetime
import uuid

import numpy as np
import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

import lcdb_pipeline.loading as loading
import lcdb_pipeline.loading.tables as loading_tables
from lcdb_pipeline.defs.resources import MissionResource, ObservatoriesResource
from lcdb_pipeline.dvo import DVODatabase
from lcdb_pipeline.loading.copy_binary import CopyWriter, Field, encode_rows
from lcdb_pipeline.mapping import instrument_specs, map_table
from lcdb_pipeline.synth import generate
from lcdb_schema.database import create_database, libpq_url, make_engine
from lcdb_schema.migrations import upgrade_database

TABLES = ("target", "observation", "data_set", "target_specific_time", "quality_flag_array")


def test_leading_dimensions_and_broadcasts_encode_like_separate_rows():
    rng = np.random.default_rng(0)
    k, n, m = 3, 5, 4
    values, errors, tids = rng.normal(size=(k, n, m)), rng.normal(size=(n, m)), np.arange(n, dtype=np.int64) + 7
    together = encode_rows(k * n, [
        Field("g", "int4", np.repeat(np.arange(k, dtype=np.int32), n)),
        Field("t", "int8", np.broadcast_to(tids, (k, n))), Field("o", "int4", 9),
        Field("v", "float8[]", values), Field("e", "float8[]", np.broadcast_to(errors, (k, n, m))),
    ])
    apart = b"".join(encode_rows(n, [
        Field("g", "int4", g), Field("t", "int8", tids), Field("o", "int4", 9),
        Field("v", "float8[]", values[g]), Field("e", "float8[]", errors),
    ]).tobytes() for g in range(k))
    assert together.tobytes() == apart


@pytest.fixture(scope="module")
def dvo_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("fast_dvo")
    generate(root, scale="small", seed=11)
    return root


def _load_region(url: str, root, spy: list[bool]) -> None:
    database = DVODatabase(root)
    engine = make_engine(url)
    mission = MissionResource().spec()
    loading.upsert_reference(engine, mission, instrument_specs(database.photcodes))
    refs = loading.reference_ids(engine, mission)
    region = database.populated_regions()[0]
    for name in database.tables_in_region(region):
        mapping = map_table(database.read_table(name), database.photcodes, database.images,
                            ObservatoriesResource().sites())
        loading.load_table(engine, mapping, refs)
    engine.dispose()


def _rows(url: str) -> dict[str, list]:
    """Every row, without what differs between two databases by design (instrument uuids, created_on)."""
    with psycopg.connect(libpq_url(url)) as conn:
        return {t: [repr(tuple(x for x in row if not isinstance(x, (uuid.UUID, datetime.datetime))))  # NaN == NaN
                    for row in conn.execute(f"SELECT * FROM {t} ORDER BY id")] for t in TABLES}


@pytest.fixture
def spy(monkeypatch) -> list[bool]:
    """Whether each load_table call took the bulk-check path."""
    calls: list[bool] = []
    original = loading_tables._check_references_in_bulk

    def check(cur, refs):
        calls.append(original(cur, refs))
        return calls[-1]

    monkeypatch.setattr(loading_tables, "_check_references_in_bulk", check)
    return calls


@pytest.fixture
def plain_role_database(pg_admin_url):
    """A database owned by a role that is not a superuser (cannot set session_replication_role)."""
    role = f"lcdb_t_plain_{uuid.uuid4().hex[:8]}"
    name = f"{role}_db"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
    create_database(pg_admin_url, name, owner=role, if_missing=False)
    url = make_url(libpq_url(pg_admin_url)).set(database=name, username=role, password=None)
    yield url.render_as_string(hide_password=False)
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f"DROP ROLE IF EXISTS {role}")


def test_bulk_checked_path_writes_exactly_what_the_per_row_path_writes(
        dvo_root, make_database, plain_role_database, spy):
    superuser = make_database("fast_superuser")
    for url in (superuser, plain_role_database):
        upgrade_database(url)
    _load_region(superuser, dvo_root, spy)
    fast_calls, spy[:] = list(spy), []
    _load_region(plain_role_database, dvo_root, spy)
    assert fast_calls and all(fast_calls)  # superuser: foreign keys checked in bulk
    assert spy and not any(spy)  # plain role: the per-row triggers ran
    fast, per_row = _rows(superuser), _rows(plain_role_database)
    for table in TABLES:
        assert len(fast[table]) > 0, table
        assert fast[table] == per_row[table], table  # same ids, same arrays, row for row


def test_a_trigger_of_its_own_on_a_product_table_keeps_the_per_row_path(dvo_root, make_database, spy):
    url = make_database("fast_trigger")
    upgrade_database(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("""
            CREATE TABLE audit (n int);
            CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS
              $$ BEGIN INSERT INTO audit VALUES (1); RETURN NEW; END $$;
            CREATE TRIGGER audit_tst AFTER INSERT ON target_specific_time FOR EACH ROW EXECUTE FUNCTION audit_row();
        """))
    _load_region(url, dvo_root, spy)
    with engine.connect() as conn:
        audited = conn.execute(sa.text("SELECT count(*) FROM audit")).scalar_one()
        written = conn.execute(sa.text("SELECT count(*) FROM target_specific_time")).scalar_one()
    engine.dispose()
    assert spy and not any(spy)
    assert audited == written > 0  # the trigger fired for every row


def test_a_vanished_processing_group_stops_the_table_before_any_row(dvo_root, make_database):
    url = make_database("fast_vanished")
    upgrade_database(url)
    database = DVODatabase(dvo_root)
    engine = make_engine(url)
    mission = MissionResource().spec()
    loading.upsert_reference(engine, mission, instrument_specs(database.photcodes))
    refs = loading.reference_ids(engine, mission)
    bogus = loading.ReferenceIds(refs.catalog_id, refs.camera_ids, refs.processing_group_ids[:2] + (10**6,))
    name = database.tables_in_region(database.populated_regions()[0])[0]
    mapping = map_table(database.read_table(name), database.photcodes, database.images,
                        ObservatoriesResource().sites())
    with pytest.raises(loading.ReferenceDataMissing, match="processing group"):
        loading.load_table(engine, mapping, bogus)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM data_set")).scalar_one() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM target")).scalar_one() == 0
    engine.dispose()


def test_copy_writer_reraises_the_servers_error_and_skips_the_rest(make_database):
    url = make_database("fast_writer")
    with psycopg.connect(libpq_url(url)) as conn:
        cur = conn.cursor()
        cur.execute("CREATE TABLE w (k int8 PRIMARY KEY)")
        conn.commit()
        ok = [(3, [Field("k", "int8", np.arange(3))])]
        with pytest.raises(psycopg.errors.UniqueViolation):
            with CopyWriter(cur) as writer:
                writer.submit("w", ok)
                writer.submit("w", ok)  # duplicates: fails in the writer thread
                writer.submit("w", [(3, [Field("k", "int8", np.arange(10, 13))])])  # never sent
        conn.rollback()
        with CopyWriter(cur) as writer:
            writer.submit("w", ok)
            writer.submit("w", [(2, [Field("k", "int8", np.array([5, 6]))])])
        assert [k for (k,) in cur.execute("SELECT k FROM w ORDER BY k")] == [0, 1, 2, 5, 6]


def test_copy_writer_stops_its_thread_when_the_caller_fails(make_database):
    url = make_database("fast_writer_caller")
    with psycopg.connect(libpq_url(url)) as conn:
        cur = conn.cursor()
        cur.execute("CREATE TABLE w (k int8)")
        with pytest.raises(ZeroDivisionError):
            with CopyWriter(cur) as writer:
                writer.submit("w", [(3, [Field("k", "int8", np.arange(3))])])
                1 / 0
        assert not writer._thread.is_alive()
        conn.rollback()
