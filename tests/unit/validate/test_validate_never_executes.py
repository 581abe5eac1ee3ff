"""Generated code is read, never imported or executed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pipeline.stages.validate import validate_bodies, validate_source


def _hostile(marker: Path) -> str:
    return (
        "import os\n"
        f"open({str(marker)!r}, 'w').write('executed')\n"
        f"os.makedirs({str(marker)!r} + '.dir')\n"
        "raise SystemExit(3)\n"
    )


def test_validate_source_never_runs_the_module(tmp_path: Path) -> None:
    marker = tmp_path / "marker.txt"
    source = _hostile(marker) + "os._exit(1)\n"
    report = validate_source(source)
    assert report.findings is not None
    assert not marker.exists()
    assert not Path(str(marker) + ".dir").exists()


def test_validate_bodies_never_runs_the_bodies(tmp_path: Path) -> None:
    marker = tmp_path / "marker.txt"
    source = "class A:\n    def m(self) -> None:\n        raise NotImplementedError\n"
    body = f"open({str(marker)!r}, 'w').write('executed')\nraise SystemExit(3)\n"
    report = validate_bodies(source, {"A.m": body})
    assert {f.qualified_name for f in report.findings} == {"A.m"}
    assert not marker.exists()


def test_checking_imports_does_not_import_the_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "imported.txt"
    module = tmp_path / "side_effect_module_xyz.py"
    module.write_text(f"open({str(marker)!r}, 'w').write('imported')\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    report = validate_source("import side_effect_module_xyz\nprint(side_effect_module_xyz)\n")
    assert "IMP001" not in {f.code for f in report.findings}  # found...
    assert not marker.exists()  # ...without being imported
    assert "side_effect_module_xyz" not in sys.modules
