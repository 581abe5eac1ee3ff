"""Inject by splicing: ``ast`` finds what to replace, libcst renders only the new bodies.

The module is parsed with :mod:`ast` (an order of magnitude faster than libcst). For each
function to fill, the lines its new body replaces are read off the ``ast`` and the text, as
libcst splits a function (``transform`` says what is replaced and what is kept; the comments
after a block are its footer up to the last one indented at the block's level, as libcst's
parser assigns them). The new statements are rendered by libcst inside a block indented at the
body's absolute indentation, so libcst writes their indentation and keeps string contents
verbatim, and the text replaces those lines; a body libcst would write just as it is written
goes in as its own text, without libcst (``as_written``). Imports moved to the module are
inserted as text where ``ModuleImports.insert_into`` puts them. Nothing else of the module is
parsed by libcst, visited or rendered: everything outside the new bodies stays as it was.

``inject_spliced`` returns None for what it does not handle (a module ``ast`` cannot parse,
a form feed, a docstring on its ``def`` line, an unusual layout); the caller then takes the
whole-module libcst path.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import libcst as cst

from pipeline.stages.inject.as_written import WrittenBody, as_written
from pipeline.stages.inject.body import ParsedBody, parse_body
from pipeline.stages.inject.imports import ImportKey, ModuleImports, ast_line_keys
from pipeline.stages.inject.layout import (
    continued,
    end_line,
    footer_lines,
    is_blank,
    is_empty_line,
    starts_its_line,
)
from pipeline.stages.inject.locate import AstDefIndex, AstFunction, function_names
from pipeline.stages.inject.models import InjectionResult
from pipeline.stages.inject.options import InjectOptions, needed_imports
from pipeline.stages.inject.text import SourceLines, default_indent, default_newline
from pipeline.stages.inject.transform import KeptDocstring, Target, new_statements, reindented
from pipeline.stages.syntax_tree import line_groups, parse_or_none, statement_start

_WRAPPER = "if _:"


class _Unhandled(Exception):
    """The splice path does not handle this module: take the whole-module path."""


@dataclass(frozen=True)
class _Slot:
    """Where a function's new body goes: the text from ``start`` to ``end`` is replaced (none
    when they are equal) by ``head`` and the new body."""

    name: str
    start: int
    end: int
    target: Target
    head: str = ""
    """The rest of the ``def`` line for a body written on it (a line of its own then)."""


@dataclass(frozen=True)
class _Edit:
    start: int
    end: int
    text: str
    order: int  # at one offset, inserted imports come before a function's new text
    name: str | None = None
    skip: int = 0
    """The lines of the new text before the new body."""
    lines: int = 0
    """The lines of the new body's statements (without the comments after them)."""


