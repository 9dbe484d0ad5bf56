"""Unique keys, NOT NULL and foreign keys as upstream LightcurveDB's models declare them (mit-kavli-institute/
lightcurvedb, src/lightcurvedb/models, July 2025; its tests test_mission.py, test_mission_catalog.py,
test_instrument.py say the same), plus lcdb's documented additions (docs/schema.md). Each rule: the violating
write raises IntegrityError naming the constraint, or the write upstream allows succeeds."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DataError, IntegrityError

from lcdb_schema import (
    DataSet,
    DetrendingMethod,
    DVOInstrument,
    FITSFrame,
    Instrument,
    Mission,
    MissionCatalog,
    PhotFlagsArray,
    PhotometricSource,
    ProcessingGroup,
    QualityFlagArray,
    Target,
    TargetSpecificTime,
)


def assert_violates(session, constraint: str) -> None:
    """Flushing the pending rows fails on the constraint named `constraint`."""
    with pytest.raises(IntegrityError) as info:
        session.flush()
    session.rollback()
    assert info.value.orig.diag.constraint_name == constraint


def assert_not_null(session, column: str) -> None:
    """Flushing the pending rows fails because `table.column` is NULL."""
    with pytest.raises(IntegrityError) as info:
        session.flush()
    session.rollback()
    table, name = column.split(".")
    assert (info.value.orig.diag.table_name, info.value.orig.diag.column_name) == (table, name)


# ---- unique keys ---------------------------------------------------------------------------------------


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


def test_mission_catalog_name_unique_per_mission(session, make):
    tess = make.mission()
    make.catalog(name="TIC", host_mission=tess)
    session.flush()
    make.catalog(name="TIC", host_mission=tess)
    assert_violates(session, "uq_mission_catalog_host_mission_id_name")


def test_same_catalog_name_in_two_missions(session, make):
    make.catalog(name="INPUT_CATALOG", host_mission=make.mission())
    make.catalog(name="INPUT_CATALOG", host_mission=make.mission())
    session.flush()
    assert session.scalar(sa.select(sa.func.count()).where(MissionCatalog.name == "INPUT_CATALOG")) == 2


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


def test_photometric_source_and_detrending_method_names_may_repeat(session):
    session.add_all([PhotometricSource(name="Aperture_2px", description="a"),
                     PhotometricSource(name="Aperture_2px", description="b"),
                     DetrendingMethod(name="PDC-SAP", description="a"),
                     DetrendingMethod(name="PDC-SAP", description="b")])
    session.flush()
    assert session.scalar(sa.select(sa.func.count()).where(PhotometricSource.name == "Aperture_2px")) == 2


def test_processing_group_pair_unique(session, make):
    group = make.processing_group()
    session.flush()
    session.add(ProcessingGroup(name="another name", description="same pair",
                                photometric_source=group.photometric_source,
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


def test_instrument_names_may_repeat(session, make):
    """Upstream's test_instrument_duplicate_name_allowed: no unique key on names, among roots or siblings."""
    camera = make.instrument(name="GPC1")
    make.instrument(name="GPC1")
    session.add_all([Instrument(name="XY01", parent=camera), Instrument(name="XY01", parent=camera)])
    session.flush()
    assert session.scalar(sa.select(sa.func.count()).where(Instrument.name == "GPC1")) == 2
    assert len(session.scalars(Instrument.query_for_instrument("XY01", parent_name="GPC1")).all()) == 2


def test_lightcurves_and_times_may_repeat(session, make):
    """Upstream declares no unique key on data_set or target_specific_time: a second lightcurve of the same
    target, observation and processing group is accepted (lcdb's loader writes one, docs/schema.md)."""
    ds, tst = make.dataset(), make.tst()
    make.dataset(target=ds.target, observation=ds.observation, processing_group=ds.processing_group)
    make.tst(target=tst.target, observation=tst.observation)
    session.flush()
    assert session.scalar(sa.select(sa.func.count()).select_from(DataSet).filter_by(target_id=ds.target_id)) == 2
    assert session.scalar(
        sa.select(sa.func.count()).select_from(TargetSpecificTime).filter_by(target_id=tst.target_id)) == 2


def test_dvo_observation_unique_per_table_instrument_filter(session, make):
    camera = make.instrument()
    make.observation(instrument=camera, catalog_table="n0000/0148", filter_name="g")
    make.observation(instrument=camera, catalog_table="n0000/0148", filter_name="r")
    session.flush()
    make.observation(instrument=camera, catalog_table="n0000/0148", filter_name="g")
    assert_violates(session, "uq_observation_catalog_table_instrument_id_filter_name")


