"""Every cascade delete of upstream LightcurveDB's models (Mission -> MissionCatalog -> Target -> DataSet;
Observation -> its products; Instrument -> its children and observations; ProcessingGroup -> DataSet) plus
lcdb's Target -> TargetSpecificTime / QualityFlagArray, through the ORM session and in plain SQL (ON DELETE
CASCADE in the database)."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa

from lcdb_schema import (
    DataSet,
    DVOInstrument,
    FITSFrame,
    Instrument,
    Mission,
    MissionCatalog,
    Observation,
    PhotFlagsArray,
    ProcessingGroup,
    QualityFlagArray,
    Target,
    TargetSpecificTime,
)

CHILDREN = (FITSFrame, TargetSpecificTime, DataSet, QualityFlagArray)


def count(session, model, **where) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model).filter_by(**where))


@pytest.fixture
def world(session, make):
    """Two observations, two targets, each with frames, times, datasets and flags; the second of each pair
    must survive deleting the first."""
    group = make.processing_group()
    obs = [make.observation(n=3), make.observation(n=3)]
    targets = [make.target(), make.target()]
    for o in obs:
        for c in range(2):
            session.add(FITSFrame(observation=o, cadence=make.n(), bitpix=16, naxis=1, naxis_values=[3]))
        session.add(QualityFlagArray(observation=o, target=None, quality_flags=np.zeros(3, np.int32)))
        for t in targets:
            make.tst(target=t, observation=o)
            make.dataset(target=t, observation=o, processing_group=group)
            make.flags(PhotFlagsArray, target=t, observation=o)
    session.flush()
    return {"group": group, "obs": obs, "targets": targets}


def delete(session, obj, how: str) -> None:
    if how == "orm":
        session.delete(obj)
        session.flush()
    else:
        table = type(obj).__table__
        session.execute(sa.delete(table).where(table.c.id == obj.id))
    session.expire_all()


@pytest.mark.parametrize("how", ["orm", "sql"])
def test_delete_observation_deletes_its_products(session, world, how):
    gone, kept = world["obs"]
    gone_id = gone.id
    delete(session, gone, how)
    assert count(session, Observation, id=gone_id) == 0
    for model in CHILDREN:
        assert count(session, model, observation_id=gone_id) == 0, model.__name__
        assert count(session, model, observation_id=kept.id) > 0, model.__name__
    assert count(session, Target) >= 2  # targets are not owned by observations


@pytest.mark.parametrize("how", ["orm", "sql"])
def test_delete_processing_group_deletes_its_datasets(session, world, how):
    group = world["group"]
    group_id = group.id
    n_before = count(session, DataSet)
    delete(session, group, how)
    assert count(session, ProcessingGroup, id=group_id) == 0
    assert count(session, DataSet, processing_group_id=group_id) == 0
    assert n_before == 4
    assert count(session, Observation) >= 2 and count(session, TargetSpecificTime) == 4


@pytest.mark.parametrize("how", ["orm", "sql"])
def test_delete_target_deletes_its_datasets_times_and_flags(session, world, how):
    gone, kept = world["targets"]
    gone_id = gone.id
    delete(session, gone, how)
    for model in (DataSet, TargetSpecificTime, QualityFlagArray):
        assert count(session, model, target_id=gone_id) == 0, model.__name__
        assert count(session, model, target_id=kept.id) == 2, model.__name__
    # observation-wide flags (no target) and the observations themselves stay
    assert count(session, QualityFlagArray, target_id=None) == 2
    assert count(session, Observation) >= 2


def test_orm_delete_orphan_removes_rows_taken_out_of_collections(session, world):
    obs = world["obs"][0]
    dataset = obs.datasets[0]
    obs.datasets.remove(dataset)
    session.flush()
    assert count(session, DataSet, id=dataset.id) == 0


def test_orm_cascade_with_loaded_collections(session, world):
    """With the collections loaded the ORM deletes children itself (no stale objects left in the session)."""
    obs = world["obs"][0]
    children = [*obs.fits_frames, *obs.target_specific_times, *obs.datasets, *obs.quality_flag_arrays]
    session.delete(obs)
    session.flush()
    assert all(sa.inspect(child).deleted for child in children)


@pytest.fixture
def catalogs(session, make):
    """Two missions, each with a catalog of two targets observed (times, lightcurve, flags) in one
    observation; deleting the first mission or catalog must leave the second world whole."""
    group, obs = make.processing_group(), make.observation(n=3)
    worlds = []
    for _ in range(2):
        catalog = make.catalog(host_mission=make.mission())
        targets = [make.target(catalog=catalog), make.target(catalog=catalog)]
        for t in targets:
            make.tst(target=t, observation=obs)
            make.dataset(target=t, observation=obs, processing_group=group)
            make.flags(PhotFlagsArray, target=t, observation=obs)
        worlds.append({"mission": catalog.host_mission, "catalog": catalog, "targets": targets})
    session.flush()
    for world in worlds:  # ids, readable after the rows are gone
        world.update(catalog_id=world["catalog"].id, mission_id=world["mission"].id,
                     target_ids=[t.id for t in world["targets"]])
    return worlds


def _assert_world(session, world, alive: bool) -> None:
    ids = world["target_ids"]
    assert count(session, MissionCatalog, id=world["catalog_id"]) == (1 if alive else 0)
    for model in (Target, DataSet, TargetSpecificTime, QualityFlagArray):
        column = Target.id if model is Target else model.target_id
        n = session.scalar(sa.select(sa.func.count()).select_from(model).where(column.in_(ids)))
        assert n == (2 if alive else 0), model.__name__


@pytest.mark.parametrize("how", ["orm", "sql"])
def test_delete_mission_deletes_its_catalogs_targets_and_their_products(session, catalogs, how):
    """Upstream's test_mission_cascade_delete_catalogs, followed down to the lightcurves."""
    gone, kept = catalogs
    delete(session, gone["mission"], how)
    assert count(session, Mission, id=gone["mission_id"]) == 0
    _assert_world(session, gone, alive=False)
    _assert_world(session, kept, alive=True)
    assert count(session, Observation) >= 1  # observations belong to instruments, not to missions


