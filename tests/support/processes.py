"""Running lcdb as a user does: the `lcdb` command in a subprocess, or its runner in this process."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


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
    from lcdb_pipeline.cli.runner import load_regions

    return load_regions(root, regions, instance=instance, database_url=url)


def wait_for(predicate, timeout: float = 60, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def client_process(backend_pid: int, admin) -> int:
    """The pid of the local process whose PostgreSQL connection is served by backend `backend_pid` (found
    from the connection's client port; the test server is on this machine)."""
    import psutil

    port = admin.execute("SELECT client_port FROM pg_stat_activity WHERE pid = %s", (backend_pid,)).fetchone()[0]
    assert port is not None and port > 0, "the connection is not over TCP: its client cannot be identified"
    for conn in psutil.net_connections(kind="tcp"):
        if conn.laddr and conn.laddr.port == port and conn.pid:
            return conn.pid
    raise AssertionError(f"no local process owns the client end (port {port}) of backend {backend_pid}")