def inject_spliced(
    source: str, bodies: Mapping[str, str], options: InjectOptions | None = None
) -> InjectionResult | None:
    """``inject_bodies`` by splicing, or None when the module needs the whole-module path.

    Raises the same ``InjectError``s as the whole-module path, in the same order.
    """
    options = options or InjectOptions()
    if "\f" in source or source.startswith("\ufeff"):
        return None
    if source and not source.endswith(("\n", "\r")):
        # libcst writes such a module as if it ended with a line break, and then drops it.
        result = inject_spliced(source + default_newline(source), bodies, options)
        if result is None:
            return None
        newline = default_newline(source)
        assert result.source.endswith(newline)
        return result.model_copy(update={"source": result.source[: -len(newline)]})
    tree = parse_or_none(source)
    if tree is None:
        return None  # the whole-module path reports it (or parses what ast does not)
    targets = AstDefIndex(tree).find(bodies)
    text = SourceLines(source)
    newline = default_newline(source)
    module_indent = default_indent(tree, text)
    try:
        slots = [
            _slot(name, node, text, module_indent)
            for name, node in sorted(targets.items(), key=lambda item: item[1].lineno)
        ]
    except _Unhandled:
        return None
    by_name = {slot.name: slot for slot in slots}
    parsed = {
        name: _parse(name, code, by_name[name], newline, options) for name, code in bodies.items()
    }
    imports = _Imports(tree, text)
    needed = needed_imports(bodies, options.provided_imports())
    edits: list[_Edit] = []
    try:
        for slot in slots:
            body = parsed[slot.name]
            if isinstance(body, WrittenBody):
                for module, imported in needed.get(slot.name, ()):
                    imports.get().require(module, imported)
                new, lines = body.text, body.lines
            else:
                statements = new_statements(
                    slot.name,
                    body,
                    slot.target,
                    imports=imports.get,
                    hoist=options.hoist_imports,
                    needed=needed.get(slot.name, ()),
                )
                statements, footer = reindented(statements, body, slot.target)
                new = _render(statements, footer, slot.target, newline)
                lines = _line_count(new) - len(footer)
            code = slot.head + new
            skip = _line_count(slot.head)
            edit = _Edit(slot.start, slot.end, code, 1, slot.name, skip, lines)
            edits.append(edit)
    except _Unhandled:
        return None
    added_imports: list[str] = []
    if imports.module_imports is not None:
        empty = cst.Module(body=(), default_newline=newline, default_indent=module_indent)
        module_imports = imports.module_imports
        if module_imports.added or module_imports.added_future:
            insertions = module_imports.insertions(empty)
            if insertions is None:
                return None
            edits += [_Edit(offset, offset, code, order=0) for offset, code in insertions]
        added_imports = module_imports.added_code(empty)
    new_source, body_lines = _apply(source, text, edits)
    return InjectionResult(
        source=new_source,
        filled=list(bodies),
        body_lines={name: body_lines[name] for name in bodies},
        added_imports=added_imports,
    )


def _parse(
    name: str, code: str, slot: _Slot, newline: str, options: InjectOptions
) -> WrittenBody | ParsedBody:
    """The body as it is written when it goes in so, else parsed by libcst."""
    target = slot.target
    written = as_written(
        code,
        newline,
        indent=target.base,
        unit=target.unit,
        keeps_docstring=target.docstring is not None,
        names=function_names(name),
        hoist=options.hoist_imports,
    )
    return written or parse_body(code, qualified_name=name, newline=newline)


def _slot(name: str, node: AstFunction, text: SourceLines, module_indent: str) -> _Slot:
    """What of the function the new body replaces, as libcst would split the function."""
    body = node.body
    start = statement_start(body[0])
    def_indent = text.indentation(node.lineno)
    if not starts_its_line(body[0], text):
        return _one_line_slot(name, node, text, module_indent)
    indent = text.indentation(start)
    if len(indent) <= len(def_indent) or not indent.startswith(def_indent):
        raise _Unhandled
    docstring = _docstring(body)
    keep = 0 if docstring is None else 1
    replaced = body[keep:]
    target = Target(
        docstring=docstring,
        local_keys=_local_keys(replaced),
        unit=indent[len(def_indent) :],
        base=indent,
        module_indent=module_indent,
    )
    if not replaced:
        # Only a docstring: the new body goes after the blank lines of the block's footer,
        # in place of the comment lines that follow them (``transform.split_stub_footer``).
        after = end_line(body[0], text)
        footer = footer_lines(text, after, indent)
        head = 0
        while head < len(footer) and is_blank(footer[head]):
            head += 1
        end = head
        while end < len(footer) and not is_blank(footer[end]):
            end += 1
        return _Slot(name, text.offset(after + 1 + head), text.offset(after + end + 1), target)
    statement = statement_start(replaced[0])
    floor = node.lineno if docstring is None else (body[0].end_lineno or start)
    above = statement - 1  # the leading lines of the first replaced statement start after it
    while above > floor and is_empty_line(text.line(above)):
        above -= 1
    if continued(text.line(above)):
        raise _Unhandled  # a backslash joins a line to what follows
    first = above + 1
    while first < statement and is_blank(text.line(first)):
        first += 1  # the blank lines before the stub's first comment stay
    return _Slot(name, text.offset(first), text.offset(end_line(replaced[-1], text) + 1), target)


