"""Array columns: numpy in, numpy of the declared dtype out, losslessly, through the ORM and plain psycopg."""

from __future__ import annotations

import pathlib

import numpy as np
import psycopg
import pytest
import sqlalchemy as sa

from lcdb_schema import FITSFrame, Observation, QualityFlagArray
from lcdb_schema.types import Int32Array, dump_array_binary, register_numpy_adapters

from .factory import Factory

SPECIALS = np.array([0.0, -0.0, 1.5, np.nan, np.inf, -np.inf, 1e308, 5e-324, -2.5e-300])


def _reload(session, obj):
    """Write `obj`, forget it, and read it back from the database."""
    session.flush()
    key = sa.inspect(obj).identity
    session.expunge_all()
    return session.get(type(obj), key)


# ---- float64 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [SPECIALS, np.array([], dtype=np.float64), np.random.default_rng(1).normal(size=100_000)],
    ids=["nan-inf-extremes", "empty", "1e5"],
)
def test_float64_round_trip(session, make, values):
    obs = make.observation(n=len(values))
    ds = make.dataset(observation=obs, values=values, errors=values[::-1].copy())
    tst = make.tst(observation=obs, barycentric_julian_dates=values + 2457000.0)

    ds, tst = _reload(session, ds), _reload(session, tst)
    for got, want in ((ds.values, values), (ds.errors, values[::-1]), (tst.barycentric_julian_dates, values + 2457000.0)):
        assert isinstance(got, np.ndarray) and got.dtype == np.float64
        np.testing.assert_array_equal(got, want)  # NaN == NaN here; bit-exact otherwise
    assert (np.signbit(ds.values) == np.signbit(values)).all()  # -0.0 stays negative


def test_float64_accepts_lists_and_other_dtypes(session, make):
    obs = make.observation(n=3)
    ds = make.dataset(observation=obs, values=[1, 2.5, float("nan")], errors=np.array([1, 2, 3], dtype=np.float32))
    ds = _reload(session, ds)
    np.testing.assert_array_equal(ds.values, [1.0, 2.5, np.nan])
    assert ds.errors.dtype == np.float64
    np.testing.assert_array_equal(ds.errors, [1.0, 2.0, 3.0])


def test_optional_array_is_none(session, make):
    ds = _reload(session, make.dataset(errors=None))
    assert ds.errors is None


# ---- int64 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cadences",
    [
        np.array([np.iinfo(np.int64).min, -1, 0, 1, 1_700_000_000_123, np.iinfo(np.int64).max]),
        np.array([], dtype=np.int64),
        np.arange(100_000, dtype=np.int64) * 1000 + 1_262_304_000_000,
        [3, 2, 1],
        np.array([1, 2, 3], dtype=np.int32),
    ],
    ids=["extremes", "empty", "1e5", "list", "int32-input"],
)
def test_int64_round_trip(session, make, cadences):
    obs = _reload(session, make.observation(cadence_reference=cadences))
    assert isinstance(obs.cadence_reference, np.ndarray) and obs.cadence_reference.dtype == np.int64
    np.testing.assert_array_equal(obs.cadence_reference, np.asarray(cadences, dtype=np.int64))


def test_int64_rejects_values_out_of_range(session, make):
    with pytest.raises(sa.exc.StatementError, match="do not fit"):
        make.observation(cadence_reference=np.array([2**63], dtype=np.uint64))
        session.flush()


# ---- int32 flags ---------------------------------------------------------------------------------------

UNSIGNED = np.array([0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xDEADBEEF], dtype=np.uint32)