def test_dvo_instrument_registry_unique_per_camera_and_chip(session, make):
    """lcdb's own table: one registered instrument per (camera, chip), the camera's own row (chip NULL) too."""
    session.add_all([DVOInstrument(instrument=make.instrument(), camera="GPC1", chip=None),
                     DVOInstrument(instrument=make.instrument(), camera="GPC1", chip="XY01")])
    session.flush()
    session.add(DVOInstrument(instrument=make.instrument(), camera="GPC1", chip=None))
    assert_violates(session, "uq_dvo_instrument_camera_chip")


# ---- NOT NULL and lengths ------------------------------------------------------------------------------

#: Every nullable column of the package's tables; every other column is NOT NULL. Upstream's nullable
#: columns (``Optional[...]`` / ``nullable=True``): instrument.parent_id, fits_frame.file_path,
#: data_set.errors, quality_flag_array.target_id; lcdb adds the DVO observation columns (nullable in the
#: shared single-table) and dvo_instrument.chip.
NULLABLE = {
    "instrument.parent_id", "fits_frame.file_path", "data_set.errors", "quality_flag_array.target_id",
    "observation.region", "observation.catalog_table", "observation.filter_name", "dvo_instrument.chip",
}


def test_exactly_the_upstream_columns_are_nullable(engine):
    with engine.connect() as conn:
        nullable = set(conn.execute(sa.text(
            "SELECT table_name || '.' || column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND is_nullable = 'YES' AND table_name <> 'lcdb_alembic_version'"
        )).scalars())
    assert nullable == NULLABLE


@pytest.mark.parametrize("model", ["mission", "catalog", "photometric_source", "detrending_method", "group"])
def test_description_is_required(session, make, model):
    """Upstream's NameAndDescriptionMixin: `description` NOT NULL (upstream test_mission_required_fields)."""
    build = {
        "mission": lambda: make.mission(description=None),
        "catalog": lambda: make.catalog(description=None),
        "photometric_source": lambda: session.add(PhotometricSource(name="psf")),
        "detrending_method": lambda: session.add(DetrendingMethod(name="relphot")),
        "group": lambda: make.processing_group(description=None),
    }[model]
    build()
    table = {"catalog": "mission_catalog", "group": "processing_group"}.get(model, model)
    assert_not_null(session, f"{table}.description")


def test_name_is_required(session, make):
    make.catalog(name=None)
    assert_not_null(session, "mission_catalog.name")


@pytest.mark.parametrize("table", ["mission", "mission_catalog", "photometric_source", "detrending_method",
                                   "processing_group"])
def test_mixin_names_hold_at_most_64_characters(engine, table):
    """Upstream's mixin declares ``name: String(64)``."""
    with engine.connect() as conn:
        length = conn.execute(sa.text(
            "SELECT character_maximum_length FROM information_schema.columns "
            "WHERE table_name = :t AND column_name = 'name'"), {"t": table}).scalar_one()
    assert length == 64


def test_a_name_of_65_characters_is_refused(session, make):
    make.mission(name="M" * 64)
    session.flush()
    make.mission(name="M" * 65)
    with pytest.raises(DataError, match="too long"):
        session.flush()
    session.rollback()


def test_instrument_properties_default_to_an_empty_object(session, make):
    """Upstream requires `properties`; lcdb defaults it to {} (a documented leniency), NULL is refused."""
    instrument = make.instrument()
    session.flush()
    session.refresh(instrument)
    assert instrument.properties == {}
    session.execute(sa.text("UPDATE instrument SET properties = '{\"kind\": \"camera\"}' WHERE id = :i"),
                    {"i": instrument.id})
    with pytest.raises(IntegrityError):
        session.execute(sa.text("UPDATE instrument SET properties = NULL WHERE id = :i"), {"i": instrument.id})
    session.rollback()


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO target (catalog_id, name) VALUES (999999, 1)",
        "INSERT INTO mission_catalog (host_mission_id, name, description) VALUES (gen_random_uuid(), 'x', 'x')",
        "INSERT INTO observation (type, cadence_reference, instrument_id) VALUES ('observation', '{}', gen_random_uuid())",
        "INSERT INTO instrument (id, name, parent_id) VALUES (gen_random_uuid(), 'orphan', gen_random_uuid())",
        "INSERT INTO quality_flag_array (type, observation_id, quality_flags) VALUES ('base_quality_flag', 999999, '{}')",
        "INSERT INTO mission (id, name, description, time_unit, time_epoch, time_epoch_scale, time_epoch_format, "
        "time_format_name) VALUES (gen_random_uuid(), 'm', 'd', 'day', NULL, 'tdb', 'jd', 'f')",
        "INSERT INTO data_set (processing_group_id, target_id, observation_id, values) VALUES (1, 1, 1, NULL)",
    ],
    ids=["target-catalog-fk", "catalog-mission-fk", "observation-instrument-fk", "instrument-parent-fk",
         "flags-observation-fk", "mission-epoch-not-null", "data-set-values-not-null"],
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
        "INSERT INTO mission_catalog (host_mission_id, name, description) VALUES (:m, 'raw', 'raw') "
        "RETURNING created_on"
    ), {"m": mission.id}).scalar_one()
    assert ts.tzinfo is not None


