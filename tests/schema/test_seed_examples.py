"""The seed's (000) examples, as written: mission-specific Observation subclasses (TESS, HST), the
single-table and joined-table QualityFlagArray extensions (with a `calibration_lamp` table), the instrument
tree, a target's lightcurves by TIC id, quality-flag masks and polymorphic queries.

The classes below extend `LCDBModel.metadata` for the rest of this test process (mapped classes cannot be
removed), so this module builds its database with `create_all`; the migration test compares the migrated
schema with the package's models in a fresh interpreter, where these classes do not exist.
"""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.orm import with_polymorphic

from lcdb_schema import (
    DataSet,
    DetrendingMethod,
    DVOObservation,
    Instrument,
    LCDBModel,
    Mission,
    MissionCatalog,
    Observation,
    PhotFlagsArray,
    PhotometricSource,
    ProcessingGroup,
    QualityFlagArray,
    Target,
    TargetSpecificTime,
)
from lcdb_schema.database import make_engine
from lcdb_schema.migrations import upgrade_database

# ---- the seed's extension classes, verbatim ------------------------------------------------------------


class TESSObservation(Observation):
    """TESS-specific observation with orbit and sector information."""

    __mapper_args__ = {
        "polymorphic_identity": "tess_observation",
    }

    # TESS-specific fields
    sector: orm.Mapped[int]
    orbit_number: orm.Mapped[int]
    spacecraft_quaternion: orm.Mapped[dict]  # Store as JSON
    cosmic_ray_mitigation: orm.Mapped[bool]


class HSTObservation(Observation):
    """Hubble Space Telescope observation with visit information."""

    __mapper_args__ = {
        "polymorphic_identity": "hst_observation",
    }

    visit_id: orm.Mapped[str]
    program_id: orm.Mapped[int]
    filter_name: orm.Mapped[str]
    exposure_time: orm.Mapped[float]


class TESSQualityFlags(QualityFlagArray):
    """TESS-specific quality flags with known bit definitions."""

    __mapper_args__ = {
        "polymorphic_identity": "tess_quality",
    }

    @property
    def cosmic_ray_events(self):
        """Return mask of cosmic ray events (bit 0)."""
        flags = np.array(self.quality_flags, dtype=np.int32)
        return (flags & 1) != 0

    @property
    def saturated_pixels(self):
        """Return mask of saturated pixels (bit 1)."""
        flags = np.array(self.quality_flags, dtype=np.int32)
        return (flags & 2) != 0

    @property
    def spacecraft_anomaly(self):
        """Return mask of spacecraft anomalies (bit 4)."""
        flags = np.array(self.quality_flags, dtype=np.int32)
        return (flags & 16) != 0


class CalibrationLamp(LCDBModel):
    """The table the seed's SpectroscopicQualityFlags refers to (the seed does not define it)."""

    __tablename__ = "calibration_lamp"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    name: orm.Mapped[str]


class SpectroscopicQualityFlags(QualityFlagArray):
    """Quality flags for spectroscopic observations."""

    __tablename__ = "spectroscopic_quality_flags"
    __mapper_args__ = {
        "polymorphic_identity": "spectroscopic_quality",
    }

    # Primary key also serves as foreign key to parent table
    id = orm.mapped_column(sa.ForeignKey("quality_flag_array.id"), primary_key=True)

    # Additional columns specific to spectroscopic data
    wavelength_calibration_quality = orm.mapped_column(
        sa.types.Float, comment="Wavelength calibration quality score (0-1)"
    )
    spectral_resolution = orm.mapped_column(sa.types.Float, comment="Actual spectral resolution achieved")
    calibration_lamp_id = orm.mapped_column(sa.ForeignKey("calibration_lamp.id"), nullable=True)

    @property
    def wavelength_drift(self):
        """Return mask of wavelength drift (bit 8)."""
        flags = np.array(self.quality_flags, dtype=np.int32)
        return (flags & 256) != 0


