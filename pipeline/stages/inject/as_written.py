"""Generated code that inject puts in by its text, told with ``ast`` (and ``tokenize``) alone.

libcst writes a body's statements just as they are written when the code is already at the
body's indentation and nests its blocks by the body's own unit (the re-indentation in
``transform`` then changes nothing), inject keeps every statement (no repeated docstring
dropped, no import moved, not a whole ``def`` to unwrap) and no comment after the code falls
out of its block. Code written at column 0 with the body's block unit, libcst indents line by
line: every line but the blank ones and those inside a string gets the body's indentation, when
each line starts with the indentation of its block (else libcst keeps it as it is, and so
does this decline). For such code libcst would only be asked whether it parses and what it
holds, which ``ast`` tells at a fraction of the cost; whatever else, or whatever ``ast``
refuses, goes through ``body.parse_body`` (which gives the errors).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass

from pipeline.stages.inject.body import (
    MAX_BODY_DEPTH,
    WRAPPER,
    body_text,
    first_code_indent,
    tree_too_deep,
)
from pipeline.stages.inject.layout import end_line, is_blank, starts_its_line
from pipeline.stages.inject.options import HoistImports
from pipeline.stages.inject.text import SourceLines
from pipeline.stages.syntax_tree import blocks, parse_or_none, statement_start


@dataclass(frozen=True)
class WrittenBody:
    """The text of a new body as libcst would write it, and the lines of its statements."""

    text: str
    lines: int
    """Its lines up to the last statement's (the comments after that are not counted)."""


_CONTINUATION = re.compile(r"\\\r?\n")


class _Unsure(Exception):
    pass


def as_written(
    code: str,
    newline: str,
    *,
    indent: str,
    unit: str,
    keeps_docstring: bool,
    names: set[str],
    hoist: HoistImports,
) -> WrittenBody | None:
    """The body to put in a function whose body is indented ``indent`` by ``unit`` (relative
    to the ``def``), or None when libcst must parse and write it."""
    text = body_text(code, newline)
    base = first_code_indent(text)
    if "\f" in text or base not in (indent, ""):
        return None
    top_level = not base  # parsed as a module, indented here; else parsed in a wrapper def
    if top_level and (newline != "\n" or _CONTINUATION.search(text)):
        return None
    source = text if top_level else WRAPPER + newline + text
    try:
        tree = parse_or_none(source)
    except UnicodeError:  # a lone surrogate
        return None
    if tree is None:
        return None
    if top_level:
        statements = tree.body
    elif len(tree.body) == 1 and isinstance(tree.body[0], ast.FunctionDef):
        statements = tree.body[0].body
    else:
        return None
    if not statements or (len(source) >= MAX_BODY_DEPTH and tree_too_deep(tree, MAX_BODY_DEPTH)):
        return None  # parse_body refuses it
    if _changed_by_inject(statements, keeps_docstring=keeps_docstring, names=names, hoist=hoist):
        return None
    lines = SourceLines(source)
    try:
        if _first_block_unit(statements, lines) not in (None, unit):
            return None
    except _Unsure:
        return None
    last = statements[-1].end_lineno
    assert last is not None
    first = 1 if top_level else 2  # the code's first line (after the wrapper's)
    while first <= last and is_blank(lines.line(first)):
        first += 1
    end = len(lines.lines)
    while end > last and is_blank(lines.line(end)):
        end -= 1
    if end > last:
        return None  # comments after the code: libcst decides which block keeps which
    if top_level:
        written = _indented(lines, first, end, indent)
        if written is None:
            return None
    else:
        if _comment_left_of_block(lines, last, indent):
            return None
        written = "".join(lines.lines[first - 1 : end])
    return WrittenBody(written, end_line(statements[-1], lines) - first + 1)


def _indented(lines: SourceLines, first: int, end: int, indent: str) -> str | None:
    """Lines ``first``..``end`` of code written at column 0 as libcst writes them in a block
    indented ``indent``: every line indented but the blank ones and those inside a string;
    None when libcst might keep a line as it is (one indented less than its block)."""
    try:
        rows = _Rows.of("".join(lines.lines[first - 1 : end]), first)
    except (tokenize.TokenError, SyntaxError):
        return None
    out: list[str] = []
    current = ""  # the indentation of the logical line the row is in
    for number in range(first, end + 1):
        line = lines.line(number)
        if number in rows.inside_strings:
            out.append(line)
            continue
        if not line.strip(" \t\r\n"):
            if line.strip("\r\n"):
                return None  # only spaces: libcst's indentation of it depends on its block
            out.append(line)
            continue
        if number in rows.starts:
            current = lines.indentation(number)
        elif number not in rows.comments and not line.startswith(current):
            return None  # inside brackets, indented less than its statement
        out.append(indent + line)
    if not _comments_in_blocks(lines, rows, first, end):
        return None
    return "".join(out)


