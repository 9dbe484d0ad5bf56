"""Helpers the tests share (databases, Dagster instances, `lcdb` subprocesses, damaged FITS files, the
independent reference computation). Fixtures stay in the conftest files; everything else is imported
from here."""
