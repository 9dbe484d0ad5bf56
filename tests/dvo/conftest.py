"""Fixtures: small synthetic DVO databases of both formats, generated once per test session."""

from __future__ import annotations

import shutil

import pytest

from lcdb_pipeline.dvo import DVODatabase
from lcdb_pipeline.synth import generate

FORMATS = ("ps1_v1", "ps1_v5_load")


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    """fmt → (root, SynthSummary with ground truth) for a `small` database per format, seed 11."""
    out = {}
    for fmt in FORMATS:
        root = tmp_path_factory.mktemp(f"dvo_{fmt}") / "catdir"
        out[fmt] = (root, generate(root, scale="small", seed=11, fmt=fmt, keep_truth=True))
    return out


@pytest.fixture(params=FORMATS)
def fmt(request):
    return request.param


@pytest.fixture
def synth(generated, fmt):
    """(DVODatabase, SynthSummary) of the shared, read-only database of this format."""
    root, summary = generated[fmt]
    return DVODatabase(root), summary


@pytest.fixture
def damaged(generated, fmt, tmp_path):
    """A private copy of the database of this format, to damage: (root, DVODatabase, SynthSummary)."""
    root, summary = generated[fmt]
    copy = tmp_path / "catdir"
    shutil.copytree(root, copy)
    return copy, DVODatabase(copy), summary
