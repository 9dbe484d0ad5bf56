"""Data versions of DVO regions, from the files themselves (names, sizes, modification times)."""

from __future__ import annotations

import hashlib
from pathlib import Path

CATALOG_SUFFIXES = (".cpt", ".cpm", ".cps", ".cpn")


def region_fingerprint(region_dir: Path) -> str:
    """A short hash that changes whenever a catalog file of the region is added, removed or rewritten."""
    digest = hashlib.sha256()
    if region_dir.is_dir():
        for path in sorted(p for p in region_dir.iterdir() if p.suffix in CATALOG_SUFFIXES):
            st = path.stat()
            digest.update(f"{path.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]
