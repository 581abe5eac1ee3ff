"""``codegen extract``, driven through a small typer app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from pipeline.cli.extract_cmd import extract_command

from .helpers import CORPUS

app = typer.Typer()
app.command("extract")(extract_command)
app.command("noop")(lambda: None)  # two commands, so "extract" is addressed by name

SOURCE = '''\
import os


class Service:
    def fetch(self, key: str) -> dict[str, int]:
        """Fetch [bold]things[/bold]."""
        raise NotImplementedError

    def done(self):
        return 1


def helper(x):
    pass  # Stub
'''


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def module(tmp_path: Path) -> Path:
    path = tmp_path / "service.py"
    path.write_text(SOURCE)
    return path


def test_table(runner: CliRunner, module: Path) -> None:
    result = runner.invoke(app, ["extract", str(module)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Service.fetch" in result.output
    assert "def fetch(self, key: str) -> dict[str, int]:" in result.output  # no markup eaten
    assert "raise:NotImplementedError" in result.output
    assert "helper" in result.output and "pass-comment:Stub" in result.output
    assert "2 stub(s)" in result.output


def test_json(runner: CliRunner, module: Path) -> None:
    result = runner.invoke(app, ["extract", str(module), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [stub["qualified_name"] for stub in data["stubs"]] == ["Service.fetch", "helper"]
    assert data["stubs"][0]["span"] == {
        "start_line": 5,
        "start_column": 4,
        "end_line": 7,
        "end_column": 33,
    }
    assert data["imports"] == ["import os"]


def test_markers_option(runner: CliRunner, module: Path) -> None:
    result = runner.invoke(app, ["extract", str(module), "--json", "--marker", "pass-comment:Stub"])
    assert result.exit_code == 0, result.output
    assert [stub["name"] for stub in json.loads(result.stdout)["stubs"]] == ["helper"]


def test_include_bodiless(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "api.pyi"
    path.write_text("def f(x: int) -> int: ...\n")
    skipped = runner.invoke(app, ["extract", str(path), "--json"])
    assert json.loads(skipped.stdout)["stubs"] == []
    included = runner.invoke(app, ["extract", str(path), "--json", "--include-bodiless"])
    assert [stub["name"] for stub in json.loads(included.stdout)["stubs"]] == ["f"]


def test_no_stubs(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "done.py"
    path.write_text("def f():\n    return 1\n")
    result = runner.invoke(app, ["extract", str(path)])
    assert result.exit_code == 0
    assert "no stubs" in result.output


def test_corpus_file(runner: CliRunner) -> None:
    result = runner.invoke(app, ["extract", str(CORPUS / "tricky.py"), "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["stubs"]) > 10


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("def f(:\n    ...\n", [], "SOURCE_SYNTAX_ERROR"),
        ("def f(): ...\n", ["--marker", "bogus"], "INVALID_MARKER"),
        (None, [], "cannot read"),
    ],
)
def test_errors_exit_2_with_a_message_on_stderr(
    runner: CliRunner, tmp_path: Path, content: str | None, args: list[str], message: str
) -> None:
    path = tmp_path / "bad.py"
    if content is not None:
        path.write_text(content)
    result = runner.invoke(app, ["extract", str(path), *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""
