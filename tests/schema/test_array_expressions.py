"""Array expressions on the numpy array columns compile and run in ORM queries, through lcdb's engine and a
plain `create_engine` one: elements (PostgreSQL's 1-based indexes), slices (read back as numpy), ANY/ALL,
containment, whole-array equality, array functions."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy import orm

from lcdb_schema import DataSet, Observation, QualityFlagArray, TargetSpecificTime

from .factory import Factory


@pytest.fixture(params=["make_engine", "create_engine"])
def session(request, engine, database_url):
    """A rolled-back session on lcdb's engine or on a plain `sa.create_engine` one."""
    eng = engine if request.param == "make_engine" else sa.create_engine(database_url)
    with eng.connect() as connection:
        outer = connection.begin()
        with orm.Session(bind=connection, join_transaction_mode="create_savepoint") as sess:
            yield sess
        outer.rollback()
    if eng is not engine:
        eng.dispose()


@pytest.fixture
def sky(session):
    """One observation of 4 cadences, three targets whose BJDs start 0.1 d apart, their lightcurves."""
    make = Factory(session)
    obs = make.observation(cadence_reference=np.array([1000, 2000, 3000, 4000]))
    group = make.processing_group()
    rows = []
    for k in range(3):
        target = make.target()
        bjd = 2457000.0 + 0.1 * k + np.arange(4.0)
        make.tst(target=target, observation=obs, barycentric_julian_dates=bjd)
        values = np.array([10.0 + k, 11.0 + k, np.nan, 13.0 + k])
        make.dataset(target=target, observation=obs, processing_group=group, values=values,
                     errors=np.full(4, 0.01 * (k + 1)))
        make.flags(target=target, observation=obs, quality_flags=np.array([0, 1 << k, 0, 0x80000000], np.uint32))
        rows.append({"target": target, "bjd": bjd, "values": values})
    session.flush()
    return {"obs": obs, "rows": rows}


def test_element_comparison_the_issue_example(session, sky):
    x = 2457000.15  # between the second and third target's first BJD
    tst = TargetSpecificTime
    got = session.scalars(sa.select(tst.target_id).where(tst.barycentric_julian_dates[1] > x)
                          .order_by(tst.target_id)).all()
    assert got == [sky["rows"][2]["target"].id]


def test_indexes_are_one_based_and_take_numpy_integers(session, sky):
    ds = DataSet
    firsts = session.scalars(sa.select(ds.values[np.int64(1)]).order_by(ds.target_id)).all()
    assert firsts == [row["values"][0] for row in sky["rows"]]
    cadence = session.scalar(sa.select(Observation.cadence_reference[4]).filter_by(id=sky["obs"].id))
    assert cadence == 4000


def test_slices_read_back_as_numpy_arrays(session, sky):
    got = session.scalars(sa.select(DataSet.values[2:3]).order_by(DataSet.target_id)).all()
    for array, row in zip(got, sky["rows"]):
        assert isinstance(array, np.ndarray) and array.dtype == np.float64
        np.testing.assert_array_equal(array, row["values"][1:3])  # PostgreSQL slices include both ends
    flags = session.scalar(sa.select(QualityFlagArray.quality_flags[3:4])
                           .filter_by(target_id=sky["rows"][0]["target"].id))
    assert flags.dtype == np.int32 and flags.view(np.uint32).tolist() == [0, 0x80000000]


def test_any_and_all(session, sky):
    obs = session.scalars(sa.select(Observation).where(sa.any_(Observation.cadence_reference) == np.int64(3000))).all()
    assert [o.id for o in obs] == [sky["obs"].id]
    assert session.scalars(sa.select(Observation).where(sa.any_(Observation.cadence_reference) == 3001)).all() == []
    small_errors = session.scalars(sa.select(DataSet.target_id).where(sa.all_(DataSet.errors) < 0.025)
                                   .order_by(DataSet.target_id)).all()
    assert small_errors == [row["target"].id for row in sky["rows"][:2]]


def test_containment_overlap_and_equality_take_numpy_and_lists(session, sky):
    cadences = Observation.cadence_reference
    for array in (np.array([2000, 4000]), [2000, 4000]):
        assert session.scalar(sa.select(sa.func.count()).where(cadences.contains(array))) == 1
    assert session.scalar(sa.select(sa.func.count()).where(cadences.overlap(np.array([4000, 9999])))) == 1
    assert session.scalar(sa.select(sa.func.count()).where(cadences.contained_by(np.arange(0, 5001, 1000)))) == 1
    assert session.scalar(sa.select(sa.func.count()).where(cadences == np.array([1000, 2000, 3000, 4000]))) == 1
    assert session.scalar(sa.select(sa.func.count()).where(cadences == np.array([1000, 2000]))) == 0


def test_elements_in_order_by_and_array_functions(session, sky):
    tst = TargetSpecificTime
    latest_first = session.scalars(sa.select(tst.target_id).order_by(tst.barycentric_julian_dates[1].desc())).all()
    assert latest_first == [row["target"].id for row in reversed(sky["rows"])]
    lengths = session.scalars(sa.select(sa.func.cardinality(DataSet.values))).all()
    assert lengths == [4, 4, 4]
    gaps = session.scalar(sa.select(sa.func.count()).select_from(DataSet)
                          .where(DataSet.values[3] == sa.literal(float("nan"))))
    assert gaps == 3  # PostgreSQL: NaN equals NaN


def test_whole_rows_still_load_as_numpy_next_to_expressions(session, sky):
    row = session.execute(sa.select(DataSet, DataSet.values[1:2].label("head"))
                          .where(DataSet.target_id == sky["rows"][1]["target"].id)).one()
    np.testing.assert_array_equal(row.DataSet.values, sky["rows"][1]["values"])
    np.testing.assert_array_equal(row.head, sky["rows"][1]["values"][:2])