class PhotometricQualityFlags(QualityFlagArray):
    """Quality flags for photometric observations."""

    __tablename__ = "photometric_quality_flags"
    __mapper_args__ = {
        "polymorphic_identity": "photometric_quality",
    }

    id = orm.mapped_column(sa.ForeignKey("quality_flag_array.id"), primary_key=True)

    # Photometry-specific metadata
    sky_background_level = orm.mapped_column(sa.types.Float, comment="Median sky background in counts")
    fwhm = orm.mapped_column(sa.types.Float, comment="Full width at half maximum of PSF")
    extinction_coefficient = orm.mapped_column(sa.types.Float, nullable=True)


# ---- fixtures ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine(database_url):
    """This module's database holds the extension tables/columns too: create_all of the whole metadata."""
    eng = make_engine(database_url)
    LCDBModel.metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def filled(engine):
    """TIC 12345678 observed by TESS (observation 12345) with two lightcurves, times and flags; an HST and a
    DVO observation; target 67890 -- the ids the seed's examples use."""
    with orm.Session(engine) as session:
        mission = Mission(name="TESS", description="Transiting Exoplanet Survey Satellite", time_unit="day",
                          time_epoch=2457000, time_epoch_scale="tdb", time_epoch_format="jd",
                          time_format_name="btjd")
        tic = MissionCatalog(name="TIC", description="TESS Input Catalog", host_mission=mission)
        target = Target(name=12345678, catalog=tic)
        other = Target(id=67890, name=67890, catalog=tic)
        camera = Instrument(name="Camera 1")
        hubble = Instrument(name="WFC3")
        tess = TESSObservation(id=12345, instrument=camera, cadence_reference=np.arange(4), sector=1,
                               orbit_number=9, spacecraft_quaternion={"q": [1, 0, 0, 0]},
                               cosmic_ray_mitigation=True)
        hst = HSTObservation(instrument=hubble, cadence_reference=np.arange(2), visit_id="01", program_id=12345,
                             filter_name="F555W", exposure_time=350.0)
        dvo = DVOObservation(instrument=camera, cadence_reference=np.arange(3), region="n0000",
                             catalog_table="n0000/0148", filter_name="g")
        # descriptions are required (NOT NULL), as in upstream LightcurveDB
        aperture = PhotometricSource(name="Aperture_2px", description="2 pixel radius aperture")
        sap = ProcessingGroup(name="SAP", description="Simple aperture photometry", photometric_source=aperture,
                              detrending_method=DetrendingMethod(name="None", description="No detrending"))
        pdc = ProcessingGroup(name="PDC-SAP", description="Aperture photometry, PDC detrended",
                              photometric_source=aperture, detrending_method=DetrendingMethod(
                                  name="PDC-SAP", description="Pre-search Data Conditioning"))
        session.add_all([
            DataSet(target=target, observation=tess, processing_group=sap, values=np.array([1.0, 2.0, 3.0, 4.0])),
            DataSet(target=target, observation=tess, processing_group=pdc, values=np.array([1.0, 1.0, 1.0, 1.0])),
            TargetSpecificTime(target=target, observation=tess, barycentric_julian_dates=np.linspace(0, 1, 4)),
            QualityFlagArray(observation=tess, target=target, quality_flags=np.array([0, 1, 3, 2], np.int32)),
            other, hst, dvo,
        ])
        session.commit()


@pytest.fixture
def session(engine, filled):
    with orm.Session(engine) as sess:
        yield sess
        sess.rollback()


# ---- mission-specific observations ---------------------------------------------------------------------


