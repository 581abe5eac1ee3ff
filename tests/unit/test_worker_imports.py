"""The worker modules import one way: faust_app ← stage_app, metrics_app ← main."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

WORKERS = Path(__file__).resolve().parents[2] / "pipeline" / "workers"
LAYERS = {"faust_app": 0, "stage_app": 1, "metrics_app": 1, "main": 2}


def imported_workers(module: str) -> set[str]:
    tree = ast.parse((WORKERS / f"{module}.py").read_text(encoding="utf-8"))
    names = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    return {name.rpartition(".")[2] for name in names if name.startswith("pipeline.workers.")}


@pytest.mark.parametrize("module", LAYERS)
def test_a_worker_module_imports_only_the_layers_below_it(module: str) -> None:
    above = {other for other, layer in LAYERS.items() if layer >= LAYERS[module]}
    assert not imported_workers(module) & above
