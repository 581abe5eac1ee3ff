from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from pipeline.cli.validate_cmd import validate_command
from pipeline.models.findings import ValidationReport
from pipeline.settings import get_settings

CLEAN = "import os\n\n\ndef f(x: int) -> str:\n    return os.sep * x\n"
VULNERABLE = (
    "import subprocess\n\n\ndef f(c: str) -> int:\n    return subprocess.call(c, shell=True)\n"
)
WARNINGS_ONLY = "def g(x):\n    return x\n"


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """The test's command group."""

    app.command("validate")(validate_command)
    return app


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def write(tmp_path: Path, text: str, name: str = "module.py") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def invoke(app: typer.Typer, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["validate", *args])
    return result.exit_code, result.output


def test_clean_file_exits_zero(app: typer.Typer, tmp_path: Path) -> None:
    code, output = invoke(app, str(write(tmp_path, CLEAN)))
    assert code == 0, output
    assert "no findings" in output


def test_messages_keep_whole_lines_on_a_narrow_terminal(
    app: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "20")
    path = write(tmp_path, CLEAN)
    code, output = invoke(app, str(path))
    assert code == 0, output
    assert f"{path}: no findings" in output.splitlines()


def test_errors_exit_one_and_print_a_table(app: typer.Typer, tmp_path: Path) -> None:
    code, output = invoke(app, str(write(tmp_path, VULNERABLE)))
    assert code == 1
    assert "B602" in output
    assert "5:11" in output
    assert "error(s)" in output


def test_json_output_is_the_report(app: typer.Typer, tmp_path: Path) -> None:
    code, output = invoke(app, str(write(tmp_path, VULNERABLE)), "--json")
    assert code == 1
    report = ValidationReport.model_validate_json(output)
    assert ("B602", 5) in {(f.code, f.line) for f in report.findings}
    assert json.loads(output)["findings"][0]["rule"]


def test_rules_comma_separated_or_repeated(app: typer.Typer, tmp_path: Path) -> None:
    path = str(write(tmp_path, VULNERABLE + WARNINGS_ONLY))
    repeated = ["--rules", "type_hints", "--rules", "imports"]
    for args in (["--rules", "type_hints,imports"], repeated):
        code, output = invoke(app, path, *args, "--json")
        assert code == 0, output
        rules = {f.rule for f in ValidationReport.model_validate_json(output).findings}
        assert rules == {"type_hints"}


def test_strict_turns_warnings_into_a_failure(app: typer.Typer, tmp_path: Path) -> None:
    path = str(write(tmp_path, WARNINGS_ONLY))
    assert invoke(app, path)[0] == 0
    assert invoke(app, path, "--strict")[0] == 1


def test_house_rules_come_from_the_settings(
    app: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEGEN_ERROR_CLASS", "AppError")
    path = str(write(tmp_path, "def f() -> None:\n    raise ValueError('x')\n"))
    code, output = invoke(app, path, "--rules", "house_rules", "--json")
    assert code == 0
    [finding] = ValidationReport.model_validate_json(output).findings
    assert finding.suggestion == "raise AppError('x')"


@pytest.mark.parametrize(
    "args",
    [
        ["missing.py"],
        ["module.py", "--rules", "bogus"],
        ["module.py", "--rules", "security,nope"],
        ["."],
    ],
)
def test_usage_errors_exit_two(
    app: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    write(tmp_path, CLEAN)
    monkeypatch.chdir(tmp_path)
    code, _ = invoke(app, *args)
    assert code == 2


def test_undecodable_file_is_a_usage_error(app: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "latin.py"
    path.write_bytes(b"x = '\xe9'\n")
    assert invoke(app, str(path))[0] == 2


def test_coding_cookie_is_honoured(app: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "latin.py"
    path.write_bytes(b"# -*- coding: latin-1 -*-\nx = '\xe9'\n")
    assert invoke(app, str(path))[0] == 0