def test_single_table_subclass_columns_are_nullable(engine):
    """The seed's `Mapped[int]` fields become nullable columns: other observation types share the table."""
    columns = {c["name"]: c for c in sa.inspect(engine).get_columns("observation")}
    for name in ("sector", "orbit_number", "spacecraft_quaternion", "cosmic_ray_mitigation", "visit_id",
                 "program_id", "exposure_time", "filter_name", "region", "catalog_table"):
        assert columns[name]["nullable"], name
    assert not columns["type"]["nullable"] and not columns["cadence_reference"]["nullable"]
    assert str(columns["spacecraft_quaternion"]["type"]) == "JSONB"


def test_hst_and_dvo_share_the_filter_name_column():
    assert HSTObservation.__table__ is Observation.__table__
    assert HSTObservation.filter_name.property.columns[0] is DVOObservation.filter_name.property.columns[0]


def test_querying_mission_specific_data(session, capsys):
    # Query all observations (any mission)
    all_obs = session.query(Observation).all()

    # Query only TESS observations
    tess_obs = session.query(TESSObservation).filter_by(sector=1).all()

    # Polymorphic loading - automatically returns correct subclass
    obs = session.query(Observation).first()
    if isinstance(obs, TESSObservation):
        print(f"TESS Sector: {obs.sector}")

    assert {type(o) for o in all_obs} == {TESSObservation, HSTObservation, DVOObservation}
    assert [o.id for o in tess_obs] == [12345] and tess_obs[0].spacecraft_quaternion == {"q": [1, 0, 0, 0]}
    assert capsys.readouterr().out == "TESS Sector: 1\n"
    hst = session.query(HSTObservation).one()
    assert (hst.filter_name, hst.exposure_time, hst.program_id) == ("F555W", 350.0, 12345)
    assert session.query(DVOObservation).one().filter_name == "g"


def test_single_table_subclass_queries_filter_on_type(session):
    assert session.query(TESSObservation).count() == 1
    assert session.query(HSTObservation).count() == 1
    assert session.query(Observation).count() == 3


# ---- usage examples ------------------------------------------------------------------------------------


def test_creating_instrument_hierarchy(session):
    # Create camera with CCDs
    camera = Instrument(name="TESS Camera 1")
    ccd1 = Instrument(name="CCD 1", parent=camera)
    ccd2 = Instrument(name="CCD 2", parent=camera)
    session.add_all([camera, ccd1, ccd2])

    session.flush()
    session.expire_all()
    camera = session.query(Instrument).filter_by(name="TESS Camera 1").one()
    assert camera.parent is None
    assert sorted(c.name for c in camera.children) == ["CCD 1", "CCD 2"]
    assert all(c.parent is camera for c in camera.children)
    # deeper trees work the same way
    amp = Instrument(name="Amplifier A", parent=camera.children[0], properties={"gain": 5.2})
    session.add(amp)
    session.flush()
    session.expire_all()
    amp = session.query(Instrument).filter_by(name="Amplifier A").one()
    assert amp.parent.parent is camera and amp.properties == {"gain": 5.2}


def test_querying_a_targets_lightcurves(session, capsys):
    # Get all lightcurves for a specific TIC ID
    target = session.query(Target).filter_by(name=12345678).first()
    lightcurves = target.datasets

    # Get lightcurves with specific processing
    for lc in lightcurves:
        print(f"Processing: {lc.processing_group.name}")
        print(f"Values: {lc.values}")

    out = capsys.readouterr().out
    assert "Processing: SAP\nValues: [1. 2. 3. 4.]\n" in out
    assert "Processing: PDC-SAP\nValues: [1. 1. 1. 1.]\n" in out


