"""numpy arrays through an engine a user makes with plain ``sqlalchemy.create_engine`` (psycopg 3), with no
set-up call: written and read back exactly, through the ORM and Core; and nothing else in the process changes
(psycopg still hands out lists for array columns that are not lcdb's)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import orm

from lcdb_schema import DataSet, Observation, QualityFlagArray, TargetSpecificTime
from lcdb_schema.types import Float64Array, Int32Array

from .factory import Factory

SPECIALS = np.array([0.0, -0.0, 1.5, np.nan, np.inf, -np.inf, 1e308, 5e-324, -2.5e-300])
UNSIGNED = np.array([0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF], dtype=np.uint32)


@pytest.fixture
def plain(engine, database_url):
    """A user's engine: `sa.create_engine(url)`, nothing else (the `engine` fixture migrated the database)."""
    eng = sa.create_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def plain_session(plain):
    with plain.connect() as connection:
        outer = connection.begin()
        with orm.Session(bind=connection, join_transaction_mode="create_savepoint") as session:
            yield session
        outer.rollback()


def test_the_issue_example_writes_and_reads_numpy(plain_session):
    make = Factory(plain_session)
    obs = make.observation(cadence_reference=np.array([1, 2, 3]))
    plain_session.flush()
    plain_session.expire_all()
    cadences = plain_session.get(Observation, obs.id).cadence_reference
    assert isinstance(cadences, np.ndarray) and cadences.dtype == np.int64
    np.testing.assert_array_equal(cadences, [1, 2, 3])


@pytest.mark.parametrize("values", [SPECIALS, np.array([], np.float64), np.random.default_rng(3).normal(size=50_000)],
                         ids=["nan-inf-extremes", "empty", "5e4"])
def test_float_arrays_round_trip_bit_exactly(plain_session, values):
    make = Factory(plain_session)
    obs = make.observation(n=len(values))
    ds = make.dataset(observation=obs, values=values, errors=values[::-1].copy())
    tst = make.tst(observation=obs, barycentric_julian_dates=values + 2457000.0)
    plain_session.flush()
    plain_session.expire_all()
    ds, tst = plain_session.get(DataSet, ds.id), plain_session.get(TargetSpecificTime, tst.id)
    pairs = ((ds.values, values), (ds.errors, values[::-1]), (tst.barycentric_julian_dates, values + 2457000.0))
    for got, want in pairs:
        assert isinstance(got, np.ndarray) and got.dtype == np.float64
        assert got.tobytes() == want.tobytes()  # NaN payloads, -0.0, subnormals: the same bits


def test_flag_words_keep_their_uint32_bit_patterns(plain_session):
    make = Factory(plain_session)
    qfa = make.flags(observation=make.observation(n=len(UNSIGNED)), quality_flags=UNSIGNED)
    plain_session.flush()
    plain_session.expire_all()
    got = plain_session.get(QualityFlagArray, qfa.id).quality_flags
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got.view(np.uint32), UNSIGNED)


def test_core_executemany_and_plain_sql_typed_columns(plain_session):
    obs = Factory(plain_session).observation(n=2)
    plain_session.flush()
    rows = [{"type": t, "observation_id": obs.id, "target_id": None, "quality_flags": np.array([i, -1], np.int32)}
            for i, t in enumerate(("base_quality_flag", "dvo_phot_flags"))]
    plain_session.execute(sa.insert(QualityFlagArray.__table__), rows)
    query = sa.text("SELECT quality_flags, ARRAY[1.5, 'NaN']::float8[] AS f FROM quality_flag_array "
                    "WHERE observation_id = :o ORDER BY type").columns(quality_flags=Int32Array, f=Float64Array)
    got = plain_session.execute(query, {"o": obs.id}).all()  # psycopg lists, made numpy by the column types
    assert [r.quality_flags.tolist() for r in got] == [[0, -1], [1, -1]]
    assert got[0].f.dtype == np.float64 and np.isnan(got[0].f[1])


def test_other_array_columns_still_read_as_lists(database_url):
    """The global registration is the numpy *dumper* only: psycopg connections still return lists for
    arrays, so code sharing the process with lcdb_schema sees no change."""
    import lcdb_schema  # noqa: F401  (the import registers the dumper)

    with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
        value, typ = conn.execute("SELECT %s, pg_typeof(%s)::text", [np.arange(3.0), np.arange(3.0)]).fetchone()
        assert (value, typ) == ([0.0, 1.0, 2.0], "double precision[]")
        assert conn.execute("SELECT '{1,2}'::int4[]").fetchone()[0] == [1, 2]


def test_no_set_up_call_in_a_fresh_interpreter(engine, database_url):
    """Nothing but the models and `create_engine`: the issue's failing snippet, in a new process."""
    code = textwrap.dedent("""
        import json, sys
        import numpy as np
        import sqlalchemy as sa
        from sqlalchemy.orm import Session
        from lcdb_schema import Instrument, Observation

        engine = sa.create_engine(sys.argv[1])
        with Session(engine) as session:
            obs = Observation(instrument=Instrument(name="TESS Camera 1"), cadence_reference=np.array([1, 2, 3]))
            session.add(obs)
            session.flush()
            session.expire_all()
            got = session.get(Observation, obs.id).cadence_reference
            session.rollback()
        print(json.dumps({"type": type(got).__name__, "dtype": str(got.dtype), "values": got.tolist()}))
    """)
    result = subprocess.run([sys.executable, "-c", code, database_url], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"type": "ndarray", "dtype": "int64", "values": [1, 2, 3]}
