"""Every unique key of the seed and of docs/architecture.md: the violating insert raises IntegrityError."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from lcdb_schema import (
    DetrendingMethod,
    FITSFrame,
    Instrument,
    Mission,
    MissionCatalog,
    PhotFlagsArray,
    PhotometricSource,
    ProcessingGroup,
    QualityFlagArray,
    Target,
)


def assert_violates(session, constraint: str) -> None:
    """Flushing the pending rows fails on the unique constraint named `constraint`."""
    with pytest.raises(IntegrityError) as info:
        session.flush()
    session.rollback()
    assert info.value.orig.diag.constraint_name == constraint


def test_mission_name_unique(session, make):
    make.mission(name="TESS")
    session.flush()
    make.mission(name="TESS")
    assert_violates(session, "uq_mission_name")


def test_mission_time_format_name_unique(session, make):
    make.mission(time_format_name="btjd")
    session.flush()
    make.mission(time_format_name="btjd")
    assert_violates(session, "uq_mission_time_format_name")


def test_mission_catalog_name_unique(session, make):
    make.catalog(name="TIC")
    session.flush()
    make.catalog(name="TIC")  # even under another mission
    assert_violates(session, "uq_mission_catalog_name")


def test_target_catalog_and_name_unique(session, make):
    tic, other = make.catalog(), make.catalog()
    session.add_all([Target(catalog=tic, name=12345678), Target(catalog=other, name=12345678)])
    session.flush()  # the same number in two catalogs is fine
    session.add(Target(catalog=tic, name=12345678))
    assert_violates(session, "uq_target_catalog_id_name")


def test_target_name_is_bigint(session, make):
    # DVO target names are CAT_ID * 2**32 + OBJ_ID: far beyond int32
    target = make.target(name=(1234 << 32) + 0xFFFFFFFF)
    session.flush()
    assert session.scalar(sa.select(Target.name).filter_by(id=target.id)) == (1234 << 32) + 0xFFFFFFFF


def test_photometric_source_and_detrending_method_names_unique(session):
    session.add_all([PhotometricSource(name="Aperture_2px"), PhotometricSource(name="Aperture_2px")])
    assert_violates(session, "uq_photometric_source_name")
    session.add_all([DetrendingMethod(name="PDC-SAP"), DetrendingMethod(name="PDC-SAP")])
    assert_violates(session, "uq_detrending_method_name")


def test_processing_group_pair_unique(session, make):
    group = make.processing_group()
    session.flush()
    session.add(ProcessingGroup(name="another name", photometric_source=group.photometric_source,
                                detrending_method=group.detrending_method))
    assert_violates(session, "uq_processing_group_photometric_source_id_detrending_method_id")


def test_processing_group_name_not_unique(session, make):
    a = make.processing_group(name="same")
    make.processing_group(name="same", photometric_source=a.photometric_source)  # different method
    session.flush()


def test_fits_frame_type_and_cadence_unique(session, make):
    obs = make.observation()
    frame = dict(bitpix=16, naxis=2, naxis_values=[10, 10])
    session.add_all([FITSFrame(observation=obs, cadence=7, **frame), FITSFrame(observation=obs, cadence=8, **frame)])
    session.flush()
    session.add(FITSFrame(observation=make.observation(), cadence=7, **frame))  # another observation too
    assert_violates(session, "uq_fits_frame_type_cadence")


def test_quality_flag_array_unique_per_type_observation_target(session, make):
    obs, target = make.observation(), make.target()
    flags = np.zeros(4, np.int32)
    session.add_all([
        QualityFlagArray(observation=obs, target=target, quality_flags=flags),
        PhotFlagsArray(observation=obs, target=target, quality_flags=flags),  # another type: fine
    ])
    session.flush()
    session.add(QualityFlagArray(observation=obs, target=target, quality_flags=flags))
    assert_violates(session, "uq_quality_flag_array_type_observation_id_target_id")


def test_quality_flag_array_null_targets_collide(session, make):
    """Observation-wide flags (target NULL): at most one per type and observation (NULLS NOT DISTINCT)."""
    obs = make.observation()
    session.add(QualityFlagArray(observation=obs, target=None, quality_flags=np.zeros(4, np.int32)))
    session.add(PhotFlagsArray(observation=obs, target=None, quality_flags=np.zeros(4, np.int32)))
    session.flush()
    session.add(QualityFlagArray(observation=obs, target=None, quality_flags=np.ones(4, np.int32)))
    assert_violates(session, "uq_quality_flag_array_type_observation_id_target_id")


def test_quality_flag_array_null_targets_collide_in_raw_sql(session, make):
    obs = make.observation()
    session.flush()
    insert = sa.text("INSERT INTO quality_flag_array (type, observation_id, target_id, quality_flags) "
                     "VALUES ('base_quality_flag', :o, NULL, '{0}')")
    session.execute(insert, {"o": obs.id})
    with pytest.raises(IntegrityError):
        session.execute(insert, {"o": obs.id})
    session.rollback()


# ---- additions of docs/architecture.md -----------------------------------------------------------------


def test_instrument_name_unique_among_siblings(session, make):
    camera, other = make.instrument(name="GPC1"), make.instrument(name="MEGACAM")
    session.add_all([Instrument(name="XY01", parent=camera), Instrument(name="XY01", parent=other)])
    session.flush()
    session.add(Instrument(name="XY01", parent=camera))
    assert_violates(session, "uq_instrument_parent_id_name")


def test_instrument_top_level_names_unique(session, make):
    """NULLS NOT DISTINCT: two root instruments (parent NULL) cannot share a name."""
    make.instrument(name="2MASS_J")
    session.flush()
    make.instrument(name="2MASS_J")
    assert_violates(session, "uq_instrument_parent_id_name")


def test_data_set_unique_per_target_observation_group(session, make):
    ds = make.dataset()
    session.flush()
    make.dataset(target=ds.target, observation=ds.observation, processing_group=make.processing_group())
    session.flush()  # another processing group: a second version of the lightcurve
    make.dataset(target=ds.target, observation=ds.observation, processing_group=ds.processing_group)
    assert_violates(session, "uq_data_set_target_id_observation_id_processing_group_id")


def test_target_specific_time_unique_per_target_observation(session, make):
    tst = make.tst()
    session.flush()
    make.tst(target=tst.target, observation=tst.observation)
    assert_violates(session, "uq_target_specific_time_target_id_observation_id")


def test_dvo_observation_unique_per_table_instrument_filter(session, make):
    camera = make.instrument()
    make.observation(instrument=camera, catalog_table="n0000/0148", filter_name="g")
    make.observation(instrument=camera, catalog_table="n0000/0148", filter_name="r")
    session.flush()
    make.observation(instrument=camera, catalog_table="n0000/0148", filter_name="g")
    assert_violates(session, "uq_observation_catalog_table_instrument_id_filter_name")


# ---- foreign keys and NOT NULL -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO target (catalog_id, name) VALUES (999999, 1)",
        "INSERT INTO mission_catalog (host_mission_id, name) VALUES (gen_random_uuid(), 'x')",
        "INSERT INTO observation (type, cadence_reference, instrument_id) VALUES ('observation', '{}', gen_random_uuid())",
        "INSERT INTO quality_flag_array (type, observation_id, quality_flags) VALUES ('base_quality_flag', 999999, '{}')",
        "INSERT INTO mission (id, name, time_unit, time_epoch, time_epoch_scale, time_epoch_format, time_format_name) "
        "VALUES (gen_random_uuid(), 'm', 'day', NULL, 'tdb', 'jd', 'f')",
        "INSERT INTO data_set (processing_group_id, target_id, observation_id, values) VALUES (1, 1, 1, NULL)",
    ],
    ids=["target-catalog-fk", "catalog-mission-fk", "observation-instrument-fk", "flags-observation-fk",
         "mission-epoch-not-null", "data-set-values-not-null"],
)
def test_referential_integrity_and_required_columns(session, sql):
    with pytest.raises(IntegrityError):
        session.execute(sa.text(sql))
    session.rollback()


def test_created_on_set_by_server(session, make):
    mission = make.mission()
    catalog = make.catalog(host_mission=mission)
    flags = make.flags()
    session.flush()
    for obj in (mission, catalog, flags):
        session.refresh(obj)
        assert obj.created_on is not None and obj.created_on.tzinfo is not None
    # and for rows inserted in plain SQL
    ts = session.execute(sa.text(
        "INSERT INTO mission_catalog (host_mission_id, name) VALUES (:m, 'raw') RETURNING created_on"
    ), {"m": mission.id}).scalar_one()
    assert ts.tzinfo is not None


def test_mission_catalog_relationships(session, make):
    mission = Mission(name="TESS", description="Transiting Exoplanet Survey Satellite", time_unit="day",
                      time_epoch=2457000, time_epoch_scale="tdb", time_epoch_format="jd", time_format_name="btjd")
    tic = MissionCatalog(name="TIC", host_mission=mission)
    Target(name=1, catalog=tic)
    Target(name=2, catalog=tic)
    session.add(mission)
    session.flush()
    session.expire_all()
    assert [c.name for c in mission.catalogs] == ["TIC"]
    assert sorted(t.name for t in tic.targets) == [1, 2]
    assert tic.targets[0].catalog.host_mission is mission
