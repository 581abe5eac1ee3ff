"""Injecting the body a function already has gives back the identical file, byte for byte.

On a sample of the standard library, plus CRLF and tab-indented variants of part of it. Each
body is injected twice: as the text it has in the file (indented), and as libcst renders its
statements on their own (dedented).
"""

from __future__ import annotations

import re
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
import libcst.matchers as m
import pytest

from pipeline.stages.inject import inject_bodies
from pipeline.stages.inject.locate import DefIndex
from pipeline.stages.inject.positions import render_noting_lines

STDLIB = Path(sysconfig.get_paths()["stdlib"])
MODULES = 170
PER_MODULE = 6
MAX_LINES = 800

_DOCSTRING = m.SimpleStatementLine(body=[m.Expr(value=m.SimpleString() | m.ConcatenatedString())])
# What rendering statements on their own (at indentation zero) cannot tell apart: a comment
# or a continuation line left of the block's indentation, a blank line holding whitespace.
_LOSSY = (
    m.ParenthesizedWhitespace(indent=False)
    | m.EmptyLine(indent=False, comment=m.Comment())
    | m.EmptyLine(comment=None, indent=True)
    | m.EmptyLine(comment=None, whitespace=m.SimpleWhitespace(value=m.MatchIfTrue(bool)))
    # A line continued after a backslash keeps its column in the file: not dedented code.
    | m.SimpleWhitespace(value=m.MatchIfTrue(lambda value: "\\" in value))
)


def _sample_paths() -> list[Path]:
    paths = sorted(
        p
        for p in STDLIB.rglob("*.py")
        if "site-packages" not in p.parts and "test" not in p.parts and "tests" not in p.parts
    )
    step = max(1, len(paths) // MODULES)
    return paths[::step]


@dataclass
class Sample:
    source: str
    raw: dict[str, str]
    dedented: dict[str, str]


def _sample(source: str) -> Sample | None:
    if "\f" in source or source.count("\n") > MAX_LINES:
        return None
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError:
        return None
    if module.code != source:  # libcst itself does not give this module back as it was
        return None
    index = DefIndex()
    module.visit(index)
    chosen: dict[str, list[cst.BaseStatement]] = {}
    picked: set[int] = set()
    for name, defs in index.defs.items():
        if len(chosen) >= PER_MODULE:
            break
        node = defs[0]
        if len(defs) > 1 or any(outer in picked for outer in index.enclosing[id(node)]):
            continue
        block = node.body
        if not isinstance(block, cst.IndentedBlock):
            continue
        statements = list(block.body)
        if statements and m.matches(statements[0], _DOCSTRING):
            statements = statements[1:]
        if not statements:
            continue
        picked.add(id(node))
        chosen[name] = statements
    # The lines of the statements, as the inject stage notes them (checked against libcst's
    # PositionProvider in test_inject_lines.py); a wrong slice would not give the file back.
    _, starts, ends = render_noting_lines(
        module,
        starts=[statements[0] for statements in chosen.values()],
        ends=[statements[-1] for statements in chosen.values()],
    )
    lines = source.splitlines(keepends=True)
    raw: dict[str, str] = {}
    dedented: dict[str, str] = {}
    for name, statements in chosen.items():
        start, end = starts[id(statements[0])], ends[id(statements[-1])]
        raw[name] = "".join(lines[start - 1 : end])
        if not any(m.findall(statement, _LOSSY) for statement in statements):
            dedented[name] = "".join(module.code_for_node(s) for s in statements)
    return Sample(source, raw, dedented) if raw else None


def _crlf(source: str) -> str | None:
    return None if "\r" in source else source.replace("\n", "\r\n")


def _tabs(source: str) -> str | None:
    converted = re.sub(
        r"^((?:    )+)", lambda match: "\t" * (len(match.group(1)) // 4), source, flags=re.M
    )
    try:
        module = cst.parse_module(converted)
    except cst.ParserSyntaxError:
        return None
    return converted if module.default_indent == "\t" else None


def _cases() -> list[tuple[str, str]]:
    cases: list[tuple[str, str]] = []
    for number, path in enumerate(_sample_paths()):
        try:
            source = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        cases.append((str(path.relative_to(STDLIB)), source))
        variant = _crlf(source) if number % 6 == 0 else _tabs(source) if number % 6 == 3 else None
        if variant is not None:
            kind = "crlf" if number % 6 == 0 else "tabs"
            cases.append((f"{path.relative_to(STDLIB)}[{kind}]", variant))
    return cases


@pytest.fixture(scope="module")
def samples() -> list[tuple[str, Sample]]:
    found = [(label, sample) for label, source in _cases() if (sample := _sample(source))]
    assert len({label.split("[")[0] for label, _ in found}) >= 150
    return found


def test_stdlib_round_trip_indented_text(samples: list[tuple[str, Sample]]) -> None:
    failures = [
        label
        for label, sample in samples
        if inject_bodies(sample.source, sample.raw).source != sample.source
    ]
    assert not failures, failures


def test_stdlib_round_trip_dedented_text(samples: list[tuple[str, Sample]]) -> None:
    failures = [
        label
        for label, sample in samples
        if sample.dedented and inject_bodies(sample.source, sample.dedented).source != sample.source
    ]
    assert not failures, failures
    assert sum(len(sample.dedented) for _, sample in samples) >= 500


def test_stdlib_sample_has_crlf_and_tab_modules(samples: list[tuple[str, Sample]]) -> None:
    kinds = [label.rsplit("[", 1)[-1] for label, _ in samples if label.endswith("]")]
    assert kinds.count("crlf]") >= 20
    assert kinds.count("tabs]") >= 10
