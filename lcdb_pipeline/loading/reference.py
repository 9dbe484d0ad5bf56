"""Reference rows every region load refers to: Mission, MissionCatalog, the Instrument tree, the
PhotometricSources, DetrendingMethods and ProcessingGroups. Upserted by natural key, so ids never change."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from lcdb_pipeline.loading.locks import ADVISORY_LOCK_NAMESPACE
from lcdb_pipeline.mapping.contract import (
    DETRENDING_METHODS,
    PHOTOMETRIC_SOURCES,
    PROCESSING_GROUPS,
    InstrumentSpec,
    MissionSpec,
)
from lcdb_schema import (
    DetrendingMethod,
    Instrument,
    Mission,
    MissionCatalog,
    PhotometricSource,
    ProcessingGroup,
)


@dataclass(frozen=True)
class ReferenceIds:
    """Ids a region load needs, looked up once per run."""

    catalog_id: int
    camera_ids: Mapping[str, uuid.UUID]
    processing_group_ids: tuple[int, ...]  # in PROCESSING_GROUPS order


@dataclass
class ReferenceStats:
    instruments: int = 0
    processing_groups: int = 0


class ReferenceDataMissing(RuntimeError):
    """A region load found no mission/catalog/instrument rows: the reference asset has not run."""


def upsert_reference(
    engine: sa.Engine, mission: MissionSpec, instruments: Iterable[InstrumentSpec]
) -> ReferenceStats:
    """Mission, catalog, instrument tree and processing groups, idempotently (ids kept on re-run)."""
    instruments = list(instruments)
    with engine.begin() as conn:
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(ADVISORY_LOCK_NAMESPACE, 0)))
        _upsert_mission(conn, mission)
        _upsert_instruments(conn, instruments)
        _upsert_processing_groups(conn)
    return ReferenceStats(instruments=len(instruments), processing_groups=len(PROCESSING_GROUPS))


def _upsert_mission(conn: sa.Connection, mission: MissionSpec) -> None:
    mission_id = conn.execute(
        insert(Mission.__table__)
        .values(
            id=uuid.uuid4(), name=mission.mission_name, description=mission.description,
            time_unit=mission.time_unit, time_epoch=mission.time_epoch, time_epoch_scale=mission.time_epoch_scale,
            time_epoch_format=mission.time_epoch_format, time_format_name=mission.time_format_name,
        )
        .on_conflict_do_update(index_elements=["name"], set_={"time_format_name": mission.time_format_name,
                                                              "time_epoch_scale": mission.time_epoch_scale})
        .returning(Mission.__table__.c.id)
    ).scalar_one()
    conn.execute(
        insert(MissionCatalog.__table__)
        .values(host_mission_id=mission_id, name=mission.catalog_name,
                description=f"Objects of the {mission.mission_name} DVO database; name = CAT_ID·2³² + OBJ_ID")
        .on_conflict_do_nothing(index_elements=["name"])
    )


def _upsert_instruments(conn: sa.Connection, instruments: list[InstrumentSpec]) -> None:
    ids: dict[str, uuid.UUID] = {}
    for spec in sorted(instruments, key=lambda s: s.parent is not None):  # roots first
        parent_id = ids[spec.parent] if spec.parent else None
        ids[spec.name if spec.parent is None else f"{spec.parent}/{spec.name}"] = conn.execute(
            insert(Instrument.__table__)
            .values(id=uuid.uuid4(), name=spec.name, parent_id=parent_id, properties=spec.properties)
            .on_conflict_do_update(index_elements=["parent_id", "name"], set_={"properties": spec.properties})
            .returning(Instrument.__table__.c.id)
        ).scalar_one()


def _upsert_processing_groups(conn: sa.Connection) -> None:
    for name, description in PHOTOMETRIC_SOURCES.items():
        conn.execute(insert(PhotometricSource.__table__).values(name=name, description=description)
                     .on_conflict_do_nothing(index_elements=["name"]))
    for name, description in DETRENDING_METHODS.items():
        conn.execute(insert(DetrendingMethod.__table__).values(name=name, description=description)
                     .on_conflict_do_nothing(index_elements=["name"]))
    for source, method in PROCESSING_GROUPS:
        ps = conn.execute(sa.select(PhotometricSource.id).where(PhotometricSource.name == source)).scalar_one()
        dm = conn.execute(sa.select(DetrendingMethod.id).where(DetrendingMethod.name == method)).scalar_one()
        conn.execute(
            insert(ProcessingGroup.__table__)
            .values(name=f"{source}/{method}", description=f"{PHOTOMETRIC_SOURCES[source]}; "
                    f"{DETRENDING_METHODS[method]}", photometric_source_id=ps, detrending_method_id=dm)
            .on_conflict_do_nothing(index_elements=["photometric_source_id", "detrending_method_id"])
        )


def reference_ids(engine: sa.Engine, mission: MissionSpec) -> ReferenceIds:
    """The ids a region load refers to; `ReferenceDataMissing` when the reference rows are not there yet."""
    with engine.connect() as conn:
        catalog_id = _catalog_id(conn, mission.catalog_name)
        if catalog_id is None:
            raise ReferenceDataMissing(
                f"catalog {mission.catalog_name!r} is not in LightcurveDB: materialize the reference assets first"
            )
        cameras = dict(conn.execute(
            sa.select(Instrument.name, Instrument.id).where(Instrument.parent_id.is_(None))).all())
        groups = tuple(conn.execute(
            sa.select(ProcessingGroup.id)
            .join(PhotometricSource, ProcessingGroup.photometric_source_id == PhotometricSource.id)
            .join(DetrendingMethod, ProcessingGroup.detrending_method_id == DetrendingMethod.id)
            .where(PhotometricSource.name == source, DetrendingMethod.name == method)
        ).scalar_one() for source, method in PROCESSING_GROUPS)
    return ReferenceIds(catalog_id, cameras, groups)


def _catalog_id(conn: sa.Connection, catalog_name: str) -> int | None:
    try:
        return conn.execute(
            sa.select(MissionCatalog.id).where(MissionCatalog.name == catalog_name)).scalar_one_or_none()
    except sa.exc.ProgrammingError as exc:  # an empty database: no schema yet
        if not isinstance(exc.orig, psycopg.errors.UndefinedTable):
            raise
        return None
