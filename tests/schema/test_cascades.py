"""Every cascade delete of the seed (plus Target -> TargetSpecificTime / QualityFlagArray), both through the
ORM session and in plain SQL (ON DELETE CASCADE in the database)."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa

from lcdb_schema import (
    DataSet,
    FITSFrame,
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
