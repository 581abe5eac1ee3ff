"""Inject by splicing: libcst parses and renders only the functions being filled.

The module is parsed with :mod:`ast` (an order of magnitude faster than libcst) to find the
functions by qualified name and the lines they span. Each function's text, from its ``def``
line through its last line and the comment and blank lines after it, is parsed by libcst on
its own (after an ``if 1:`` block indented by the module's default indentation, for libcst to take
that as the default, and inside an ``if 1:`` when the function is indented, so that its lines
keep their indentation),
gets its new body from ``BodyInjector`` and is rendered; the new text replaces those lines.
Imports moved to the module are inserted as text at the place ``ModuleImports.insert_into``
puts them. Everything else of the module stays byte for byte as it was.

``inject_spliced`` returns None for what it does not handle (a module ``ast`` cannot parse,
a form feed, a function text libcst cannot parse on its own, an unusual top-level layout);
the caller then takes the whole-module libcst path.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import libcst as cst

from pipeline.stages.inject.body import parse_body
from pipeline.stages.inject.imports import ModuleImports
from pipeline.stages.inject.locate import AstDefIndex, AstFunction
from pipeline.stages.inject.models import InjectionResult
from pipeline.stages.inject.options import InjectOptions, needed_imports
from pipeline.stages.inject.positions import render_noting_lines
from pipeline.stages.inject.text import SourceLines, default_indent, default_newline
from pipeline.stages.inject.transform import BodyInjector

_WRAPPER = "if 1:"


class _Unhandled(Exception):
    """The splice path does not handle this module: take the whole-module path."""


@dataclass(frozen=True)
class _Region:
    """A function to fill: its lines, and its text parsed by libcst."""

    name: str
    first_line: int
    last_line: int
    wrapper: str
    module: cst.Module
    function: cst.FunctionDef


@dataclass(frozen=True)
class _Edit:
    start: int
    end: int
    text: str
    order: int  # at one offset, inserted imports come before a function's new text


def inject_spliced(
    source: str, bodies: Mapping[str, str], options: InjectOptions | None = None
) -> InjectionResult | None:
    """``inject_bodies`` by splicing, or None when the module needs the whole-module path.

    Raises the same ``InjectError``s as the whole-module path, in the same order.
    """
    options = options or InjectOptions()
    if "\f" in source or source.startswith("\ufeff"):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None  # the whole-module path reports it (or parses what ast does not)
    targets = AstDefIndex(tree).find(bodies)
    text = SourceLines(source)
    newline = default_newline(source)
    indent = default_indent(tree, text)
    try:
        regions = [
            _region(name, node, text, newline, indent)
            for name, node in sorted(targets.items(), key=lambda item: item[1].lineno)
        ]
    except _Unhandled:
        return None
    parsed = {
        name: parse_body(code, qualified_name=name, newline=newline)
        for name, code in bodies.items()
    }
    imports = _Imports(tree, text)
    needed = needed_imports(bodies, options.provided_imports())
    edits: list[_Edit] = []
    relative_lines: dict[str, tuple[int, int]] = {}
    for region in regions:
        injector = BodyInjector(
            region.module,
            {region.name: region.function},
            parsed,
            imports=imports.get,
            hoist=options.hoist_imports,
            needed=needed,
        )
        code, lines = _fill(region, injector)
        relative_lines[region.name] = lines
        start, end = text.offset(region.first_line), text.offset(region.last_line + 1)
        edits.append(_Edit(start, end, code, order=1))
    empty = cst.Module(body=(), default_newline=newline, default_indent=indent)
    added_imports: list[str] = []
    if imports.module_imports is not None:
        module_imports = imports.module_imports
        if module_imports.added or module_imports.added_future:
            insertions = module_imports.insertions(empty)
            if insertions is None:
                return None
            edits += [_Edit(offset, offset, code, order=0) for offset, code in insertions]
        added_imports = module_imports.added_code(empty)
    new_source, body_lines = _apply(source, text, edits, regions, relative_lines)
    return InjectionResult(
        source=new_source,
        filled=list(bodies),
        body_lines={name: body_lines[name] for name in bodies},
        added_imports=added_imports,
    )


def _region(name: str, node: AstFunction, text: SourceLines, newline: str, indent: str) -> _Region:
    first = node.lineno
    last = node.end_lineno
    assert last is not None
    own_indent = text.indentation(first)
    # The comment and blank lines after the function: libcst may give some of them to the
    # function's blocks (as their footers); not from a comment left of the def on (libcst
    # would not give back a comment left of a block it cannot see the start of).
    while last < len(text.lines) and _is_empty_line(text.line(last + 1), len(own_indent)):
        last += 1
    if not text.line(first)[len(own_indent) :].startswith(("def", "async")):
        raise _Unhandled  # a backslash between the decorators and ``def``, or the like
    # libcst takes the default indentation from the first indented line: that of the module.
    wrapper = f"{_WRAPPER}{newline}{indent}pass{newline}"
    if own_indent:
        wrapper += _WRAPPER + newline
    function_text = "".join(text.lines[first - 1 : last])
    try:
        module = cst.parse_module(wrapper + function_text)
    except cst.ParserSyntaxError as error:
        raise _Unhandled from error
    if module.default_indent != indent or module.default_newline != newline:
        raise _Unhandled
    if module.code != wrapper + function_text:
        raise _Unhandled  # the whole-module path renders it as libcst does
    statement: cst.BaseStatement = module.body[1]
    if own_indent:
        assert isinstance(statement, cst.If) and isinstance(statement.body, cst.IndentedBlock)
        statement = statement.body.body[0]
    if not isinstance(statement, cst.FunctionDef):
        raise _Unhandled
    return _Region(name, first, last, wrapper, module, statement)


def _is_empty_line(line: str, indentation: int) -> bool:
    """A blank line, or a comment line indented at least ``indentation``."""
    content = line.lstrip(" \t\f")
    if not content.strip("\r\n"):
        return True
    return content.startswith("#") and len(line) - len(content) >= indentation


class _Imports:
    """The module's imports, read (from the ``ast``) when a body first starts with imports,
    and shared by all the functions filled."""

    def __init__(self, tree: ast.Module, text: SourceLines) -> None:
        self._tree = tree
        self._text = text
        self.module_imports: ModuleImports | None = None

    def get(self) -> ModuleImports:
        if self.module_imports is None:
            found = ModuleImports.of_tree(self._tree, self._text)
            if found is None:
                raise _Unhandled
            self.module_imports = found
        return self.module_imports


def _fill(region: _Region, injector: BodyInjector) -> tuple[str, tuple[int, int]]:
    """The function's new text, and the lines of its new body in that text."""
    new_module = region.module.visit(injector)
    placed = injector.placed[region.name]
    code, starts, ends = render_noting_lines(new_module, starts=[placed.first], ends=[placed.last])
    skipped = region.wrapper.count("\n") + region.wrapper.count("\r") - region.wrapper.count("\r\n")
    assert code.startswith(region.wrapper)
    first = starts[id(placed.first)] + placed.kept_lines - skipped
    last = ends[id(placed.last)] - skipped
    return code[len(region.wrapper) :], (first, last)


def _apply(
    source: str,
    text: SourceLines,
    edits: list[_Edit],
    regions: list[_Region],
    relative_lines: Mapping[str, tuple[int, int]],
) -> tuple[str, dict[str, tuple[int, int]]]:
    """The new text, and the lines of each new body in it."""
    by_start = {text.offset(region.first_line): region for region in regions}
    pieces: list[str] = []
    position = 0
    shift = 0  # lines added so far
    body_lines: dict[str, tuple[int, int]] = {}
    for edit in sorted(edits, key=lambda e: (e.start, e.order)):
        pieces += (source[position : edit.start], edit.text)
        region = by_start.get(edit.start) if edit.order else None
        if region is not None:
            first, last = relative_lines[region.name]
            offset = region.first_line - 1 + shift
            body_lines[region.name] = (first + offset, last + offset)
        shift += _line_count(edit.text) - _line_count(source[edit.start : edit.end])
        position = edit.end
    pieces.append(source[position:])
    return "".join(pieces), body_lines


def _line_count(text: str) -> int:
    return text.count("\n") + text.count("\r") - text.count("\r\n")
