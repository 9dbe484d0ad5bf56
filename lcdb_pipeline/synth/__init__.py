"""A synthetic DVO database: faithful file formats, realistic content, deterministic for a seed.

```python
from lcdb_pipeline.synth import generate
summary = generate("/tmp/dvo", scale="small", seed=0, fmt="ps1_v1")   # or fmt="ps1_v5_load"
```
or `lcdb synth OUT_DIR [--scale small|medium|large] [--seed N] [--format ps1_v1|ps1_v5_load] [--force]`.

`generate`, `SynthSummary`, … are loaded from `lcdb_pipeline.synth.generator` on first use, so importing
this package stays light. See that module and docs/dvo.md for the content.
"""

from __future__ import annotations

_LAZY = ("generate", "SynthSummary", "SCALES", "FORMATS", "CAMERAS", "pv3_photcodes_path")

__all__ = list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        from lcdb_pipeline.synth import generator

        return getattr(generator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
