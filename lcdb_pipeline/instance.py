"""The Dagster instance the `lcdb` command uses: `$LCDB_HOME/dagster` with storage in PostgreSQL.

Dagster's storage lives in its own database (`<lightcurvedb database>_dagster` on the same server) because
Dagster and LightcurveDB both keep Alembic bookkeeping and must not share a schema.
"""

from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url


def lcdb_home() -> Path:
    return Path(os.environ.get("LCDB_HOME", ".lcdb")).resolve()


def dagster_database_url(lightcurvedb_url: str) -> str:
    """The Dagster storage URL next to LightcurveDB's (created if missing).

    Pinned to psycopg2: dagster-postgres is written for it (SQLAlchemy 2.1 maps plain `postgresql://` to
    psycopg 3, whose server-side binding breaks Dagster's `NOTIFY run_events, %s`)."""
    url = make_url(lightcurvedb_url).set(drivername="postgresql")
    name = f"{url.database or 'postgres'}_dagster"
    admin = url.render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            try:
                conn.execute(f'CREATE DATABASE "{name}"')
            except psycopg.errors.DuplicateDatabase:
                pass  # created concurrently
    return url.set(drivername="postgresql+psycopg2", database=name).render_as_string(hide_password=False)


def prepare_dagster_home(lightcurvedb_url: str) -> Path:
    """Point DAGSTER_HOME (unless set) at `$LCDB_HOME/dagster` holding the project's dagster.yaml, and
    LCDB_DAGSTER_DATABASE_URL (unless set) at the Dagster database. Environment only: nothing is logged."""
    if not os.environ.get("DAGSTER_HOME"):
        home = lcdb_home() / "dagster"
        home.mkdir(parents=True, exist_ok=True)
        template = resources.files("lcdb_pipeline") / "data" / "dagster.yaml"
        with resources.as_file(template) as src:
            shutil.copyfile(src, home / "dagster.yaml")
        os.environ["DAGSTER_HOME"] = str(home)
    if not os.environ.get("LCDB_DAGSTER_DATABASE_URL"):
        os.environ["LCDB_DAGSTER_DATABASE_URL"] = dagster_database_url(lightcurvedb_url)
    return Path(os.environ["DAGSTER_HOME"])
