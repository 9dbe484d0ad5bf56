"""The distributed set-up without a cluster: the instance configuration Celery workers share (rendered from
the one shipped dagster.yaml, secrets left in the environment), the refusal of `celery_executor` under the
Celery run launcher, the launcher's view of runs it did not launch, and the commands' own checks."""

from __future__ import annotations

import os

import pytest
import yaml
from dagster import DagsterInstance, Definitions, asset, define_asset_job, materialize

from lcdb_pipeline.cli.errors import OperatorError
from lcdb_pipeline.cli.instance import CelerySettings, write_instance_config
from lcdb_pipeline.cli.parser import build_parser
from support.processes import environment, lcdb

SECRET = "s3cr3t-Pa55"
CELERY_ENV = {"LCDB_CELERY_BROKER_URL": f"amqp://lcdb:{SECRET}@broker.invalid:5672//",
              "LCDB_CELERY_BACKEND_URL": f"redis://:{SECRET}@broker.invalid:6379/3",
              "LCDB_CELERY_QUEUE": "lcdb_setup_test", "LCDB_MAX_RUNTIME": "900"}


@pytest.fixture
def celery_home(tmp_path):
    """A Dagster home rendered from the environment as `lcdb` renders it, storage left to the caller."""
    with environment(**CELERY_ENV):
        yield write_instance_config(tmp_path / "dagster", celery=CelerySettings.from_environment())


def test_the_celery_section_is_rendered_from_the_shipped_configuration_without_a_secret(celery_home):
    text = (celery_home / "dagster.yaml").read_text()
    assert SECRET not in text
    config = yaml.safe_load(text)
    launcher = config["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("lcdb_pipeline.distributed.launcher", "LcdbCeleryRunLauncher")
    assert launcher["config"] == {"default_queue": "lcdb_setup_test", "broker": {"env": "LCDB_CELERY_BROKER_URL"},
                                  "backend": {"env": "LCDB_CELERY_BACKEND_URL"}, "max_runtime_seconds": 900}
    assert config["run_monitoring"]["enabled"] is True
    assert config["run_monitoring"]["poll_interval_seconds"] == 30
    # everything else is the shipped file's
    assert config["storage"] == {"postgres": {"postgres_url": {"env": "LCDB_DAGSTER_DATABASE_URL"}}}
    assert config["concurrency"]["pools"]["default_limit"] == 2


def test_without_a_broker_the_shipped_configuration_is_written_as_is(tmp_path):
    from importlib import resources

    with environment(LCDB_CELERY_BROKER_URL=""):
        home = write_instance_config(tmp_path / "dagster", celery=CelerySettings.from_environment())
    shipped = (resources.files("lcdb_pipeline") / "data" / "dagster.yaml").read_text()
    assert (home / "dagster.yaml").read_text() == shipped


def test_a_broker_without_a_result_backend_is_refused_naming_the_variable():
    with environment(LCDB_CELERY_BROKER_URL=CELERY_ENV["LCDB_CELERY_BROKER_URL"], LCDB_CELERY_BACKEND_URL=""):
        with pytest.raises(OperatorError, match="LCDB_CELERY_BACKEND_URL is not"):
            CelerySettings.from_environment()


def _storage_and_celery_env(databases):
    """The environment of a process on the Celery-configured instance: its storage database, the broker."""
    from support.databases import as_url, dbname_of, with_dbname

    storage = databases.create("dagster_setup")
    url = as_url(with_dbname(databases.admin, dbname_of(storage)), driver="psycopg2")
    return environment(LCDB_DAGSTER_DATABASE_URL=url, **CELERY_ENV)


def test_the_celery_launcher_refuses_jobs_on_celery_executor(celery_home, databases):
    from dagster_celery import celery_executor

    from lcdb_pipeline.definitions import build_definitions
    from lcdb_pipeline.distributed.executors import UnsupportedExecutor, refuse_celery_executor

    @asset
    def anything() -> int:
        return 1

    on_celery = Definitions(assets=[anything], jobs=[define_asset_job("steps_on_celery", executor_def=celery_executor)])
    with _storage_and_celery_env(databases):
        instance = DagsterInstance.from_config(str(celery_home))
        assert type(instance.run_launcher).__name__ == "LcdbCeleryRunLauncher"
        assert instance.run_launcher.broker == CELERY_ENV["LCDB_CELERY_BROKER_URL"]  # resolved at run time
        with pytest.raises(UnsupportedExecutor) as refused:
            refuse_celery_executor(instance, on_celery)
        assert "steps_on_celery" in str(refused.value) and "cannot be combined" in str(refused.value)
        refuse_celery_executor(instance, build_definitions())  # lcdb's own jobs: in-process executor
        instance.dispose()


def test_the_launcher_leaves_runs_it_did_not_launch_to_their_own_process(celery_home, databases):
    """A run `lcdb load` executes itself on a Celery-configured instance: the launcher neither reports it dead
    (which would make run monitoring fail a healthy run) nor tries to terminate it."""
    from dagster._core.launcher import WorkerStatus

    @asset
    def quick() -> int:
        return 1

    with _storage_and_celery_env(databases):
        instance = DagsterInstance.from_config(str(celery_home))
        run = instance.get_run_by_id(materialize([quick], instance=instance).run_id)
        health = instance.run_launcher.check_run_worker_health(run)
        assert health.status == WorkerStatus.RUNNING
        assert instance.run_launcher.terminate(run.run_id) is False
        instance.dispose()


def test_lcdb_worker_without_a_broker_says_what_it_needs(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LCDB_", "DAGSTER_"))}
    proc = lcdb("worker", env={**env, "LCDB_HOME": str(tmp_path)}, timeout=120)
    assert proc.returncode == 2
    assert "lcdb worker needs LCDB_CELERY_BROKER_URL" in proc.stderr and "LCDB_CELERY_BACKEND_URL" in proc.stderr


def test_load_runs_as_many_regions_at_once_as_there_are_cores_by_default():
    args = build_parser().parse_args(["load", "/data/dvo"])
    assert args.jobs == os.cpu_count()
    assert args.table_workers is None  # LCDB_TABLE_WORKERS, else 1
    with pytest.raises(SystemExit):
        build_parser().parse_args(["load", "/data/dvo", "--jobs", "0"])
