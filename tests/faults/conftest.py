"""Fixtures for the fault tests: one Dagster instance in PostgreSQL shared by the test process and the `lcdb`
subprocesses, LightcurveDB databases cloned from a migrated template, a clean load to compare with, and
helpers to snapshot what LightcurveDB holds per catalog table."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from lcdb_pipeline.synth import generate

BIN = Path(sys.executable).parent
SEED = 21  # the generated database every fault test starts from (small, PS1_V1)

DAGSTER_YAML = """\
storage:
  postgres:
    postgres_url:
      env: LCDB_DAGSTER_DATABASE_URL
telemetry:
  enabled: false
"""


# --------------------------------------------------------------------------------------------------------
# databases
# --------------------------------------------------------------------------------------------------------


def _conninfo(url: str) -> str:
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


def with_dbname(url: str, name: str) -> str:
    return psycopg.conninfo.make_conninfo(_conninfo(url), dbname=name)


def dbname_of(url: str) -> str:
    return psycopg.conninfo.conninfo_to_dict(_conninfo(url))["dbname"]


def as_url(conninfo: str, driver: str = "psycopg") -> str:
    """A `postgresql+<driver>://` URL from a conninfo (TCP servers; the embedded one is a unix socket)."""
    from sqlalchemy.engine import URL

    p = psycopg.conninfo.conninfo_to_dict(conninfo)
    host = p.get("host")
    query = {"host": host} if host and host.startswith("/") else {}
    return URL.create(f"postgresql+{driver}", username=p.get("user"), password=p.get("password"),
                      host=None if query else host, port=int(p["port"]) if p.get("port") else None,
                      database=p.get("dbname"), query=query).render_as_string(hide_password=False)


class Databases:
    """Creates databases on the test server (cloned from a template when given) and drops them at the end."""

    def __init__(self, admin_url: str) -> None:
        self.admin = admin_url
        self.created: list[str] = []

    def create(self, label: str, template: str | None = None, owner: str | None = None) -> str:
        name = "lcdb_f_" + re.sub(r"[^a-z0-9]+", "_", label.lower())[-30:] + "_" + uuid.uuid4().hex[:8]
        sql = f'CREATE DATABASE "{name}"'
        if template:
            sql += f' TEMPLATE "{template}"'
        if owner:
            sql += f' OWNER "{owner}"'
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(sql)
        self.created.append(name)
        return as_url(with_dbname(self.admin, name))

    def drop_all(self) -> None:
        with psycopg.connect(self.admin, autocommit=True) as conn:
            for name in reversed(self.created):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def databases(pg_admin_url):
    dbs = Databases(pg_admin_url)
    yield dbs
    dbs.drop_all()


@pytest.fixture(scope="session")
def template_db(databases) -> str:
    """A LightcurveDB database at the head migration, used as TEMPLATE (a clone takes ~0.1 s)."""
    from lcdb_schema.migrations import upgrade_database

    url = databases.create("template")
    upgrade_database(url)
    return dbname_of(url)


@pytest.fixture(scope="session")
def fresh_db(databases, template_db):
    """Factory: `fresh_db(label)` → URL of a new LightcurveDB database at head, empty."""
    return lambda label: databases.create(label, template=template_db)


# --------------------------------------------------------------------------------------------------------
# the Dagster instance (PostgreSQL storage, like `lcdb`'s), shared with the subprocesses
# --------------------------------------------------------------------------------------------------------


@dataclass
class DagsterSetup:
    home: Path
    storage_url: str
    instance: object

    def env(self, database_url: str, lcdb_home: Path, **extra: str) -> dict[str, str]:
        """Environment of an `lcdb` subprocess on this instance and `database_url`."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LCDB_", "DAGSTER_"))}
        env.update(LCDB_DATABASE_URL=database_url, LCDB_HOME=str(lcdb_home), DAGSTER_HOME=str(self.home),
                   LCDB_DAGSTER_DATABASE_URL=self.storage_url, **extra)
        return env

    def runs_of_process(self, pid: int) -> dict[str, object]:
        """partition key (or job name) → DagsterRun of the runs an `lcdb` process started."""
        runs = self.instance.get_runs()
        return {run.tags.get("dagster/partition", run.job_name): run for run in runs
                if run.tags.get("lcdb/pid") == str(pid)}


@contextlib.contextmanager
def dagster_instance(databases, home: Path, extra_yaml: str = ""):
    """A Dagster instance in `home` with its storage in a new database on the test server."""
    from dagster import DagsterInstance

    storage = databases.create("dagster")
    storage_url = as_url(with_dbname(databases.admin, dbname_of(storage)), driver="psycopg2")
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(DAGSTER_YAML + extra_yaml)
    with environment(LCDB_DAGSTER_DATABASE_URL=storage_url):
        instance = DagsterInstance.from_config(str(home))
        try:
            yield DagsterSetup(home, storage_url, instance)
        finally:
            instance.dispose()


@pytest.fixture(scope="session")
def dagster(databases, tmp_path_factory):
    """The instance the fault tests share (no pool limit: every writer runs at once)."""
    with dagster_instance(databases, tmp_path_factory.mktemp("dagster_home")) as setup:
        yield setup


