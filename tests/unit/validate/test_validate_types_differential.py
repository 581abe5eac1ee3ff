"""The ``types`` rule reports, inside the bodies, exactly what ``ty check`` prints.

On standard-library modules with ten stubs filled with their original bodies (the
benchmark's corpus) and on hand-written modules with wrong bodies, the module the rule
checks (the injection of the bodies) is written to a file and checked by the ``ty check``
command line with the same ``ty.toml``, in its concise text output: a different path
through ty (the command line, not the language server) and a different parser. Inside the
bodies' lines both must give the same (line, column, code, severity).
"""

from __future__ import annotations

import re
import subprocess
import textwrap
from functools import cache
from pathlib import Path

import pytest

from bench.corpus import build_corpus
from pipeline.stages.inject import inject_bodies
from pipeline.stages.validate import Rule, ValidateOptions, validate_bodies
from pipeline.stages.validate import types as types_rule

OPTIONS = ValidateOptions(rules={Rule.TYPES})
CORPUS_MODULES = 12
_CONCISE = re.compile(r"^module\.py:(\d+):(\d+): (error|warning)\[([\w-]+)\] ")

HANDWRITTEN = [
    (
        textwrap.dedent(
            """\
            import os
            import not_installed_anywhere


            class Point:
                def __init__(self, x: int, y: int) -> None:
                    self.x = x
                    self.y = y

                def norm(self) -> float:
                    raise NotImplementedError

                def moved(self, dx: int) -> "Point":
                    raise NotImplementedError


            def parse(text: str) -> Point:
                raise NotImplementedError
            """
        ),
        {
            "Point.norm": "return (self.x ** 2 + self.z ** 2) ** 0.5",
            "Point.moved": "return Point(self.x + dx)",
            "parse": (
                "a, b = text.split(',')\n"
                "os.nope(not_installed_anywhere.thing)\n"
                "return int(a) + int(b)"
            ),
        },
    )
]


@cache
def _corpus() -> list[tuple[str, dict[str, str]]]:
    modules = build_corpus(CORPUS_MODULES)
    return [(module.source, module.bodies) for module in modules] + HANDWRITTEN


Key = tuple[int, int, str, str]


def _inside(line: int, ranges: list[tuple[int, int]]) -> bool:
    return any(first <= line <= last for first, last in ranges)


def _command_line(text: str, tmp_path: Path) -> set[Key]:
    """``ty check``'s diagnostics, as (line, 0-based column, code, severity)."""
    config = tmp_path / "ty.toml"
    config.write_text(types_rule.config_text(OPTIONS), encoding="utf-8")
    (tmp_path / "module.py").write_text(text, encoding="utf-8")
    completed = subprocess.run(
        [
            types_rule.ty_binary(),
            "check",
            "--output-format",
            "concise",
            "--no-progress",
            "--color",
            "never",
            "--config-file",
            str(config),
            "module.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "XDG_CONFIG_HOME": str(tmp_path)},
    )
    assert completed.returncode in (0, 1), completed.stderr
    found: set[Key] = set()
    for line in completed.stdout.splitlines():
        match = _CONCISE.match(line)
        if match and match[4] not in types_rule.SYNTAX_CODES:
            row, column, severity, code = match.groups()
            found.add((int(row), int(column) - 1, types_rule.CODE_PREFIX + code, severity))
    return found


@pytest.mark.parametrize("number", range(CORPUS_MODULES + len(HANDWRITTEN)))
def test_the_rule_reports_what_ty_check_reports(number: int, tmp_path: Path) -> None:
    corpus = _corpus()
    assert len(corpus) == CORPUS_MODULES + len(HANDWRITTEN)
    source, bodies = corpus[number]
    injected = inject_bodies(source, bodies)
    ranges = list(injected.body_lines.values())
    report = validate_bodies(source, bodies, OPTIONS)
    rule = {
        (f.line, f.column, f.code, f.severity.value)
        for f in report.findings
        if _inside(f.line, ranges)
    }
    expected = {key for key in _command_line(injected.source, tmp_path) if _inside(key[0], ranges)}
    assert rule == expected
    if number == len(corpus) - 1:  # the hand-written module: its errors are all there
        assert {code for _, _, code, _ in rule} >= {
            "TY-missing-attribute",
            "TY-missing-argument",
        }
