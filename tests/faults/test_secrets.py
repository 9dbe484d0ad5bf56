"""The database password from LCDB_DATABASE_URL never shows: not on stdout/stderr, not in the Dagster event log
(events, metadata, failures), run config or tags, not in anything Dagster or LightcurveDB stores, not in the
files under LCDB_HOME (compute logs included), and not in what the UI's GraphQL API serves.

A real password-protected role on the test server (`CREATE ROLE … LOGIN PASSWORD`, owning its databases), used
the way an operator would: only LCDB_DATABASE_URL is set; the Dagster storage URL (with the same password) is
derived from it by `lcdb`. Note: the machine's pg_hba may `trust` 127.0.0.1, so the server may not check the
password; it is in the URL all the same, which is what must not leak."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import psycopg
import pytest

from support.databases import as_url, dbname_of, with_dbname
from support.databases import conninfo as _conninfo
from support.fits import patch_cell
from support.processes import environment, lcdb

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def secret_role(pg_admin_url, databases):
    password = f"S3cr3t-{uuid.uuid4().hex}"
    role = f"lcdb_secret_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN CREATEDB PASSWORD '{password}'")
    names = [dbname_of(databases.create("secret", owner=role))]

    def url(dbname: str, **parts) -> str:
        info = psycopg.conninfo.conninfo_to_dict(with_dbname(pg_admin_url, dbname))
        info.update(user=role, password=password, **parts)
        return as_url(psycopg.conninfo.make_conninfo(**info))

    yield {"password": password, "role": role, "database": names[0], "url": url}
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        for name in names:  # and the <db>_dagster databases lcdb created as the role
            conn.execute(f'DROP DATABASE IF EXISTS "{name}_dagster" WITH (FORCE)')
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f"DROP ROLE IF EXISTS {role}")


def _env(url: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LCDB_", "DAGSTER_"))}
    env.update(LCDB_DATABASE_URL=url, LCDB_HOME=str(home))
    return env


def _everything_stored(admin_url: str, dbname: str) -> str:
    """Every row of every table of a database, as text."""
    chunks = []
    with psycopg.connect(with_dbname(admin_url, dbname)) as conn:
        tables = conn.execute("SELECT schemaname, tablename FROM pg_tables "
                              "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')").fetchall()
        for schema, table in tables:
            rows = conn.execute(f'SELECT t::text FROM "{schema}"."{table}" t').fetchall()
            chunks.append(f"{schema}.{table}\n" + "\n".join(r[0] for r in rows))
    return "\n".join(chunks)


def _files_containing(directory: Path, needle: bytes) -> list[str]:
    hits = []
    for path in directory.rglob("*"):
        if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
            hits.append(str(path))
    return hits


_RUN_QUERY = """{ runsOrError { __typename ... on Runs { results { runId status runConfigYaml
    tags { key value } } } } instance { info } }"""
_LOGS_QUERY = """query($runId: ID!) { logsForRun(runId: $runId) { __typename ... on EventConnection { events {
    __typename
    ... on MessageEvent { message level }
    ... on ExecutionStepFailureEvent { error { message stack causes { message stack } }
        failureMetadata { label description metadataEntries { label description __typename
            ... on TextMetadataEntry { text } ... on JsonMetadataEntry { jsonString }
            ... on MarkdownMetadataEntry { mdStr } ... on IntMetadataEntry { intValue } } } }
    ... on RunFailureEvent { error { message stack } }
    ... on MaterializationEvent { metadataEntries { label __typename ... on TextMetadataEntry { text }
        ... on JsonMetadataEntry { jsonString } ... on IntMetadataEntry { intValue } } }
} } } }"""
_RESOURCES_QUERY = """{ repositoriesOrError { ... on RepositoryConnection { nodes { name
    allTopLevelResourceDetails { name configuredValues { key value type } } } } } }"""


def _graphql_view(home: Path, storage_url: str, database_url: str, dvo_root: str) -> str:
    """What the Dagster UI would serve for this instance and the lcdb code location, as JSON text."""
    from dagster import DagsterInstance
    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
    from dagster_graphql.test.utils import execute_dagster_graphql

    with environment(LCDB_DAGSTER_DATABASE_URL=storage_url, LCDB_DATABASE_URL=database_url,
                     LCDB_DVO_ROOT=dvo_root):
        instance = DagsterInstance.from_config(str(home))
        origin = InProcessCodeLocationOrigin(
            LoadableTargetOrigin(module_name="lcdb_pipeline.definitions", working_directory=os.getcwd()),
            location_name="lcdb")
        try:
            with WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget(origin)) as process:
                context = process.create_request_context()
                runs = execute_dagster_graphql(context, _RUN_QUERY).data
                served = [runs, execute_dagster_graphql(context, _RESOURCES_QUERY).data]
                for run in runs["runsOrError"]["results"]:
                    served.append(execute_dagster_graphql(context, _LOGS_QUERY, {"runId": run["runId"]}).data)
        finally:
            instance.dispose()
    return json.dumps(served)


def test_the_password_never_shows(secret_role, clean, pg_admin_url, tmp_path):
    password = secret_role["password"]
    load_url = secret_role["url"](secret_role["database"])
    assert password in load_url

    # `lcdb load` of a database with one damaged table: successful runs and a failing one.
    root = tmp_path / "catdir"
    shutil.copytree(clean.root, root)
    patch_cell(root / "n1500" / "0075.02.cpm", "AVE_REF", 3, 10**6)
    load = lcdb("load", str(root), env=_env(load_url, tmp_path / "load_home"), timeout=600)  # --jobs: cores
    outputs = {"load": (load.stdout, load.stderr)}
    assert load.returncode == 1, load.stderr[-3000:]
    assert "error: region n1500: catalog table n1500/0075.02 not loaded" in load.stderr
    assert "  n0000: 4 tables" in load.stdout and "  s2230: 4 tables" in load.stdout

    # Other commands and failures with the password in the URL.
    upgrade = lcdb("db", "upgrade", env=_env(load_url, tmp_path / "load_home"))
    assert upgrade.returncode == 0
    assert f"LightcurveDB schema at head on postgresql+psycopg://{secret_role['role']}:***@" in upgrade.stdout
    refused = lcdb("load", str(root), env=_env(secret_role["url"](dbname_of(load_url), port="1"),
                                               tmp_path / "x_home"))
    assert refused.returncode == 2 and "cannot connect to PostgreSQL" in refused.stderr
    bad_region = lcdb("load", str(root), "--region", "s0730", env=_env(load_url, tmp_path / "load_home"))
    assert bad_region.returncode == 1 and "error: region s0730:" in bad_region.stderr
    for name, proc in (("db upgrade", upgrade), ("refused", refused), ("bad region", bad_region)):
        outputs[name] = (proc.stdout, proc.stderr)
    for name, (stdout, stderr) in outputs.items():
        assert password not in stdout and password not in stderr, name

    # Everything Dagster stored (runs, run config, tags, event logs with metadata and failures, snapshots,
    # asset and check records) and everything LightcurveDB holds.
    for dbname in (dbname_of(load_url) + "_dagster", dbname_of(load_url)):
        stored = _everything_stored(pg_admin_url, dbname)
        assert stored, dbname
        assert password not in stored, dbname
    assert "catalog table n1500/0075.02 not loaded" in _everything_stored(pg_admin_url, dbname_of(load_url) +
                                                                              "_dagster")

    # Every file under LCDB_HOME: dagster.yaml, compute logs of the runs, the demo's DVO data.
    for home in ("load_home", "x_home"):
        if (tmp_path / home).exists():
            assert _files_containing(tmp_path / home, password.encode()) == [], home
    assert (tmp_path / "load_home" / "dagster" / "dagster.yaml").exists()

    # The UI: runs (config, tags), every run's event log (messages, failures with metadata, materialization
    # metadata), the resources' configured values, the instance's configuration.
    storage_url = as_url(with_dbname(_conninfo(load_url), dbname_of(load_url) + "_dagster"), driver="psycopg2")
    served = _graphql_view(tmp_path / "load_home" / "dagster", storage_url, load_url, str(root))
    assert "catalog table n1500/0075.02 not loaded" in served and '"LCDB_DATABASE_URL"' in served
    assert password not in served