def test_working_with_quality_flags(session, capsys):
    # Get quality flags for a specific target observation
    target = session.query(Target).filter_by(name=12345678).first()
    observation = target.observations[0]

    # Get quality flags for this target in this observation
    quality_flags = session.query(QualityFlagArray).filter_by(
        observation=observation,
        target=target,
        type="base_quality_flag"
    ).first()

    if quality_flags:
        # Check for cosmic ray events (bit 0)
        cosmic_ray_mask = (quality_flags.quality_flags & 1) != 0
        num_cosmic_rays = np.sum(cosmic_ray_mask)
        print(f"Found {num_cosmic_rays} cadences with cosmic ray events")

        # Check for saturated pixels (bit 1)
        saturation_mask = (quality_flags.quality_flags & 2) != 0
        print(f"Saturated in {np.sum(saturation_mask)} cadences")

    assert observation.id == 12345 and isinstance(observation, TESSObservation)
    assert capsys.readouterr().out == "Found 2 cadences with cosmic ray events\nSaturated in 2 cadences\n"


def test_target_observations_is_distinct_and_read_only(session):
    target = session.query(Target).filter_by(name=12345678).one()
    # two datasets and a time series in the same observation: listed once
    assert [o.id for o in target.observations] == [12345]
    assert [t.name for t in target.observations[0].targets] == [12345678]
    assert session.get(Target, 67890).observations == []


def test_model_docstring_examples_construct():
    mission = Mission(name="TESS", description="Transiting Exoplanet Survey Satellite")
    camera = Instrument(name="TESS Camera 1")
    ccd = Instrument(name="CCD 1", parent=camera)
    aperture_2px = PhotometricSource(name="Aperture_2px", description="2 pixel radius aperture")
    pdc = DetrendingMethod(name="PDC-SAP", description="Pre-search Data Conditioning")
    assert mission.name == "TESS" and ccd in camera.children
    assert aperture_2px.description and pdc.name == "PDC-SAP"


# ---- quality-flag extensions ---------------------------------------------------------------------------


@pytest.fixture
def flag_rows(session):
    """The seed's flag examples on observation 12345 / target 67890, plus one of each extension class."""
    # Creating observation-wide quality flags:
    obs_flags = QualityFlagArray(
        observation_id=12345,
        quality_flags=np.array([0, 1, 4, 5], dtype=np.int32)
    )
    # Creating target-specific quality flags:
    target_flags = QualityFlagArray(
        observation_id=12345,
        target_id=67890,
        quality_flags=np.array([0, 0, 2, 8], dtype=np.int32)
    )
    lamp = CalibrationLamp(name="ThAr")
    session.add_all([
        obs_flags,
        target_flags,
        TESSQualityFlags(observation_id=12345, target_id=67890, quality_flags=np.array([1, 2, 16, 19], np.int32)),
        SpectroscopicQualityFlags(observation_id=12345, target_id=67890, quality_flags=np.array([256, 0, 0, 0], np.int32),
                                  wavelength_calibration_quality=0.9, spectral_resolution=40000.0,
                                  calibration_lamp_id=None),
        PhotometricQualityFlags(observation_id=12345, target_id=67890, quality_flags=np.zeros(4, np.int32),
                                sky_background_level=120.5, fwhm=1.8),
        lamp,
    ])
    session.flush()
    session.expire_all()
    return obs_flags, target_flags


def test_interpreting_bit_flags(session, flag_rows):
    obs_flags, target_flags = flag_rows
    for flags in (obs_flags, target_flags):
        # Bit 0: Cosmic ray
        # Bit 1: Saturation
        # Bit 2: Bad pixel
        cosmic_ray_mask = (flags.quality_flags & 1) != 0
        saturated_mask = (flags.quality_flags & 2) != 0
        assert cosmic_ray_mask.dtype == bool and cosmic_ray_mask.shape == (4,)
    np.testing.assert_array_equal((obs_flags.quality_flags & 1) != 0, [False, True, False, True])
    np.testing.assert_array_equal(saturated_mask, [False, False, True, False])