def _comments_in_blocks(lines: SourceLines, rows: _Rows, first: int, end: int) -> bool:
    """Whether each comment line between statements starts with the indentation of the block
    libcst gives it to: as deep as the next statement at least, and no deeper than the comment
    line above it in the same run (then the blocks that close take theirs in order)."""
    following = ""  # the indentation of the next logical line
    below: str | None = None  # that of the comment line under this one, in the same run
    for number in range(end, first - 1, -1):
        if number in rows.starts:
            following, below = lines.indentation(number), None
        elif number in rows.comments:
            own = lines.indentation(number)
            if own.strip(" ") or not own.startswith(following):
                return False
            if below is not None and len(own) < len(below):
                return False
            below = own
    return True


@dataclass(frozen=True)
class _Rows:
    """Which lines of some code start a logical line, are comment lines outside brackets,
    or are inside a string that began on an earlier line."""

    starts: set[int]
    comments: set[int]
    inside_strings: set[int]

    @classmethod
    def of(cls, text: str, first: int) -> _Rows:
        rows = cls(set(), set(), set())
        depth = 0
        at_start = True
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            kind = token.type
            row = token.start[0] + first - 1
            if kind == tokenize.COMMENT:
                if depth == 0 and not token.line[: token.start[1]].strip():
                    rows.comments.add(row)
                continue
            if kind == tokenize.NEWLINE:
                at_start = True
                continue
            if kind in (tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
                continue
            if at_start:
                rows.starts.add(row)
                at_start = False
            if kind == tokenize.STRING and token.end[0] > token.start[0]:
                rows.inside_strings.update(range(row + 1, token.end[0] + first))
            elif kind == tokenize.OP and token.string in ("(", "[", "{"):
                depth += 1
            elif kind == tokenize.OP and token.string in (")", "]", "}"):
                depth -= 1
        return rows


def _changed_by_inject(
    statements: list[ast.stmt], *, keeps_docstring: bool, names: set[str], hoist: HoistImports
) -> bool:
    """Whether ``transform`` would drop or move a statement or unwrap a ``def``."""
    first = statements[0]
    if (
        keeps_docstring
        and isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant | ast.JoinedStr)
    ):
        return True  # perhaps a repeat of the kept docstring
    imports = 0
    while imports < len(statements) and isinstance(
        statements[imports], ast.Import | ast.ImportFrom
    ):
        statement = statements[imports]
        if hoist != "none" or (
            isinstance(statement, ast.ImportFrom) and statement.module == "__future__"
        ):
            return True
        imports += 1
    rest = statements[imports:]
    return (
        len(rest) == 1
        and isinstance(rest[0], ast.FunctionDef | ast.AsyncFunctionDef)
        and rest[0].name in names
    )


def _first_block_unit(statements: list[ast.stmt], lines: SourceLines) -> str | None:
    """The indentation of the first indented block nested in the statements, relative to the
    block it is in (what ``transform``'s re-indentation takes as the code's unit)."""
    for statement in statements:
        unit = _block_unit(statement, lines)
        if unit is not None:
            return unit
    return None


def _block_unit(statement: ast.stmt, lines: SourceLines) -> str | None:
    if isinstance(statement, ast.Match):
        raise _Unsure  # its cases are indented relative to the match, their blocks to them
    outer = lines.indentation(statement_start(statement))
    for block in _clause_blocks(statement, lines):
        if block and starts_its_line(block[0], lines):
            inner = lines.indentation(statement_start(block[0]))
            if not inner.startswith(outer) or len(inner) <= len(outer):
                raise _Unsure
            return inner[len(outer) :]
    return None


def _clause_blocks(statement: ast.stmt, lines: SourceLines) -> list[list[ast.stmt]]:
    """The blocks of a statement's clauses in order, an ``elif``'s own clauses included."""
    found = blocks(statement)
    if isinstance(statement, ast.If) and len(statement.orelse) == 1:
        elif_ = statement.orelse[0]
        line = lines.line(elif_.lineno)
        if isinstance(elif_, ast.If) and line[len(lines.indentation(elif_.lineno)) :].startswith(
            "elif"
        ):
            return [statement.body, *_clause_blocks(elif_, lines)]
    return found


def _comment_left_of_block(lines: SourceLines, last: int, indent: str) -> bool:
    """Whether a comment after the code comes after its block's last line (one that starts
    with the block's indentation): libcst would give it to the module, not the block."""
    after = lines.lines[last:]
    comments = [n for n, line in enumerate(after) if line.lstrip(" \t").startswith("#")]
    if not comments:
        return False
    return not any(line.startswith(indent) for line in after[comments[-1] :])
