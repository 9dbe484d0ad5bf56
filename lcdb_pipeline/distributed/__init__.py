"""Beside the layers: region runs beyond one process — the Celery run launcher the instance configuration
names (`launcher.py`), the check that refuses an executor it cannot work with (`executors.py`), the launch of
region runs on this machine through Dagster's default run launcher (`local.py`). See docs/scaling.md."""
