"""docker-compose.yml's worker services, the README's stage table and topics/ are rendered
from the catalogue: the committed files match it, and a new spec reaches all of them."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from pipeline import catalogue
from pipeline.catalogue import StageSpec
from pipeline.cli.main import app as cli
from pipeline.derived import COMPOSE, README, DerivedFileError, drift, render

ROOT = Path(__file__).resolve().parents[2]

AUDIT = StageSpec(
    "audit",
    "injected",
    "verified",
    "tests.unit.test_stage_spec:AuditProcessor",
    routed_outputs=("repairs",),
    summary="checks each filled module against the `audit` policy",
    host_environment=("CODEGEN_AUDIT_TOKEN",),
    sandboxed=True,
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the files the renderer reads and writes."""
    for name in (COMPOSE, README):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "topics", tmp_path / "topics")
    return tmp_path


@pytest.fixture
def audit_stage(monkeypatch: pytest.MonkeyPatch) -> StageSpec:
    monkeypatch.setitem(catalogue.STAGE_SPECS, AUDIT.name, AUDIT)
    return AUDIT


def test_the_committed_files_match_the_catalogue() -> None:
    """Run `codegen catalogue render` when this fails after changing a stage's spec."""
    diffs = drift(ROOT)
    assert not diffs, "".join(diffs.values())


def test_a_new_spec_gains_a_service_and_a_row(audit_stage: StageSpec, project: Path) -> None:
    changed = {project / COMPOSE, project / README, project / "topics" / "catalogue.json"}
    assert set(drift(project)) == changed
    assert set(render(project)) == changed
    assert drift(project) == {}

    document: dict[str, Any] = yaml.safe_load((project / COMPOSE).read_text())
    services = document["services"]
    assert list(services)[-3:] == ["audit", "metrics", "executor"]
    audit = services["audit"]
    assert audit["command"] == ["worker", "audit"]
    assert audit["healthcheck"] == document["x-worker"]["healthcheck"]
    assert audit["environment"] == {
        **document["x-worker"]["environment"],
        "CODEGEN_AUDIT_TOKEN": "${CODEGEN_AUDIT_TOKEN:-}",
    }
    assert audit["security_opt"] == ["seccomp=unconfined", "apparmor=unconfined"]
    assert services["kafka"] == yaml.safe_load((ROOT / COMPOSE).read_text())["services"]["kafka"]

    readme = (project / README).read_text()
    row = (
        "| audit | `injected` | `verified`, `repairs` "
        "| checks each filled module against the `audit` policy |\n"
    )
    assert row in readme
    assert readme.index("| store |") < readme.index(row) < readme.index("## Quick start")


def test_check_exits_1_with_a_diff_and_render_fixes_it(
    audit_stage: StageSpec, project: Path
) -> None:
    runner = CliRunner()
    checked = runner.invoke(cli, ["catalogue", "render", "--check", "--root", str(project)])
    assert checked.exit_code == 1, checked.output
    assert "+  audit:\n" in checked.output and "+| audit |" in checked.output
    assert "run `codegen catalogue render`" in checked.output
    assert "audit" not in (project / COMPOSE).read_text(), "--check writes nothing"

    rendered = runner.invoke(cli, ["catalogue", "render", "--root", str(project)])
    assert rendered.exit_code == 0, rendered.output
    again = runner.invoke(cli, ["catalogue", "render", "--check", "--root", str(project)])
    assert again.exit_code == 0, again.output


def test_a_file_without_its_markers_is_refused_clearly(project: Path) -> None:
    readme = project / README
    readme.write_text(readme.read_text().replace("<!-- END stage table -->\n", ""))
    with pytest.raises(DerivedFileError, match=r"README\.md: needs one line"):
        drift(project)
    result = CliRunner().invoke(cli, ["catalogue", "render", "--root", str(project)])
    assert result.exit_code == 2
    assert "needs one line" in result.output


def test_every_stage_has_a_summary_for_the_table() -> None:
    assert all(spec.summary for spec in catalogue.STAGE_SPECS.values())
