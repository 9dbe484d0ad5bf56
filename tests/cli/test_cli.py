"""The `lcdb` command and the Dagster tooling, as a user runs them: subprocesses, real servers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa

from lcdb_pipeline.synth import generate
from lcdb_schema.database import make_engine

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LCDB_", "DAGSTER_"))}
    env.update(extra)
    return env


def test_demo_runs_in_a_fresh_directory_with_no_database_configured():
    # Not under pytest's 0700 tmp: the embedded server runs as its own unprivileged user and must reach it.
    workdir = Path(tempfile.mkdtemp(prefix="lcdb-demo-", dir="/tmp"))
    workdir.chmod(0o755)
    try:
        proc = subprocess.run([str(BIN / "lcdb"), "demo"], cwd=workdir, env=_env(), capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "LightcurveDB now holds:" in proc.stdout
        counts = {line.split()[0]: int(line.split()[1].replace(",", ""))
                  for line in proc.stdout.split("LightcurveDB now holds:")[1].splitlines()
                  if line.startswith("  ") and line.split()[-1].replace(",", "").isdigit()}
        assert counts["mission"] == 1
        assert counts["data_set"] == 3 * counts["target_specific_time"] > 0
        assert counts["quality_flag_array"] == 2 * counts["target_specific_time"]
        assert "lcdb ui" in proc.stdout
        assert (workdir / ".lcdb" / "postgres").is_dir() and (workdir / ".lcdb" / "demo-dvo" / "SkyTable.fits").exists()
        # Dagster's own storage is PostgreSQL (dagster.yaml), on the same embedded server.
        assert "postgres" in (workdir / ".lcdb" / "dagster" / "dagster.yaml").read_text()
        # A second run reuses the server, the data and the ids: same counts.
        again = subprocess.run([str(BIN / "lcdb"), "demo"], cwd=workdir, env=_env(), capture_output=True,
                               text=True, timeout=600)
        assert again.returncode == 0, again.stderr[-3000:]
        assert again.stdout.split("LightcurveDB now holds:")[1] == proc.stdout.split("LightcurveDB now holds:")[1]
    finally:
        from lcdb_schema.database import stop_embedded_database

        stop_embedded_database(workdir / ".lcdb" / "postgres")
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def dvo_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli_dvo")
    generate(root, scale="small", seed=11)
    return root


def test_load_selected_regions_only(dvo_root, make_database, tmp_path):
    url = make_database("cli_load")
    env = _env(LCDB_DATABASE_URL=url, LCDB_HOME=str(tmp_path / "home"))
    proc = subprocess.run([str(BIN / "lcdb"), "load", str(dvo_root), "--region", "n0000"], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "n0000:" in proc.stdout
    with make_engine(url).connect() as conn:
        regions = set(conn.execute(sa.text("SELECT DISTINCT region FROM observation")).scalars())
    assert regions == {"n0000"}


def test_definitions_validate_from_the_repo_root(make_database):
    """`dagster definitions validate` from the repo root: workspace.yaml's code location loads, and the root
    dagster.yaml (instance storage in PostgreSQL) is honoured."""
    from lcdb_pipeline.cli.instance import dagster_database_url

    dagster_url = dagster_database_url(make_database("cli_validate"))
    repo_root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"], cwd=repo_root,
                          env=_env(LCDB_DAGSTER_DATABASE_URL=dagster_url, DAGSTER_HOME=str(repo_root)),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_ui_shows_assets_partitions_and_checks_and_runs_backfills(dvo_root, make_database, tmp_path):
    """`lcdb ui` serves the code location (assets, region partitions, asset checks) and its daemon executes a
    backfill submitted with `lcdb backfill`."""
    from lcdb_pipeline.cli.instance import dagster_database_url

    url = make_database("cli_ui")
    env = _env(LCDB_DATABASE_URL=url, LCDB_HOME=str(tmp_path / "home"), LCDB_DVO_ROOT=str(dvo_root))
    load = subprocess.run([str(BIN / "lcdb"), "load", str(dvo_root)], env=env, capture_output=True, text=True,
                          timeout=600)
    assert load.returncode == 0, load.stderr[-3000:]
    port = _free_port()
    ui = subprocess.Popen([str(BIN / "lcdb"), "ui", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        nodes = None
        while time.monotonic() < deadline:
            try:
                data = _graphql(port, "{ assetNodes { assetKey { path } isPartitioned partitionKeys "
                                      "assetChecksOrError { ... on AssetChecks { checks { name } } } } }")
                nodes = data.get("data", {}).get("assetNodes")
                if nodes:
                    break
            except OSError:
                pass
            time.sleep(1)
        assert nodes, "the Dagster UI did not come up"
        by_key = {"/".join(n["assetKey"]["path"]): n for n in nodes}
        assert {"lightcurvedb/mission", "lightcurvedb/instruments", "lightcurvedb/processing_groups",
                "lightcurvedb/observation", "lightcurvedb/target_specific_time", "lightcurvedb/data_set",
                "lightcurvedb/quality_flag_array"} <= set(by_key)
        data_set = by_key["lightcurvedb/data_set"]
        assert data_set["isPartitioned"]
        from lcdb_pipeline.dvo import DVODatabase

        assert sorted(data_set["partitionKeys"]) == DVODatabase(dvo_root).populated_regions()
        checks = {c["name"] for c in data_set["assetChecksOrError"]["checks"]}
        assert {"arrays_match_cadence_grid", "one_dataset_per_target_observation_group"} <= checks

        # A backfill from the CLI is executed by the daemon `lcdb ui` runs, one run per region.
        region = sorted(data_set["partitionKeys"])[-1]
        submit = subprocess.run([str(BIN / "lcdb"), "backfill", str(dvo_root), "--region", region], env=env,
                                capture_output=True, text=True, timeout=300)
        assert submit.returncode == 0, submit.stderr[-3000:]
        from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

        os.environ["DAGSTER_HOME"] = str(tmp_path / "home" / "dagster")
        os.environ["LCDB_DAGSTER_DATABASE_URL"] = dagster_database_url(url)
        try:
            instance = DagsterInstance.get()
            deadline = time.monotonic() + 240
            runs = []
            while time.monotonic() < deadline:
                backfills = instance.get_backfills()
                if backfills:
                    runs = instance.get_runs(RunsFilter(tags={"dagster/backfill": backfills[0].backfill_id}))
                    if runs and all(r.is_finished for r in runs):
                        break
                time.sleep(2)
            assert [r.tags["dagster/partition"] for r in runs] == [region]
            assert runs[0].status == DagsterRunStatus.SUCCESS
        finally:
            os.environ.pop("DAGSTER_HOME", None)
            os.environ.pop("LCDB_DAGSTER_DATABASE_URL", None)
    finally:
        os.killpg(ui.pid, signal.SIGTERM)
        try:
            ui.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(ui.pid, signal.SIGKILL)
