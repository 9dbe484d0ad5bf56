"""The reference upsert on upstream LightcurveDB's rules: instrument and processing names may repeat and
catalog names are unique per mission only, yet reloading keeps every id (through lcdb's DVOInstrument
registry and the reference lock) and never adopts rows lcdb did not make."""

from __future__ import annotations

import uuid

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import orm

import lcdb_pipeline.loading as loading
from lcdb_pipeline.dvo import DVODatabase
from lcdb_pipeline.mapping import instrument_specs
from lcdb_pipeline.mapping.contract import MissionSpec
from lcdb_schema import DVOInstrument, Instrument, PhotometricSource, ProcessingGroup
from lcdb_schema.database import libpq_url, make_engine
from lcdb_schema.migrations import upgrade_database

MISSION = MissionSpec("Pan-STARRS1", "PS1 DVO", "dvo_unix")


@pytest.fixture(scope="module")
def specs(generated):
    return instrument_specs(DVODatabase(generated["ps1_v1"][0]).photcodes)


@pytest.fixture
def engine(make_database):
    url = make_database("reference")
    upgrade_database(url)
    eng = make_engine(url)
    yield eng
    eng.dispose()


def _instrument_ids(engine) -> dict[str, uuid.UUID]:
    """Path (camera or camera/chip) -> id, in a database where paths do not repeat."""
    pairs = _instrument_pairs(engine)
    ids = dict(pairs)
    assert len(ids) == len(pairs), "instrument paths repeat"
    return ids


def _instrument_pairs(engine) -> set[tuple[str, uuid.UUID]]:
    """(path, id) of every instrument: paths may repeat when names do."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT coalesce(p.name || '/', '') || i.name, i.id FROM instrument i "
            "LEFT JOIN instrument p ON p.id = i.parent_id")).all()
    return {(path, instrument_id) for path, instrument_id in rows}


def _spec_paths(specs) -> set[str]:
    return {s.name if s.parent is None else f"{s.parent}/{s.name}" for s in specs}


def test_reload_keeps_every_id_and_ignores_foreign_instruments_of_the_same_names(engine, specs):
    camera = next(s.name for s in specs if s.parent is None and any(c.parent == s.name for c in specs))
    with orm.Session(engine) as session:  # a user's own instrument, named like lcdb's camera
        session.add(Instrument(name=camera, properties={"owner": "someone else"}))
        session.commit()
    loading.upsert_reference(engine, MISSION, specs)
    first_refs = loading.reference_ids(engine, MISSION)
    with orm.Session(engine) as session:
        lcdb_camera = session.get(Instrument, first_refs.camera_ids[camera])
        session.add(Instrument(name=camera, properties={"owner": "added later"}))  # and one more, afterwards
        session.add(Instrument(name=lcdb_camera.children[0].name, parent=lcdb_camera, properties={}))
        session.commit()
    before = _instrument_pairs(engine)

    loading.upsert_reference(engine, MISSION, specs)
    assert loading.reference_ids(engine, MISSION) == first_refs
    with orm.Session(engine) as session:
        registered = set(session.scalars(sa.select(DVOInstrument.instrument_id)))
        foreign = session.scalars(sa.select(Instrument).where(Instrument.id.not_in(registered))).all()
        assert len(registered) == len(specs)
        assert sorted(i.properties.get("owner", "") for i in foreign if i.parent_id is None) == [
            "added later", "someone else"]
        assert session.get(Instrument, first_refs.camera_ids[camera]).properties["kind"] == "camera"
    assert _instrument_pairs(engine) == before  # nothing created, nothing renumbered


def test_duplicate_processing_names_resolve_to_the_oldest(engine, specs):
    loading.upsert_reference(engine, MISSION, specs)
    refs = loading.reference_ids(engine, MISSION)
    with orm.Session(engine) as session:  # names may repeat upstream: someone adds a second "psf"
        session.add(PhotometricSource(name="psf", description="another PSF photometry"))
        session.commit()
    loading.upsert_reference(engine, MISSION, specs)
    assert loading.reference_ids(engine, MISSION).processing_group_ids == refs.processing_group_ids
    with orm.Session(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ProcessingGroup)) == len(
            refs.processing_group_ids)


def test_two_missions_may_share_a_catalog_name(engine, specs):
    other = MissionSpec("CFHT", MISSION.catalog_name, "dvo_unix_cfht")
    loading.upsert_reference(engine, MISSION, specs)
    loading.upsert_reference(engine, other, specs)
    ps1, cfht = loading.reference_ids(engine, MISSION), loading.reference_ids(engine, other)
    assert ps1.catalog_id != cfht.catalog_id
    assert ps1.camera_ids == cfht.camera_ids  # one DVO instrument tree per database (docs/schema.md)


def test_a_camera_deleted_through_the_orm_is_recreated_with_its_chips_reattached(engine, specs):
    loading.upsert_reference(engine, MISSION, specs)
    before = _instrument_ids(engine)
    camera = next(s.name for s in specs if s.parent is None and any(c.parent == s.name for c in specs))
    with orm.Session(engine) as session:  # the ORM keeps the chips, as top-level instruments
        session.delete(session.get(Instrument, before[camera]))
        session.commit()
    loading.upsert_reference(engine, MISSION, specs)
    after = _instrument_ids(engine)
    assert set(after) == _spec_paths(specs)
    assert after[camera] != before[camera]
    assert {p: i for p, i in after.items() if p != camera} == {p: i for p, i in before.items() if p != camera}


def test_names_longer_than_upstreams_64_characters_are_refused_clearly(engine, specs):
    with pytest.raises(ValueError, match="mission name .* 65 characters .* at most 64"):
        loading.upsert_reference(engine, MissionSpec("M" * 65, "PS1 DVO", "dvo_unix"), specs)


def test_reload_after_upgrading_a_0002_database_keeps_instrument_ids(make_database, specs):
    """Instruments the loader made before revision 0003 (unique (parent_id, name) then) are registered by
    the upgrade, so the first reload afterwards keeps their ids."""
    url = make_database("reference_0002")
    upgrade_database(url, "0002")
    with psycopg.connect(libpq_url(url)) as conn:  # what the 0002 loader wrote: roots, then their chips
        made: dict[str, uuid.UUID] = {}
        for spec in sorted(specs, key=lambda s: s.parent is not None):
            made[spec.name if spec.parent is None else f"{spec.parent}/{spec.name}"] = uid = uuid.uuid4()
            conn.execute("INSERT INTO instrument (id, name, parent_id, properties) VALUES (%s, %s, %s, %s)",
                         (uid, spec.name, made[spec.parent] if spec.parent else None,
                          psycopg.types.json.Jsonb(spec.properties)))
    upgrade_database(url)
    engine = make_engine(url)
    try:
        loading.upsert_reference(engine, MISSION, specs)
        assert _instrument_ids(engine) == made
    finally:
        engine.dispose()
