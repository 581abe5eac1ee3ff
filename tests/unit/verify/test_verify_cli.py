"""``codegen verify FILE --tests DIR``: the stage alone, as a table or as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.settings import get_settings
from pipeline.stages.inject import inject_bodies
from tests.fixtures import EXAMPLES

runner = CliRunner()


def filled_example(tmp_path: Path, attempt: int) -> Path:
    from pipeline.client import build_request

    request = build_request(EXAMPLES / "pricing.py")
    target = tmp_path / "pricing.py"
    target.write_text(inject_bodies(request.source, request.bodies_for(attempt)).source)
    return target


def test_the_fixed_example_passes(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["verify", str(filled_example(tmp_path, 2)), "--tests", str(EXAMPLES / "pricing.tests")],
    )
    assert result.exit_code == 0, result.output
    assert "4 passed, 0 failed" in result.output and "in the sandbox" in result.output


def test_the_wrong_body_fails_with_its_finding_as_json(tmp_path: Path) -> None:
    module = filled_example(tmp_path, 1)
    result = runner.invoke(
        app, ["verify", str(module), "--tests", str(EXAMPLES / "pricing.tests"), "--json"]
    )
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    [finding] = report["findings"]
    assert (finding["rule"], finding["code"]) == ("tests", "TEST_FAILED")
    wrong_line = (
        module.read_text()
        .splitlines()
        .index("    return (price * (1 - percent / 100)).quantize(CENT, rounding=ROUND_HALF_UP)")
    )
    assert finding["line"] == wrong_line + 1


def test_without_tests_the_module_is_imported(tmp_path: Path) -> None:
    module = tmp_path / "broken.py"
    module.write_text("import no_such_module_anywhere\n")
    result = runner.invoke(app, ["verify", str(module)])
    assert result.exit_code == 1
    assert "ModuleNotFoundError" in result.output


def test_no_sandbox_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    get_settings.cache_clear()
    monkeypatch.setenv("CODEGEN_VERIFY_BWRAP", str(tmp_path / "missing-bwrap"))
    try:
        module = tmp_path / "m.py"
        module.write_text("X = 1\n")
        result = runner.invoke(app, ["verify", str(module)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "SANDBOX_UNAVAILABLE" in result.output