def test_polymorphic_flag_queries(session, flag_rows):
    # Query all quality flags for an observation
    all_flags = session.query(QualityFlagArray).filter_by(
        observation_id=12345
    ).all()

    # Query only TESS quality flags
    tess_flags = session.query(TESSQualityFlags).filter_by(
        observation_id=12345
    ).all()

    # Filter by polymorphic type
    spectro_only = session.query(QualityFlagArray).filter_by(
        type="spectroscopic_quality"
    ).all()

    assert {type(f) for f in all_flags} == {QualityFlagArray, TESSQualityFlags, SpectroscopicQualityFlags,
                                           PhotometricQualityFlags}
    assert len(tess_flags) == 1
    np.testing.assert_array_equal(tess_flags[0].cosmic_ray_events, [True, False, False, True])
    np.testing.assert_array_equal(tess_flags[0].saturated_pixels, [False, True, False, True])
    np.testing.assert_array_equal(tess_flags[0].spacecraft_anomaly, [False, False, True, True])
    assert len(spectro_only) == 1 and isinstance(spectro_only[0], SpectroscopicQualityFlags)
    np.testing.assert_array_equal(spectro_only[0].wavelength_drift, [True, False, False, False])


def test_with_polymorphic_joined_loading(session, flag_rows, engine, capsys):
    poly_flags = with_polymorphic(
        QualityFlagArray,
        [SpectroscopicQualityFlags, PhotometricQualityFlags]
    )
    query = session.query(poly_flags).filter(
        poly_flags.observation_id == 12345
    )

    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        # Access subclass-specific attributes without additional queries
        for flag in query:
            if isinstance(flag, SpectroscopicQualityFlags):
                print(f"Spectral resolution: {flag.spectral_resolution}")
            elif isinstance(flag, PhotometricQualityFlags):
                print(f"Sky background: {flag.sky_background_level}")
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    out = capsys.readouterr().out
    assert "Spectral resolution: 40000.0\n" in out and "Sky background: 120.5\n" in out
    assert len(statements) == 1, statements  # one SELECT with the LEFT OUTER JOINs


def test_joined_table_rows_are_in_their_tables(session, flag_rows):
    assert session.execute(sa.text("SELECT count(*) FROM spectroscopic_quality_flags")).scalar_one() == 1
    assert session.execute(sa.text("SELECT count(*) FROM photometric_quality_flags")).scalar_one() == 1
    assert session.execute(sa.text(
        "SELECT type FROM quality_flag_array q JOIN photometric_quality_flags p USING (id)"
    )).scalar_one() == "photometric_quality"


# ---- the extension classes do not disturb a migrated database ------------------------------------------


def test_migrated_database_works_with_extension_classes_defined(make_database):
    """In a process where these classes exist, a database migrated to head (without their columns and
    tables) still takes and returns DVO observations and flags: single-table siblings' columns are not
    part of a DVO insert or a base-class query."""
    url = make_database("seed_examples_migrated")
    upgrade_database(url)
    eng = make_engine(url)
    try:
        with orm.Session(eng) as session:
            camera = Instrument(name="GPC1")
            obs = DVOObservation(instrument=camera, cadence_reference=np.arange(2), region="n0000",
                                 catalog_table="n0000/0001", filter_name="r")
            session.add(PhotFlagsArray(observation=obs, quality_flags=np.array([0, -1], np.int32)))
            session.commit()
            session.expire_all()
            assert [type(o) for o in session.query(Observation).all()] == [DVOObservation]
            flags = session.query(QualityFlagArray).one()
            assert isinstance(flags, PhotFlagsArray) and flags.mask(0x80000000).tolist() == [False, True]
            session.delete(obs)
            session.commit()
    finally:
        eng.dispose()


def test_joined_subclass_without_ondelete_cascade_blocks_sql_delete(session, flag_rows):
    """Documented caveat (docs/schema.md): the seed's joined-table subclasses declare their id foreign key
    without ON DELETE CASCADE, so the database refuses to cascade an observation's deletion into them."""
    with pytest.raises(sa.exc.IntegrityError) as info:
        session.execute(sa.text("DELETE FROM observation WHERE id = 12345"))
    assert "quality_flag_array" in str(info.value.orig)
    session.rollback()