@pytest.mark.parametrize(
    "flags",
    [
        UNSIGNED.view(np.int32),  # the uint32 bit patterns, viewed as int32
        UNSIGNED,  # uint32 arrays are taken as bit patterns
        [int(v) for v in UNSIGNED],  # Python ints up to 2**32 - 1
        UNSIGNED.astype(np.int64),
    ],
    ids=["int32-view", "uint32", "list", "int64"],
)
def test_int32_flags_keep_uint32_bit_patterns(session, make, flags):
    qfa = _reload(session, make.flags(observation=make.observation(n=len(UNSIGNED)), quality_flags=flags))
    assert isinstance(qfa.quality_flags, np.ndarray) and qfa.quality_flags.dtype == np.int32
    np.testing.assert_array_equal(qfa.quality_flags.view(np.uint32), UNSIGNED)


def test_int32_flags_empty_and_large(session, make):
    big = np.random.default_rng(2).integers(0, 2**32, size=100_000, dtype=np.uint64).astype(np.uint32)
    a = _reload(session, make.flags(observation=make.observation(n=0), quality_flags=np.array([], np.int32)))
    b = _reload(session, make.flags(observation=make.observation(n=big.size), quality_flags=big))
    assert a.quality_flags.dtype == np.int32 and a.quality_flags.size == 0
    np.testing.assert_array_equal(b.quality_flags.view(np.uint32), big)


@pytest.mark.parametrize("bad", [[-(2**31) - 1], [2**32], np.array([2.5])])
def test_int32_flags_reject_non_32_bit_values(bad):
    with pytest.raises((ValueError, TypeError)):
        Int32Array().to_numpy(bad)


# ---- wire format and plain psycopg ---------------------------------------------------------------------


def test_binary_dump_matches_postgresql_format():
    # int4[] {1,-1}: ndim 1, no nulls, elem oid 23, dim 2, lower bound 1, then (len 4, value) pairs
    expected = bytes.fromhex("00000001 00000000 00000017 00000002 00000001 00000004 00000001 00000004 ffffffff")
    assert dump_array_binary(np.array([1, -1], dtype=np.int32)) == expected
    assert dump_array_binary(np.array([], dtype=np.float64)) == bytes.fromhex("00000000 00000000 000002bd")


@pytest.mark.parametrize("binary", [False, True], ids=["text-results", "binary-results"])
@pytest.mark.parametrize(
    "array, pg_type",
    [
        (SPECIALS, "double precision[]"),
        (np.array([-(2**63), 2**63 - 1, 0]), "bigint[]"),
        (UNSIGNED.view(np.int32), "integer[]"),
        (np.array([], dtype=np.int32), "integer[]"),
        (np.arange(6, dtype=np.int64).reshape(2, 3), "bigint[]"),
    ],
)
def test_psycopg_adapters(database_url, array, pg_type, binary):
    with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
        register_numpy_adapters(conn)
        value, typ = conn.execute("SELECT %s, pg_typeof(%s)::text", [array, array], binary=binary).fetchone()
    assert typ == pg_type
    assert isinstance(value, np.ndarray) and value.dtype == array.dtype and value.shape == array.shape
    np.testing.assert_array_equal(value, array)


def test_text_loader_reads_sql_literals(engine):
    with engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT '{1.5,NaN,Infinity,-Infinity,NULL}'::float8[], '{}'::int8[], '[0:1]={7,8}'::int4[]"
        ).one()
    np.testing.assert_array_equal(row[0], [1.5, np.nan, np.inf, -np.inf, np.nan])
    assert row[1].dtype == np.int64 and row[1].size == 0
    np.testing.assert_array_equal(row[2], np.array([7, 8], dtype=np.int32))


def test_unsupported_dtype_is_refused_clearly(database_url):
    with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
        register_numpy_adapters(conn)
        with pytest.raises(TypeError, match="uint32"):
            conn.execute("SELECT %s", [np.array([1], dtype=np.uint32)])


def test_core_insert_of_numpy_arrays(engine, make, session):
    """Bulk Core inserts (executemany) take numpy arrays as they are."""
    obs = make.observation(n=3)
    session.commit()
    rows = [{"type": "base_quality_flag", "observation_id": obs.id, "target_id": None,
             "quality_flags": np.array([1, 2, 3], dtype=np.int32)}]
    session.execute(sa.insert(QualityFlagArray.__table__), rows)
    got = session.execute(sa.select(QualityFlagArray.quality_flags).filter_by(observation_id=obs.id)).scalar_one()
    np.testing.assert_array_equal(got, [1, 2, 3])