def _one_line_slot(name: str, node: AstFunction, text: SourceLines, module_indent: str) -> _Slot:
    """A body written on its ``def`` line (``def f(self): ...  # stub``) becomes an indented
    block; what followed its statements (a comment) stays on the ``def`` line."""
    body = node.body
    first, last = body[0], body[-1]
    if _docstring(body) is not None or last.end_lineno is None or last.end_col_offset is None:
        raise _Unhandled
    line = text.line(first.lineno)
    before = _columns(line, first.col_offset).rstrip(" \t")
    if not before.endswith(":"):
        raise _Unhandled  # a backslash before the statements
    end_line = text.line(last.end_lineno)
    after = end_line[len(_columns(end_line, last.end_col_offset)) :]
    if after.lstrip(" \t").startswith(";"):
        raise _Unhandled
    def_indent = text.indentation(node.lineno)
    target = Target(
        docstring=None,
        local_keys=_local_keys(body),
        unit=module_indent,
        base=def_indent + module_indent,
        module_indent=module_indent,
    )
    start = text.offset(first.lineno) + len(before)
    return _Slot(name, start, text.offset(last.end_lineno + 1), target, head=after)


def _columns(line: str, offset: int) -> str:
    """The start of ``line`` up to an ``ast`` column (counted in UTF-8 bytes)."""
    return line[:offset] if line.isascii() else line.encode()[:offset].decode()


def _docstring(body: list[ast.stmt]) -> KeptDocstring | None:
    """The docstring the body starts with, as libcst tells one (a line holding only a string);
    _Unhandled when ``ast`` cannot tell."""
    first = body[0]
    if not isinstance(first, ast.Expr):
        return None
    value = first.value
    if isinstance(value, ast.JoinedStr):
        raise _Unhandled  # a concatenation with an f-string counts for libcst, an f-string not
    if not (isinstance(value, ast.Constant) and isinstance(value.value, str | bytes)):
        return None
    if len(body) > 1 and body[1].lineno == first.end_lineno:
        raise _Unhandled  # ``"doc"; x = 1``: not a docstring line for libcst
    return KeptDocstring(inspect.cleandoc(value.value) if isinstance(value.value, str) else None)


def _local_keys(replaced: list[ast.stmt]) -> set[ImportKey]:
    """The import keys of the replaced lines of imports (``transform.line_keys``)."""
    keys: set[ImportKey] = set()
    for group in line_groups(replaced):
        keys |= ast_line_keys(group)
    return keys


def _render(
    statements: Sequence[cst.BaseStatement],
    footer: Sequence[cst.EmptyLine],
    target: Target,
    newline: str,
) -> str:
    """The statements and the footer as libcst writes them at the body's indentation."""
    block = cst.IndentedBlock(body=statements, indent=target.base, footer=footer)
    wrapper = cst.Module(
        body=(cst.If(test=cst.Name("_"), body=block),),
        default_indent=target.module_indent,
        default_newline=newline,
    )
    code = wrapper.code
    head = _WRAPPER + newline
    assert code.startswith(head)
    return code[len(head) :]


class _Imports:
    """The module's imports, read (from the ``ast``) when a body first needs them, and shared
    by all the functions filled."""

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


def _apply(
    source: str, text: SourceLines, edits: list[_Edit]
) -> tuple[str, dict[str, tuple[int, int]]]:
    """The new text, and the lines of each new body in it."""
    pieces: list[str] = []
    position = 0
    shift = 0  # lines added so far
    body_lines: dict[str, tuple[int, int]] = {}
    for edit in sorted(edits, key=lambda e: (e.start, e.order)):
        pieces += (source[position : edit.start], edit.text)
        if edit.name is not None:
            first = text.line_at(edit.start) + shift + edit.skip
            body_lines[edit.name] = (first, first + edit.lines - 1)
        shift += _line_count(edit.text) - _line_count(source[edit.start : edit.end])
        position = edit.end
    pieces.append(source[position:])
    return "".join(pieces), body_lines


def _line_count(text: str) -> int:
    return text.count("\n") + text.count("\r") - text.count("\r\n")


__all__ = ["inject_spliced"]
