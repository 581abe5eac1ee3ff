"""`codegen demo` (the README's main job) carries the bundled examples to stored files."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.catalogue import WORKERS
from pipeline.settings import DEPLOYMENT_SETTINGS, Settings
from tests.fixtures import ROOT

pytestmark = pytest.mark.integration


def test_demo_stores_every_example(settings_factory: Callable[..., Settings]) -> None:
    settings = settings_factory()
    env = {**os.environ, **settings.environment(*DEPLOYMENT_SETTINGS)}
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "demo", "examples"],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    examples = sorted(path.name for path in (ROOT / "examples").glob("*.py"))
    stored = sorted(path.name for path in Path(settings.store_root).rglob("*.py"))
    assert stored == examples
    assert done.stdout.count(" stored ") == len(examples), done.stdout
    assert f"started {len(WORKERS)} workers, one process each" in done.stdout
    # Workers start once their groups have a coordinator (ensure_topics waits for it). A
    # worker stopped while still joining may log a closed connection; that is not checked.
    assert "GroupCoordinatorNotAvailable" not in done.stdout + done.stderr
