"""Fixtures for the fault tests: one Dagster instance in PostgreSQL shared by the test process and the `lcdb`
subprocesses, and a clean load to compare with (LightcurveDB databases cloned from a migrated template:
`fresh_db` in tests/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from lcdb_pipeline.synth import generate
from support.dagster import dagster_instance
from support.processes import load_in_process
from support.snapshot import snapshot

SEED = 21  # the generated database every fault test starts from (small, PS1_V1)


# --------------------------------------------------------------------------------------------------------
# the Dagster instance (PostgreSQL storage, like `lcdb`'s), shared with the subprocesses
# --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def dagster(databases, tmp_path_factory):
    """The instance the fault tests share (a writers pool of 16: every writer of the tests runs at once)."""
    with dagster_instance(databases, tmp_path_factory.mktemp("dagster_home"), writers=16) as setup:
        yield setup


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
