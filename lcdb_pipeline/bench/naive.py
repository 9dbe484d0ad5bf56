"""The naive loader: what a user of the schema writes first — one ORM object per `DataSet`,
`TargetSpecificTime` and quality-flag row, `session.add` each, one commit per catalog table — into the same
tables in a scratch schema (made by ``create_all``, reference rows by lcdb's own upsert). It gets lcdb's
reader and mapping for free (only its writing is timed), writes a subset and is extrapolated per row."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import orm

from lcdb_pipeline.bench.database import scratch_schema
from lcdb_pipeline.bench.dvo import catalog_tables
from lcdb_pipeline.defs.resources import MissionResource, ObservatoriesResource
from lcdb_pipeline.dvo import DVODatabase
from lcdb_pipeline.loading import upsert_reference
from lcdb_pipeline.mapping import PROCESSING_GROUPS, instrument_specs, map_table
from lcdb_schema import (
    DataSet,
    DBFlagsArray,
    DVOObservation,
    Instrument,
    LCDBModel,
    MissionCatalog,
    PhotFlagsArray,
    ProcessingGroup,
    Target,
    TargetSpecificTime,
)
from lcdb_schema.database import make_engine

SCHEMA = "lcdb_bench_naive"


@dataclass
class _Reference:
    """The reference rows every product row points to."""

    catalog: MissionCatalog
    cameras: dict[str, Instrument]
    groups: list[ProcessingGroup]


def _reference(session: orm.Session, catalog_name: str) -> _Reference:
    catalog = session.scalars(sa.select(MissionCatalog).filter_by(name=catalog_name)).one()
    cameras = {i.name: i for i in session.scalars(sa.select(Instrument).where(Instrument.parent_id.is_(None)))}
    groups = [session.scalars(sa.select(ProcessingGroup).filter_by(name=f"{s}/{m}")).one()
              for s, m in PROCESSING_GROUPS]
    return _Reference(catalog, cameras, groups)


def _add_target_rows(session: orm.Session, ref: _Reference, chunk, i: int, target: Target,
                     obs: DVOObservation) -> int:
    """The product rows of target `i` of `chunk`, one ORM object each; how many."""
    for g, group in enumerate(ref.groups):
        session.add(DataSet(target=target, observation=obs, processing_group=group,
                            values=chunk.values[g, i], errors=chunk.errors[g, i]))
    session.add(TargetSpecificTime(target=target, observation=obs, barycentric_julian_dates=chunk.bjd[i]))
    session.add(PhotFlagsArray(target=target, observation=obs, quality_flags=chunk.phot_flags[i]))
    session.add(DBFlagsArray(target=target, observation=obs, quality_flags=chunk.db_flags[i]))
    return len(ref.groups) + 3


def _add_table(session: orm.Session, mapping, ref: _Reference, rows: int, max_rows: int) -> int:
    """Add the rows of one mapped catalog table until `rows` reaches `max_rows`; the new count."""
    targets: dict[int, Target] = {}
    for block in mapping.blocks:
        if rows >= max_rows:
            break
        obs = DVOObservation(cadence_reference=block.cadences_ms, instrument=ref.cameras[block.camera],
                             region=block.region, catalog_table=block.catalog_table, filter_name=block.filter_name)
        session.add(obs)
        for chunk in block.chunks():
            for i, name in enumerate(chunk.target_names.tolist()):
                if rows >= max_rows:
                    break
                target = targets.get(name)
                if target is None:
                    target = targets[name] = Target(catalog=ref.catalog, name=name)
                    session.add(target)
                rows += _add_target_rows(session, ref, chunk, i, target, obs)
    return rows


def naive_load(engine: sa.Engine, dvo_root: str, max_rows: int) -> dict:
    """The naive loader on the first catalog tables until `max_rows` product rows, committing what it has.
    Only the ORM writing is timed (reading and mapping with lcdb's own code are not)."""
    database = DVODatabase(Path(dvo_root))
    sites = ObservatoriesResource().sites()
    mission = MissionResource().spec()
    rows, seconds, tables_done = 0, 0.0, 0
    with orm.Session(engine) as session:
        ref = _reference(session, mission.catalog_name)
        for table_name in catalog_tables(database):
            if rows >= max_rows:
                break
            mapping = map_table(database.read_table(table_name), database.photcodes, database.images, sites)
            started = time.perf_counter()
            rows = _add_table(session, mapping, ref, rows, max_rows)
            session.commit()
            seconds += time.perf_counter() - started
            tables_done += 1
    return {"rows": rows, "seconds": seconds, "tables": tables_done,
            "rows_per_s": rows / seconds if seconds else 0.0}


def bench_naive(url: str, dvo_root: str, max_rows: int) -> dict:
    """The naive loader into schema `lcdb_bench_naive` of the bench database (same tables, created by the
    models; reference rows by lcdb's own upsert)."""
    with scratch_schema(url, SCHEMA):
        engine = make_engine(url, connect_args={"options": f"-c search_path={SCHEMA}"})
        try:
            LCDBModel.metadata.create_all(engine)
            upsert_reference(engine, MissionResource().spec(),
                             instrument_specs(DVODatabase(Path(dvo_root)).photcodes))
            return naive_load(engine, dvo_root, max_rows)
        finally:
            engine.dispose()
