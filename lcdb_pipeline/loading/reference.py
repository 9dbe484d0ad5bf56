"""Reference rows every region load refers to: Mission, MissionCatalog, the Instrument tree, the
PhotometricSources, DetrendingMethods and ProcessingGroups. Upserted by natural key, so ids never change:
the mission by name, its catalog by (mission, name), the instruments through lcdb's `DVOInstrument`
registry, the processing groups by (source, method); names that LightcurveDB lets repeat resolve to the
oldest row of that name."""

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
    DVOInstrument,
    Instrument,
    Mission,
    MissionCatalog,
    PhotometricSource,
    ProcessingGroup,
)
from lcdb_schema.base import NAME_LENGTH


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
    """Mission, catalog, instrument tree and processing groups, idempotently (ids kept on re-run).

    One transaction under an advisory lock: concurrent callers queue, so the look-ups by name below (names
    of instruments, photometric sources and detrending methods are not unique in LightcurveDB) never race."""
    instruments = list(instruments)
    _check_name_lengths(mission)
    with engine.begin() as conn:
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(ADVISORY_LOCK_NAMESPACE, 0)))
        _upsert_mission(conn, mission)
        _upsert_instruments(conn, instruments)
        _upsert_processing_groups(conn)
    return ReferenceStats(instruments=len(instruments), processing_groups=len(PROCESSING_GROUPS))


def _check_name_lengths(mission: MissionSpec) -> None:
    for setting, name in (("mission name", mission.mission_name), ("catalog name", mission.catalog_name)):
        if len(name) > NAME_LENGTH:
            raise ValueError(f"the {setting} {name!r} is {len(name)} characters long; LightcurveDB names hold "
                             f"at most {NAME_LENGTH}")


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
        .on_conflict_do_nothing(index_elements=["host_mission_id", "name"])
    )


def _registry_key(spec: InstrumentSpec) -> tuple[str, str | None]:
    """(camera, chip) of `spec` in `DVOInstrument`: a camera or bare name is (name, None)."""
    return (spec.name, None) if spec.parent is None else (spec.parent, spec.name)


def _upsert_instruments(conn: sa.Connection, instruments: list[InstrumentSpec]) -> None:
    """The instruments of the Photcodes, found by (camera, chip) in lcdb's `DVOInstrument` registry: known
    ones are updated in place (same id; name, parent and properties as the Photcodes say), new ones are
    created and registered. Instruments not in the registry are never touched, whatever their names."""
    registry = DVOInstrument.__table__
    known = {(camera, chip): instrument_id for camera, chip, instrument_id in conn.execute(
        sa.select(registry.c.camera, registry.c.chip, registry.c.instrument_id))}
    ids: dict[tuple[str, str | None], uuid.UUID] = {}
    new, old = [], []
    for spec in sorted(instruments, key=lambda s: s.parent is not None):  # cameras before their chips
        key = _registry_key(spec)
        ids[key] = known.get(key) or uuid.uuid4()
        row = {"instrument_id": ids[key], "name": spec.name, "properties": spec.properties,
               "parent_id": ids[(spec.parent, None)] if spec.parent else None}
        (old if key in known else new).append((key, row))
    table = Instrument.__table__
    if new:
        conn.execute(insert(table), [{"id": row.pop("instrument_id"), **row} for _, row in new])
        conn.execute(insert(registry), [{"instrument_id": ids[key], "camera": key[0], "chip": key[1]}
                                        for key, _ in new])
    if old:
        conn.execute(sa.update(table).where(table.c.id == sa.bindparam("instrument_id")).values(
            name=sa.bindparam("name"), parent_id=sa.bindparam("parent_id"), properties=sa.bindparam("properties")
        ), [row for _, row in old])


def _first_id(conn: sa.Connection, model: type, name: str) -> int | None:
    """The id of the oldest `model` row called `name` (names may repeat: lcdb always takes the first)."""
    return conn.execute(sa.select(sa.func.min(model.id)).where(model.name == name)).scalar_one()


def _named_id(conn: sa.Connection, model: type, name: str, description: str) -> int:
    """`_first_id`, inserting the row when there is none (callers hold the reference lock)."""
    found = _first_id(conn, model, name)
    if found is not None:
        return found
    return conn.execute(insert(model.__table__).values(name=name, description=description)
                        .returning(model.__table__.c.id)).scalar_one()


def _upsert_processing_groups(conn: sa.Connection) -> None:
    sources = {name: _named_id(conn, PhotometricSource, name, text) for name, text in PHOTOMETRIC_SOURCES.items()}
    methods = {name: _named_id(conn, DetrendingMethod, name, text) for name, text in DETRENDING_METHODS.items()}
    for source, method in PROCESSING_GROUPS:
        conn.execute(
            insert(ProcessingGroup.__table__)
            .values(name=f"{source}/{method}", description=f"{PHOTOMETRIC_SOURCES[source]}; "
                    f"{DETRENDING_METHODS[method]}", photometric_source_id=sources[source],
                    detrending_method_id=methods[method])
            .on_conflict_do_nothing(index_elements=["photometric_source_id", "detrending_method_id"])
        )


def reference_ids(engine: sa.Engine, mission: MissionSpec) -> ReferenceIds:
    """The ids a region load refers to; `ReferenceDataMissing` when the reference rows are not there yet."""
    with engine.connect() as conn:
        catalog_id = _catalog_id(conn, mission)
        if catalog_id is None:
            raise ReferenceDataMissing(
                f"catalog {mission.catalog_name!r} of mission {mission.mission_name!r} is not in LightcurveDB: "
                "materialize the reference assets first"
            )
        registry = DVOInstrument.__table__
        cameras = dict(conn.execute(
            sa.select(registry.c.camera, registry.c.instrument_id).where(registry.c.chip.is_(None))).all())
        groups = tuple(_group_id(conn, source, method) for source, method in PROCESSING_GROUPS)
    return ReferenceIds(catalog_id, cameras, groups)


def _group_id(conn: sa.Connection, source: str, method: str) -> int:
    group = conn.execute(sa.select(ProcessingGroup.id).where(
        ProcessingGroup.photometric_source_id == _first_id(conn, PhotometricSource, source),
        ProcessingGroup.detrending_method_id == _first_id(conn, DetrendingMethod, method),
    )).scalar_one_or_none()
    if group is None:
        raise ReferenceDataMissing(f"processing group {source}/{method} is not in LightcurveDB: "
                                   "materialize the reference assets first")
    return group


def _catalog_id(conn: sa.Connection, mission: MissionSpec) -> int | None:
    try:
        return conn.execute(
            sa.select(MissionCatalog.id).join(Mission, MissionCatalog.host_mission_id == Mission.id)
            .where(Mission.name == mission.mission_name, MissionCatalog.name == mission.catalog_name)
        ).scalar_one_or_none()
    except sa.exc.ProgrammingError as exc:  # an empty database: no schema yet
        if not isinstance(exc.orig, psycopg.errors.UndefinedTable):
            raise
        return None