# ---- other column types --------------------------------------------------------------------------------


def test_fits_frame_path_and_naxis(session, make):
    frame = FITSFrame(observation=make.observation(), cadence=make.n(), bitpix=-32, naxis=2,
                      naxis_values=[2136, 2078], file_path="/data/tess/s0001/frame.fits")
    session.add(frame)
    frame = _reload(session, frame)
    assert frame.file_path == pathlib.Path("/data/tess/s0001/frame.fits")
    assert isinstance(frame.file_path, pathlib.Path)
    assert frame.naxis_values == [2136, 2078] and all(type(v) is int for v in frame.naxis_values)
    # FITS defaults: SIMPLE = T, EXTEND = F, BSCALE = 1, BZERO = 0
    assert (frame.simple, frame.extended, frame.bscale, frame.bzero) == (True, False, 1.0, 0.0)
    assert frame.created_on.tzinfo is not None


def test_column_types_in_database(engine):
    types = {
        ("data_set", "values"): "ARRAY/float8",
        ("observation", "cadence_reference"): "ARRAY/int8",
        ("quality_flag_array", "quality_flags"): "ARRAY/int4",
        ("target_specific_time", "barycentric_julian_dates"): "ARRAY/float8",
        ("fits_frame", "naxis_values"): "ARRAY/int4",
        ("instrument", "properties"): "jsonb/jsonb",
        ("mission", "created_on"): "timestamp with time zone/timestamptz",
        ("target", "id"): "bigint/int8",
        ("data_set", "id"): "bigint/int8",
        ("target_specific_time", "id"): "bigint/int8",
        ("quality_flag_array", "id"): "bigint/int8",
        ("data_set", "target_id"): "bigint/int8",
        ("quality_flag_array", "target_id"): "bigint/int8",
    }
    with engine.connect() as conn:
        for (table, column), expected in types.items():
            data_type, udt = conn.execute(
                sa.text("SELECT data_type, udt_name FROM information_schema.columns "
                        "WHERE table_name = :t AND column_name = :c"), {"t": table, "c": column}
            ).one()
            assert f"{data_type}/{udt.lstrip('_')}" == expected, (table, column)


def test_observation_query_returns_numpy(session, make):
    make.observation(cadence_reference=[5, 6])
    session.flush()
    cadences = session.scalars(sa.select(Observation.cadence_reference)).all()
    assert all(isinstance(c, np.ndarray) and c.dtype == np.int64 for c in cadences)


def test_reading_without_make_engine_adapters_still_gives_numpy(database_url, engine):
    """An engine made with plain create_engine (no numpy loaders on its connections): the column types still
    hand out numpy arrays of their dtype (writing through such an engine: test_plain_engine.py)."""
    with sa.orm.Session(engine) as session:
        factory = Factory(session)
        qfa = factory.flags(observation=factory.observation(n=2), quality_flags=np.array([3, -1], np.int32))
        factory.dataset(observation=qfa.observation, values=np.array([1.0, np.nan]))
        session.commit()
        obs_id = qfa.observation_id
    plain = sa.create_engine(database_url)
    try:
        with sa.orm.Session(plain) as session:
            obs = session.get(Observation, obs_id)
            assert obs.cadence_reference.dtype == np.int64
            np.testing.assert_array_equal(obs.datasets[0].values, [1.0, np.nan])
            assert obs.datasets[0].values.dtype == np.float64
            np.testing.assert_array_equal(obs.quality_flag_arrays[0].quality_flags, np.array([3, -1], np.int32))
            assert obs.quality_flag_arrays[0].quality_flags.dtype == np.int32
            session.delete(obs)
            session.commit()
    finally:
        plain.dispose()
