"""Bad partition keys and bad configuration: refused before any file is opened (keys), one clear line on
stderr without traceback or password (databases)."""

from __future__ import annotations

import builtins
import io
import os
from pathlib import Path

import pytest
from dagster import DagsterEventType, instance_for_test, materialize

from lcdb_pipeline.defs.resources import DVORootResource
from lcdb_pipeline.dvo import InvalidRegionKey, check_region_key, region_directory
from support.processes import environment, lcdb

BAD_KEYS = ["foo", "n00000", "n000", "N0000", "../x", "/etc", "n0000/../..", "n0000/", "./n0000", "", "n0000\0",
            "..", "s0730/../../etc"]
KEY_MESSAGE = "is not a DVO region name (expected a declination band n0000 … n8230 or s0000 … s8230, e.g. 'n0730')"


def _no_filesystem(*args, **kwargs):
    raise AssertionError(f"the file system was touched: {args!r}")


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_are_refused_without_touching_the_filesystem(key, monkeypatch, tmp_path):
    from lcdb_pipeline.cli.runner import load_regions

    resource = DVORootResource(root=str(tmp_path / "no-such-root"))
    with monkeypatch.context() as m:
        for module, name in ((builtins, "open"), (io, "open"), (os, "open"), (os, "stat"), (os, "lstat"),
                             (os, "listdir"), (os, "scandir"), (os, "readlink"), (os.path, "exists"),
                             (os.path, "isdir")):
            m.setattr(module, name, _no_filesystem)
        with pytest.raises(InvalidRegionKey) as direct:
            check_region_key(key)
        with pytest.raises(InvalidRegionKey):
            region_directory(Path("/data/dvo"), key)
        with pytest.raises(InvalidRegionKey):
            resource.region_path(key)
        with pytest.raises(InvalidRegionKey):  # the runner, before DVODatabase(root) and before Dagster
            load_regions(tmp_path / "no-such-root", ["n0000", key])
    assert str(direct.value) == f"{key!r} {KEY_MESSAGE}"


def test_good_keys_pass(tmp_path):
    for key in ("n0000", "n0730", "s8230"):
        assert region_directory(tmp_path, key) == tmp_path.resolve() / key


def test_region_symlinked_out_of_the_root_is_refused(tmp_path):
    (tmp_path / "root").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "root" / "n0000").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(InvalidRegionKey, match="resolves outside the DVO root"):
        region_directory(tmp_path / "root", "n0000")


def test_bad_partition_key_fails_the_dagster_run_unretried(tmp_path):
    """A partition key added by hand (the dynamic partitions accept any string): the run fails at once with
    the key's problem — not a file or database error, though the DVO root does not exist and the database is
    unreachable — and it is not retried."""
    from lcdb_pipeline.defs.region import dvo_region
    from lcdb_pipeline.defs.resources import lcdb_resources

    keys = ["../x", "/etc", "n0000/../.."]
    with instance_for_test() as instance, environment(
            LCDB_DATABASE_URL="postgresql://u:secret@127.0.0.1:1/x", LCDB_DVO_ROOT=str(tmp_path / "no-such-root")):
        instance.add_dynamic_partitions("dvo_regions", keys)
        for key in keys:
            result = materialize([dvo_region], partition_key=key, instance=instance, resources=lcdb_resources(),
                                 raise_on_error=False)
            assert not result.success
            events = instance.get_records_for_run(result.run_id).records
            kinds = [r.event_log_entry.dagster_event.event_type for r in events if r.event_log_entry.is_dagster_event]
            assert DagsterEventType.STEP_UP_FOR_RETRY not in kinds
            (failure,) = [r.event_log_entry.dagster_event for r in events if r.event_log_entry.is_dagster_event
                          and r.event_log_entry.dagster_event.event_type == DagsterEventType.STEP_FAILURE]
            description = failure.step_failure_data.user_failure_data.description
            assert description == f"region {key!r}: partition key {key!r} {KEY_MESSAGE}"


@pytest.mark.parametrize("key", ["../x", "/etc"])
def test_lcdb_load_refuses_a_bad_region_before_files_and_database(key, tmp_path):
    """The DVO root does not exist and the database is unreachable: the key is what is reported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LCDB_", "DAGSTER_"))}
    env.update(LCDB_DATABASE_URL="postgresql://u:secret@127.0.0.1:1/x", LCDB_HOME=str(tmp_path / "home"))
    proc = lcdb("load", str(tmp_path / "no-such-root"), "--region", "n0000", "--region", key, env=env)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [f"error: --region {key!r} {KEY_MESSAGE}"]
    assert not (tmp_path / "home").exists()


UNREACHABLE = {
    "refused": ("postgresql://u:secret@127.0.0.1:1/x", "cannot connect to PostgreSQL at 127.0.0.1:1/x as u: "
                                                      "Connection refused"),
    "no_such_database": ("postgresql://postgres:secret@127.0.0.1:5432/lcdb_no_such_database",
                         'cannot connect to PostgreSQL at 127.0.0.1:5432/lcdb_no_such_database as postgres: '
                         'FATAL:  database "lcdb_no_such_database" does not exist'),
}


@pytest.mark.parametrize("case", list(UNREACHABLE))
@pytest.mark.parametrize("command", ["load", "db upgrade"])
def test_unreachable_database_is_one_line(case, command, clean, tmp_path, pg_admin_url):
    if case == "no_such_database" and "127.0.0.1:5432" not in pg_admin_url:
        pytest.skip("needs the machine's PostgreSQL on 127.0.0.1:5432")
    url, message = UNREACHABLE[case]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LCDB_", "DAGSTER_"))}
    env.update(LCDB_DATABASE_URL=url, LCDB_HOME=str(tmp_path / "home"))
    args = ["load", str(clean.root)] if command == "load" else ["db", "upgrade"]
    proc = lcdb(*args, env=env)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}"), proc.stderr
    assert "secret" not in proc.stderr + proc.stdout


def test_unreachable_dagster_storage_is_one_line(clean, fresh_db, tmp_path):
    url = fresh_db("storage_unreachable")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LCDB_", "DAGSTER_"))}
    env.update(LCDB_DATABASE_URL=url, LCDB_HOME=str(tmp_path / "home"),
               LCDB_DAGSTER_DATABASE_URL="postgresql+psycopg2://d:secret@127.0.0.1:1/dagster")
    proc = lcdb("load", str(clean.root), "--region", "n0000", env=env)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "error: Dagster instance storage (LCDB_DAGSTER_DATABASE_URL): cannot connect to PostgreSQL at "
        "127.0.0.1:1/dagster as d: Connection refused"]