@pytest.mark.parametrize("how", ["orm", "sql"])
def test_delete_catalog_deletes_its_targets_and_their_products(session, catalogs, how):
    """Upstream's test_catalog_cascade_delete_targets."""
    gone, kept = catalogs
    delete(session, gone["catalog"], how)
    _assert_world(session, gone, alive=False)
    _assert_world(session, kept, alive=True)
    assert count(session, Mission, id=gone["mission_id"]) == 1


def test_catalog_id_update_cascades_to_its_targets(session, catalogs):
    """target.catalog_id is ON UPDATE CASCADE upstream: renumbering a catalog keeps its targets in it."""
    world = catalogs[0]
    old_id, ids = world["catalog_id"], world["target_ids"]
    session.execute(sa.update(MissionCatalog.__table__).where(MissionCatalog.__table__.c.id == old_id)
                    .values(id=old_id + 1_000_000))
    session.expire_all()
    assert sorted(session.scalars(sa.select(Target.id).filter_by(catalog_id=old_id + 1_000_000))) == sorted(ids)


@pytest.fixture
def camera(session, make):
    """A camera with two chips, an observation of the camera with products, a registry row per instrument."""
    cam = make.instrument(name="GPC1")
    chips = [Instrument(name=f"XY0{i}", parent=cam) for i in (1, 2)]
    obs = make.observation(instrument=cam, n=3)
    make.dataset(observation=obs)
    make.tst(observation=obs)
    session.add_all([*chips, DVOInstrument(instrument=cam, camera="GPC1", chip=None),
                     *(DVOInstrument(instrument=c, camera="GPC1", chip=c.name) for c in chips)])
    session.flush()
    return {"camera": cam, "chips": chips, "observation": obs}


def test_delete_instrument_in_sql_deletes_its_children_and_observations(session, camera):
    obs_id, chip_ids = camera["observation"].id, [c.id for c in camera["chips"]]
    delete(session, camera["camera"], "sql")
    assert session.scalar(sa.select(sa.func.count()).where(Instrument.id.in_(chip_ids))) == 0
    assert count(session, Observation, id=obs_id) == 0
    assert count(session, DataSet, observation_id=obs_id) == count(session, TargetSpecificTime,
                                                                   observation_id=obs_id) == 0
    assert count(session, DVOInstrument) == 0  # lcdb's registry rows go with their instruments


def test_delete_instrument_in_orm_keeps_its_children_as_roots(session, camera):
    """Upstream's test_instrument_cascade_behavior: through the session the children survive with parent_id
    NULL; the camera's observations (NOT NULL instrument) are deleted with their products."""
    obs_id, chip_ids = camera["observation"].id, [c.id for c in camera["chips"]]
    delete(session, camera["camera"], "orm")
    chips = session.scalars(sa.select(Instrument).where(Instrument.id.in_(chip_ids))).all()
    assert len(chips) == 2 and all(c.parent_id is None and c.parent is None for c in chips)
    assert count(session, Observation, id=obs_id) == 0 and count(session, DataSet, observation_id=obs_id) == 0
    assert sorted(session.scalars(sa.select(DVOInstrument.chip).where(DVOInstrument.chip.is_not(None)))) == [
        "XY01", "XY02"]