def test_mission_catalog_relationships(session, make):
    mission = Mission(name="TESS", description="Transiting Exoplanet Survey Satellite", time_unit="day",
                      time_epoch=2457000, time_epoch_scale="tdb", time_epoch_format="jd", time_format_name="btjd")
    tic = MissionCatalog(name="TIC", description="TESS Input Catalog", host_mission=mission)
    Target(name=1, catalog=tic)
    Target(name=2, catalog=tic)
    session.add(mission)
    session.flush()
    session.expire_all()
    assert [c.name for c in mission.catalogs] == ["TIC"]
    assert sorted(t.name for t in tic.targets) == [1, 2]
    assert tic.targets[0].catalog.host_mission is mission


# ---- every constraint at once, against upstream's list -------------------------------------------------

#: Unique keys: upstream's (seed-era models) and lcdb's two additions on its own columns/table.
UNIQUE = {
    "mission": {("name",), ("time_format_name",)},
    "mission_catalog": {("host_mission_id", "name")},
    "target": {("catalog_id", "name")},
    "processing_group": {("photometric_source_id", "detrending_method_id")},
    "fits_frame": {("type", "cadence")},
    "quality_flag_array": {("type", "observation_id", "target_id")},  # NULLS NOT DISTINCT
    "observation": {("catalog_table", "instrument_id", "filter_name")},  # lcdb: the DVO columns
    "dvo_instrument": {("camera", "chip")},  # lcdb's own table
}
#: Foreign keys -> (ON DELETE, ON UPDATE) as upstream declares them; the two target_id CASCADEs of
#: target_specific_time and quality_flag_array are lcdb's (docs/schema.md).
FOREIGN_KEYS = {
    "mission_catalog.host_mission_id": ("c", "a"), "target.catalog_id": ("c", "c"),
    "instrument.parent_id": ("c", "a"), "observation.instrument_id": ("c", "a"),
    "fits_frame.observation_id": ("c", "a"), "processing_group.photometric_source_id": ("a", "a"),
    "processing_group.detrending_method_id": ("a", "a"), "data_set.processing_group_id": ("c", "a"),
    "data_set.target_id": ("c", "a"), "data_set.observation_id": ("c", "a"),
    "target_specific_time.target_id": ("c", "a"), "target_specific_time.observation_id": ("c", "a"),
    "quality_flag_array.observation_id": ("c", "a"), "quality_flag_array.target_id": ("c", "a"),
    "dvo_instrument.instrument_id": ("c", "a"),
}


def test_unique_keys_are_upstreams(engine):
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT c.conrelid::regclass::text, array_agg(a.attname ORDER BY k.i) FROM pg_constraint c "
            "CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY k(attnum, i) "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum "
            "WHERE c.contype = 'u' AND c.connamespace = 'public'::regnamespace GROUP BY c.oid, 1"
        )).all()
        unique_indexes = conn.execute(sa.text(
            "SELECT indexrelid::regclass::text FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
            "WHERE i.indisunique AND NOT i.indisprimary AND t.relnamespace = 'public'::regnamespace "
            "AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
        )).scalars().all()
    found: dict[str, set] = {}
    for table, columns in rows:
        found.setdefault(table, set()).add(tuple(columns))
    assert found == UNIQUE
    assert unique_indexes == []  # no unique key hides in an index either


def test_foreign_key_actions_are_upstreams(engine):
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT c.conrelid::regclass::text || '.' || a.attname, c.confdeltype, c.confupdtype "
            "FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace"
        )).all()
    assert {column: (delete, update) for column, delete, update in rows} == FOREIGN_KEYS
