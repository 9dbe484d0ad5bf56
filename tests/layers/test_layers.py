"""The layer rule of DESIGN §2: read (`dvo`) → map (`mapping`) → load (`loading`) → orchestrate (`defs`), one
way; the CLI, the generator and the benchmark beside them; `lcdb_schema` below everything. Checked on the
source with `ast`, lazy imports inside functions included."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

#: Layers from the bottom up; a module may import its own layer and the ones before it, never a later one.
ORDER = ["lcdb_schema", "lcdb_pipeline.dvo", "lcdb_pipeline.mapping", "lcdb_pipeline.loading",
         "lcdb_pipeline.defs", "lcdb_pipeline.definitions", "lcdb_pipeline.synth", "lcdb_pipeline.distributed",
         "lcdb_pipeline.cli", "lcdb_pipeline.bench"]
#: Beside the layers: they use the layers and each other, nothing below imports them.
BESIDE = {"lcdb_pipeline.synth", "lcdb_pipeline.distributed", "lcdb_pipeline.cli", "lcdb_pipeline.bench"}
#: What a layer must not import from outside the project.
FORBIDDEN_LIBRARIES = {
    "lcdb_schema": ("dagster",),
    "lcdb_pipeline.dvo": ("sqlalchemy", "psycopg", "dagster", "lcdb_schema"),
    "lcdb_pipeline.mapping": ("sqlalchemy", "psycopg", "dagster"),
    "lcdb_pipeline.loading": ("dagster", "lcdb_pipeline.dvo"),
}
#: The map layer may configure astropy offline through the schema's time system (no SQL in that module).
ALLOWED = {"lcdb_pipeline.mapping": ("lcdb_schema.timesystem",)}


def _layer(module: str) -> str | None:
    matches = [layer for layer in ORDER if module == layer or module.startswith(layer + ".")]
    return max(matches, key=len) if matches else None


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, relative ones resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found.append((node.lineno, base))
    return found


def _violation(layer: str, target: str) -> str | None:
    if any(target == a or target.startswith(a + ".") for a in ALLOWED.get(layer, ())):
        return None
    for library in FORBIDDEN_LIBRARIES.get(layer, ()):
        if target == library or target.startswith(library + "."):
            return f"{layer} must not import {library}"
    imported = _layer(target)
    if imported is None or imported == layer:
        return None
    if layer in BESIDE:
        return None
    if imported in BESIDE or ORDER.index(imported) > ORDER.index(layer):
        return f"{layer} must not import {imported} (a higher layer)"
    return None


def violations(root: Path) -> list[str]:
    """`file:line: problem` for every import that breaks the layer rule, in the packages under `root`."""
    problems = []
    for package in ("lcdb_schema", "lcdb_pipeline"):
        for path in sorted((root / package).rglob("*.py")):
            module = _module_name(path, root)
            layer = _layer(module)
            if layer is None:
                continue
            for line, target in _imports(path, module):
                problem = _violation(layer, target)
                if problem:
                    problems.append(f"{path.relative_to(root)}:{line}: {problem} ({target})")
    return problems


def test_no_layer_imports_a_higher_one():
    assert violations(REPO) == []


def test_an_upward_import_is_caught(tmp_path):
    """The check itself: the same tree with one upward import added to the reader fails, naming the line."""
    for package in ("lcdb_schema", "lcdb_pipeline"):
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "data"))
    errors = tmp_path / "lcdb_pipeline" / "dvo" / "errors.py"
    errors.write_text(errors.read_text() + "\n\ndef _late():\n    from lcdb_pipeline.loading import load_table\n")
    found = violations(tmp_path)
    assert len(found) == 1
    assert found[0].startswith("lcdb_pipeline/dvo/errors.py:")
    assert "lcdb_pipeline.dvo must not import lcdb_pipeline.loading (a higher layer)" in found[0]


def test_every_module_belongs_to_a_layer():
    """No module of lcdb_pipeline outside the layers and the tools beside them (a newcomer's one hop)."""
    loose = [p.name for p in (REPO / "lcdb_pipeline").glob("*.py")
             if p.stem not in ("__init__", "definitions")]
    assert loose == []
