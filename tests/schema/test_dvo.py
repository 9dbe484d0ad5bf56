"""The DVO extension models: DVOObservation and the PHOT_FLAGS / DB_FLAGS arrays; polymorphic loading."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import with_polymorphic

from lcdb_schema import (
    DBFlagsArray,
    DVOObservation,
    Observation,
    PhotFlagsArray,
    QualityFlagArray,
)

BITS = np.array([0, 1, 0x80000000, 0xFFFFFFFF, 0x00010004], dtype=np.uint32)


def test_identities():
    identity = lambda cls: cls.__mapper__.polymorphic_identity  # noqa: E731
    assert identity(DVOObservation) == "dvo_observation"
    assert identity(PhotFlagsArray) == "dvo_phot_flags"
    assert identity(DBFlagsArray) == "dvo_db_flags"
    assert identity(QualityFlagArray) == "base_quality_flag"
    assert DVOObservation.__table__ is Observation.__table__  # single-table
    assert PhotFlagsArray.__table__ is DBFlagsArray.__table__ is QualityFlagArray.__table__


def test_dvo_columns_nullable_in_the_shared_table(engine):
    columns = {c["name"]: c for c in sa.inspect(engine).get_columns("observation")}
    assert all(columns[name]["nullable"] for name in ("region", "catalog_table", "filter_name"))


def test_base_query_returns_dvo_subclasses(session, make):
    obs = make.observation(region="s2230", catalog_table="s2230/6821.10", filter_name="i")
    target = make.target()
    make.flags(PhotFlagsArray, observation=obs, target=target, quality_flags=BITS)
    make.flags(DBFlagsArray, observation=obs, target=target, quality_flags=BITS[::-1].copy())
    make.flags(QualityFlagArray, observation=obs, target=None)
    session.flush()
    session.expire_all()

    loaded = session.get(Observation, obs.id)
    assert type(loaded) is DVOObservation
    assert (loaded.region, loaded.catalog_table, loaded.filter_name) == ("s2230", "s2230/6821.10", "i")
    kinds = {type(f) for f in session.scalars(sa.select(QualityFlagArray).filter_by(observation_id=obs.id))}
    assert kinds == {PhotFlagsArray, DBFlagsArray, QualityFlagArray}
    poly = with_polymorphic(QualityFlagArray, [PhotFlagsArray, DBFlagsArray])
    rows = session.scalars(sa.select(poly).where(poly.observation_id == obs.id).order_by(poly.type)).all()
    assert [r.type for r in rows] == ["base_quality_flag", "dvo_db_flags", "dvo_phot_flags"]
    only_phot = session.scalars(sa.select(PhotFlagsArray).filter_by(observation_id=obs.id)).all()
    assert len(only_phot) == 1 and only_phot[0].target_id == target.id


def test_flag_helpers_read_bits_unsigned(session, make):
    flags = make.flags(PhotFlagsArray, observation=make.observation(n=len(BITS)), quality_flags=BITS)
    session.flush()
    session.expire_all()
    flags = session.get(PhotFlagsArray, flags.id)
    assert flags.unsigned.dtype == np.uint32
    np.testing.assert_array_equal(flags.unsigned, BITS)
    np.testing.assert_array_equal(flags.mask(0x80000000), [False, False, True, True, False])
    np.testing.assert_array_equal(flags.mask(0x00010001), [False, True, False, True, True])
    np.testing.assert_array_equal(flags.bit(31), flags.mask(0x80000000))
    np.testing.assert_array_equal(flags.bit(2), [False, False, False, True, True])
    with pytest.raises(ValueError):
        flags.mask(1 << 32)
    with pytest.raises(ValueError):
        flags.bit(32)


def test_db_flags_helpers(make):
    flags = make.flags(DBFlagsArray, observation=make.observation(n=3), quality_flags=[0, 0xFFFFFFFF, 8])
    assert flags.mask(0xFFFFFFFF).tolist() == [False, True, True]
    assert flags.bit(3).tolist() == [False, True, True]


def test_dvo_docstrings_describe_the_ipp_flags():
    assert "PHOT_FLAGS" in PhotFlagsArray.__doc__ and "photometry" in PhotFlagsArray.__doc__
    assert "DB_FLAGS" in DBFlagsArray.__doc__ and "always set" in DVOObservation.__doc__


def test_lcdb_schema_never_imports_dagster():
    code = "import sys, lcdb_schema, lcdb_schema.database, lcdb_schema.migrations, lcdb_schema.timesystem; " \
           "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dagster', 'lcdb_pipeline')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_public_api():
    import lcdb_schema
    from lcdb_schema.database import (  # noqa: F401
        database_url,
        embedded_database_url,
        make_engine,
        redact_url,
    )
    from lcdb_schema.migrations import upgrade_database  # noqa: F401

    for name in ("LCDBModel", "Mission", "MissionCatalog", "Target", "Instrument", "Observation", "FITSFrame",
                 "PhotometricSource", "DetrendingMethod", "ProcessingGroup", "DataSet", "TargetSpecificTime",
                 "QualityFlagArray", "DVOObservation", "PhotFlagsArray", "DBFlagsArray", "NameAndDescriptionMixin",
                 "CreatedOnMixin"):
        assert name in lcdb_schema.__all__ and hasattr(lcdb_schema, name)
    tables = {m.__tablename__ for m in (lcdb_schema.Mission, lcdb_schema.MissionCatalog, lcdb_schema.Target,
                                        lcdb_schema.Instrument, lcdb_schema.Observation, lcdb_schema.FITSFrame,
                                        lcdb_schema.PhotometricSource, lcdb_schema.DetrendingMethod,
                                        lcdb_schema.ProcessingGroup, lcdb_schema.DataSet,
                                        lcdb_schema.TargetSpecificTime, lcdb_schema.QualityFlagArray)}
    assert tables == {"mission", "mission_catalog", "target", "instrument", "observation", "fits_frame",
                      "photometric_source", "detrending_method", "processing_group", "data_set",
                      "target_specific_time", "quality_flag_array"}
