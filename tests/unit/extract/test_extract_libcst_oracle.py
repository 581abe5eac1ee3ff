"""Differential test: libcst is the oracle for every text and position extraction reports.

Extraction reads ``ast`` positions and slices the source; libcst's concrete
syntax tree keeps every character, so its ``PositionProvider`` and
``QualifiedNameProvider`` say what the answers must be. Every function of the
corpus and of a few standard-library modules is compared: signature, span,
the comments of its own body, and (for stubs) qualified name, decorators and
class bases.
"""

from __future__ import annotations

import ast
import re
import sysconfig
import tokenize
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider, QualifiedNameProvider

from pipeline.models.stubs import SourceSpan
from pipeline.stages.extract import ExtractOptions, extract_stubs
from pipeline.stages.extract.comments import (
    has_own_comment,
    last_line,
    nested_ranges,
    own_comments,
)
from pipeline.stages.extract.headers import colon_by_tokenizing, header_colon, signature
from pipeline.stages.extract.source import SourceText

from .helpers import ALL_KINDS, CORPUS

STDLIB = Path(sysconfig.get_paths()["stdlib"])
MODULES = [
    CORPUS / "tricky.py",
    STDLIB / "dataclasses.py",
    STDLIB / "asyncio" / "base_events.py",
]


@dataclass
class Expected:
    """What libcst says about one function."""

    signature: str
    span: SourceSpan
    qualified_names: set[str]
    decorators: list[str]
    bases: list[str] | None
    comments: list[str] = field(default_factory=list)


class _OwnComments(cst.CSTVisitor):
    """The comments of a body, minus nested defs and classes (but with the comment
    lines above them, which libcst keeps as their ``leading_lines``)."""

    def __init__(self) -> None:
        super().__init__()
        self.comments: list[str] = []

    def visit_Comment(self, node: cst.Comment) -> None:
        self.comments.append(node.value)

    def _nested(self, node: cst.FunctionDef | cst.ClassDef) -> bool:
        self.comments += [line.comment.value for line in node.leading_lines if line.comment]
        return False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return self._nested(node)

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return self._nested(node)


class _Oracle(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider, QualifiedNameProvider)

    def __init__(self, code: str) -> None:
        super().__init__()
        lines = re.split(r"(?<=\r\n)|(?<=\r)(?!\n)|(?<=\n)", code)
        self.starts = [0]
        for line in lines:
            self.starts.append(self.starts[-1] + len(line))
        self.code = code
        self.functions: dict[tuple[int, int], Expected] = {}
        self.classes: list[cst.ClassDef] = []

    def text(self, start: tuple[int, int], end: tuple[int, int]) -> str:
        return self.code[self.starts[start[0] - 1] + start[1] : self.starts[end[0] - 1] + end[1]]

    def range_text(self, node: cst.CSTNode) -> str:
        where = self.get_metadata(PositionProvider, node)
        assert isinstance(where, CodeRange)
        return self.text((where.start.line, where.start.column), (where.end.line, where.end.column))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.append(node)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.classes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        where = self.get_metadata(PositionProvider, node)
        colon = self.get_metadata(PositionProvider, node.whitespace_before_colon).end
        start = (where.start.line, where.start.column)
        owner = self.classes[-1] if self.classes else None
        parent_is_class = owner is not None and _directly_in(owner, node)
        comments = _OwnComments()
        node.body.visit(comments)
        self.functions[start] = Expected(
            signature=self.text(start, (colon.line, colon.column + 1)),
            span=SourceSpan(
                start_line=where.start.line,
                start_column=where.start.column,
                end_line=where.end.line,
                end_column=where.end.column,
            ),
            qualified_names={q.name for q in self.get_metadata(QualifiedNameProvider, node)},
            decorators=[self.range_text(d.decorator) for d in node.decorators],
            bases=[self.range_text(arg) for arg in (*owner.bases, *owner.keywords)]
            if owner is not None and parent_is_class
            else None,
            comments=comments.comments,
        )


def _directly_in(cls: cst.ClassDef, function: cst.FunctionDef) -> bool:
    """Whether a function belongs to the class's own scope (not a nested def's)."""
    finder = _ScopeFinder(function)
    cls.body.visit(finder)
    return finder.found


class _ScopeFinder(cst.CSTVisitor):
    def __init__(self, target: cst.FunctionDef) -> None:
        super().__init__()
        self.target = target
        self.found = False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.found = self.found or node is self.target
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False


def _read(path: Path) -> str:
    with tokenize.open(path) as handle:
        return handle.read()


@pytest.fixture(scope="module", params=MODULES, ids=lambda path: path.name)
def module(request: pytest.FixtureRequest) -> tuple[str, dict[tuple[int, int], Expected]]:
    code = _read(request.param)
    oracle = _Oracle(code)
    MetadataWrapper(cst.parse_module(code), unsafe_skip_copy=True).visit(oracle)
    return code, oracle.functions


def _functions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [
        node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def test_signatures_and_spans(module: tuple[str, dict[tuple[int, int], Expected]]) -> None:
    code, expected = module
    source = SourceText(code)
    functions = _functions(ast.parse(code))
    assert len(functions) == len(expected)
    for node in functions:
        span = source.span(node)
        oracle = expected[(span.start_line, span.start_column)]
        assert span == oracle.span, node.name
        assert signature(source, node) == oracle.signature, node.name
        assert header_colon(source, node) == colon_by_tokenizing(source, node), node.name


def test_own_comments(module: tuple[str, dict[tuple[int, int], Expected]]) -> None:
    code, expected = module
    source = SourceText(code)
    texts = sorted({comment for oracle in expected.values() for comment in oracle.comments})
    occurrences = {
        text: [m.start() for m in re.finditer(re.escape(text.encode()), source.data)]
        for text in texts
    }
    for node in _functions(ast.parse(code)):
        span = source.span(node)
        oracle = expected[(span.start_line, span.start_column)]
        colon = header_colon(source, node)
        nested = nested_ranges(source, node)
        found = list(own_comments(source, node, colon, last_line(source, node), nested))
        assert found == oracle.comments, node.name
        # The fast path, which decides most cases without tokenizing, agrees too.
        for text in texts if oracle.comments else texts[:50]:
            has = has_own_comment(
                source, node, text, occurrences[text], partial(header_colon, source, node)
            )
            assert has == any(text in comment for comment in oracle.comments), (node.name, text)


def test_stub_fields(module: tuple[str, dict[tuple[int, int], Expected]]) -> None:
    code, expected = module
    markers = [*ALL_KINDS, "pass-comment:#", "comment:#", "raise:Exception"]
    result = extract_stubs(code, ExtractOptions(markers=markers, skip_bodiless=False))
    assert result.stubs
    for stub in result.stubs:
        oracle = expected[(stub.span.start_line, stub.span.start_column)]
        assert stub.qualified_name in oracle.qualified_names
        assert stub.signature == oracle.signature
        assert stub.decorators == oracle.decorators
        bases = None if stub.class_context is None else stub.class_context.bases
        assert bases == oracle.bases, stub.qualified_name
