"""Fetching lightcurves: all of one random target's, looked up by name, as a user would in one `Session` —
(a) one ORM query for its DataSets with their observation and processing group; (b) the README's way, the
`Target` then ``target.datasets`` (lazy loads). Timed per target: the queries and touching every array
(values, errors, cadences); the identity map is cleared between targets.

Statistics first: ``ANALYZE`` (timed, reported), as autovacuum does within about a minute of a bulk load —
without them the planner knows nothing of the new rows and may scan data_set for one target."""

from __future__ import annotations

import statistics
import time

import numpy as np
import sqlalchemy as sa
from sqlalchemy import orm

from lcdb_pipeline.bench.database import connect
from lcdb_schema import DataSet, Target
from lcdb_schema.database import make_engine

ONE_QUERY = (sa.select(DataSet).join(DataSet.target).where(Target.name == sa.bindparam("name"))
             .options(orm.joinedload(DataSet.observation), orm.joinedload(DataSet.processing_group)))


def _analyze(url: str) -> float:
    with connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute("ANALYZE")
        return time.perf_counter() - started


def _sample(engine: sa.Engine, n_targets: int, seed: int) -> list[int]:
    """`n_targets` distinct target names drawn at random (all of them if there are fewer)."""
    with engine.connect() as conn:
        names = conn.execute(sa.text("SELECT name FROM target")).scalars().all()
    rng = np.random.default_rng(seed)
    return [int(x) for x in rng.choice(np.asarray(names), size=min(n_targets, len(names)), replace=False)]


def _time_one_query(session: orm.Session, sample: list[int]) -> tuple[list[float], int, int]:
    """Seconds per target with `ONE_QUERY`, and the lightcurves and finite points fetched in all."""
    session.scalars(ONE_QUERY, {"name": sample[0]}).unique().all()  # connection, statement caches: not timed
    session.expunge_all()
    seconds, lightcurves, points = [], 0, 0
    for name in sample:
        started = time.perf_counter()
        datasets = session.scalars(ONE_QUERY, {"name": name}).unique().all()
        for lc in datasets:
            points += int(np.isfinite(lc.values).sum())
            _ = (lc.errors, lc.observation.cadence_reference, lc.processing_group.name)
        seconds.append(time.perf_counter() - started)
        lightcurves += len(datasets)
        session.expunge_all()
    return seconds, lightcurves, points


def _time_lazy(session: orm.Session, sample: list[int]) -> list[float]:
    """Seconds per target the README's way: the `Target` by name, then ``target.datasets``."""
    seconds = []
    for name in sample:
        started = time.perf_counter()
        target = session.scalars(sa.select(Target).filter_by(name=name)).one()
        for lc in target.datasets:
            _ = (lc.values, lc.errors, lc.observation.cadence_reference, lc.processing_group.name)
        seconds.append(time.perf_counter() - started)
        session.expunge_all()
    return seconds


def _uses_index(engine: sa.Engine, name: int) -> bool:
    """Whether the planner looks a target up by ``ix_target_name``."""
    with engine.connect() as conn:
        plan = "\n".join(conn.execute(sa.text(
            "EXPLAIN SELECT * FROM data_set d JOIN target t ON t.id = d.target_id WHERE t.name = :n"),
            {"n": name}).scalars())
    return "ix_target_name" in plan


def bench_fetch(url: str, n_targets: int, seed: int = 0) -> dict:
    """p50/p95 of fetching one random target's lightcurves, both ways, over `n_targets` targets."""
    analyze_s = _analyze(url)
    engine = make_engine(url)
    try:
        sample = _sample(engine, n_targets, seed)
        with orm.Session(engine) as session:
            one_query, lightcurves, points = _time_one_query(session, sample)
            lazy = _time_lazy(session, sample)
        uses_index = _uses_index(engine, sample[0])
    finally:
        engine.dispose()
    ms = np.array(one_query) * 1e3
    lazy_ms = np.array(lazy) * 1e3
    return {
        "targets": len(sample), "lightcurves_per_target": lightcurves / len(sample),
        "points_per_target": points / len(sample), "analyze_s": analyze_s,
        "method": "one ORM query: select(DataSet).join(Target).where(Target.name == name) "
                  "+ joinedload(observation, processing_group)",
        "p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
        "mean_ms": statistics.fmean(ms),
        "lazy_method": "README: Target by name, then target.datasets (lazy loads)",
        "lazy_p50_ms": float(np.percentile(lazy_ms, 50)), "lazy_p95_ms": float(np.percentile(lazy_ms, 95)),
        "uses_index": uses_index,
    }