# --------------------------------------------------------------------------------------------------------
# running things
# --------------------------------------------------------------------------------------------------------


def lcdb(*args: str, env: dict[str, str], timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "lcdb"), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, **kw)


def start_lcdb(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "lcdb"), *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@contextlib.contextmanager
def environment(**values: str):
    """Set environment variables for the duration (the in-process Dagster resources read them)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def load_in_process(root: Path, url: str, instance, regions=None):
    """`lcdb load` without the subprocess: the same runner, the same Dagster job, on `instance`."""
    from lcdb_pipeline.runner import load_regions

    with environment(LCDB_DATABASE_URL=url, LCDB_DVO_ROOT=str(root)):
        return load_regions(root, regions, instance=instance)


def wait_for(predicate, timeout: float = 60, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# --------------------------------------------------------------------------------------------------------
# what LightcurveDB holds, per catalog table
# --------------------------------------------------------------------------------------------------------

_SNAPSHOT = {
    "observation": """
        SELECT o.catalog_table, i.name, o.filter_name, o.region, md5(o.cadence_reference::text)
        FROM observation o JOIN instrument i ON i.id = o.instrument_id""",
    "data_set": """
        SELECT o.catalog_table, i.name, o.filter_name, t.name, g.name, md5(d.values::text || ';' || d.errors::text)
        FROM data_set d JOIN observation o ON o.id = d.observation_id JOIN instrument i ON i.id = o.instrument_id
        JOIN target t ON t.id = d.target_id JOIN processing_group g ON g.id = d.processing_group_id""",
    "target_specific_time": """
        SELECT o.catalog_table, i.name, o.filter_name, t.name, md5(s.barycentric_julian_dates::text)
        FROM target_specific_time s JOIN observation o ON o.id = s.observation_id
        JOIN instrument i ON i.id = o.instrument_id JOIN target t ON t.id = s.target_id""",
    "quality_flag_array": """
        SELECT o.catalog_table, i.name, o.filter_name, t.name, q.type, md5(q.quality_flags::text)
        FROM quality_flag_array q JOIN observation o ON o.id = q.observation_id
        JOIN instrument i ON i.id = o.instrument_id JOIN target t ON t.id = q.target_id""",
}


def snapshot(url: str) -> dict[str, dict[str, dict[tuple, str]]]:
    """catalog table → product table → {(camera, filter, target name, ...): md5 of the arrays}.

    Every row is a distinct key (asserted), so equal snapshots mean equal rows, no duplicates."""
    out: dict[str, dict[str, dict[tuple, str]]] = {}
    with psycopg.connect(_conninfo(url)) as conn:
        for kind, sql in _SNAPSHOT.items():
            rows = conn.execute(sql).fetchall()
            for row in rows:
                per_kind = out.setdefault(row[0], {k: {} for k in _SNAPSHOT})[kind]
                assert row[1:-1] not in per_kind, f"duplicate {kind} row {row[:-1]}"
                per_kind[row[1:-1]] = row[-1]
    return out


def target_names(table_snapshot: dict[str, dict[tuple, str]]) -> set[int]:
    return {key[2] for key in table_snapshot["target_specific_time"]}


def count_rows_of_targets(url: str, names: set[int]) -> dict[str, int]:
    """Rows in target and in every product table that belong to targets named `names`."""
    names = sorted(names)
    with psycopg.connect(_conninfo(url)) as conn:
        counts = {"target": conn.execute("SELECT count(*) FROM target WHERE name = ANY(%s)", (names,)).fetchone()[0]}
        for table in ("data_set", "target_specific_time", "quality_flag_array"):
            counts[table] = conn.execute(
                f"SELECT count(*) FROM {table} p JOIN target t ON t.id = p.target_id WHERE t.name = ANY(%s)",
                (names,)).fetchone()[0]
    return counts


def observations_of(url: str, catalog_table: str) -> int:
    with psycopg.connect(_conninfo(url)) as conn:
        return conn.execute("SELECT count(*) FROM observation WHERE catalog_table = %s",
                            (catalog_table,)).fetchone()[0]


# --------------------------------------------------------------------------------------------------------
# the clean database every test compares with
# --------------------------------------------------------------------------------------------------------


@dataclass
class Clean:
    root: Path
    url: str
    snapshot: dict
    tables: list[str]
    regions: list[str]


@pytest.fixture(scope="session")
def clean(tmp_path_factory, fresh_db, dagster) -> Clean:
    """A small generated DVO database (PS1_V1, seed SEED), loaded serially, in-process, into a fresh
    LightcurveDB; read-only (copy it with shutil.copytree before damaging)."""
    root = tmp_path_factory.mktemp("clean") / "catdir"
    summary = generate(root, scale="small", seed=SEED, fmt="ps1_v1")
    url = fresh_db("clean")
    report = load_in_process(root, url, dagster.instance)
    assert report.success, [(o.region, o.errors) for o in report.regions]
    snap = snapshot(url)
    assert sorted(snap) == sorted(summary.tables)
    return Clean(root, url, snap, list(summary.tables), list(summary.regions))
