"""The inject command, through a small typer app."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from pytest import MonkeyPatch
from typer.testing import CliRunner

from pipeline.cli.inject_cmd import inject_command
from pipeline.settings import get_settings

app = typer.Typer()
app.command("inject")(inject_command)
app.command("other")(lambda: None)  # two commands, so that "inject" is a subcommand

runner = CliRunner()


def _files(tmp_path: Path, bodies: object) -> tuple[Path, Path]:
    module = tmp_path / "mod.py"
    module.write_bytes(b"class A:\r\n    def f(self):\r\n        ...\r\n")
    bodies_file = tmp_path / "bodies.json"
    bodies_file.write_text(json.dumps(bodies))
    return module, bodies_file


def test_writes_the_result_to_the_output_file(tmp_path: Path) -> None:
    module, bodies = _files(tmp_path, {"A.f": "return 1\n"})
    out = tmp_path / "out.py"
    result = runner.invoke(app, ["inject", str(module), "--bodies", str(bodies), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == b"class A:\r\n    def f(self):\r\n        return 1\r\n"


def test_writes_the_result_to_stdout(tmp_path: Path) -> None:
    module, bodies = _files(tmp_path, {"A.f": "return 1\n"})
    result = runner.invoke(app, ["inject", str(module), "--bodies", str(bodies)])
    assert result.exit_code == 0
    assert "        return 1" in result.stdout


def test_inject_error_is_reported_on_stderr_with_exit_code_2(tmp_path: Path) -> None:
    module, bodies = _files(tmp_path, {"A.g": "return 1\n"})
    result = runner.invoke(app, ["inject", str(module), "--bodies", str(bodies)])
    assert result.exit_code == 2
    assert "NAME_NOT_FOUND" in result.stderr
    assert "A.f" in result.stderr
    assert result.stdout == ""


def test_bad_bodies_file(tmp_path: Path) -> None:
    module, bodies = _files(tmp_path, ["not", "a", "mapping"])
    result = runner.invoke(app, ["inject", str(module), "--bodies", str(bodies)])
    assert result.exit_code == 2
    assert "JSON object" in result.stderr
    missing = runner.invoke(app, ["inject", str(module), "--bodies", str(tmp_path / "no.json")])
    assert missing.exit_code == 2
    assert "cannot read" in missing.stderr


def test_takes_the_settings_of_the_worker(tmp_path: Path, monkeypatch: MonkeyPatch) -> None:
    module, bodies = _files(tmp_path, {"A.f": "raise Failure('no')\n"})
    monkeypatch.setenv("CODEGEN_ERROR_CLASS", "acme.errors:Failure")
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["inject", str(module), "--bodies", str(bodies)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("from acme.errors import Failure\n")
    assert "added from acme.errors import Failure" in result.stderr
