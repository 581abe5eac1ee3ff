"""Where a function's header ends: the colon before its body.

``ast`` keeps no node for the colon, so it is found in the text. The fast path
reads it off the header's last line; whenever that line could mislead (a ``#``
that may start a comment, a backslash continuation, a colon before the last
header node) the header is tokenized instead, which is exact but slower.
"""

from __future__ import annotations

import ast
import tokenize

from pipeline.stages.extract.source import Position, SourceText

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef

_OPENERS = frozenset("([{")
_CLOSERS = frozenset(")]}")


def signature(source: SourceText, node: FunctionNode) -> str:
    """The header exactly as written, from ``def``/``async def`` through its colon."""
    return source.slice(source.start_of(node), header_colon(source, node) + 1)


def header_colon(source: SourceText, node: FunctionNode) -> int:
    """The byte offset of the colon that ends a function's header."""
    colon = _colon_from_last_line(source, node)
    return colon if colon is not None else colon_by_tokenizing(source, node)


def _colon_from_last_line(source: SourceText, node: FunctionNode) -> int | None:
    body = node.body[0]
    line = body.lineno
    end = source.start_of(body)
    # Walk back over the blank and comment-only lines between the colon and the body.
    while line >= node.lineno:
        text = source.data[source.starts[line - 1] : end].strip()
        if text and not text.startswith(b"#"):
            break
        line -= 1
        end = source.starts[line]
    else:  # pragma: no cover - the def line itself is never blank
        return None
    if b"#" in text or not text.endswith(b":"):
        return None
    colon = source.data.rindex(b":", source.starts[line - 1], end)
    return colon if colon >= source.offset(*_last_header_position(node)) else None


def _last_header_position(node: FunctionNode) -> Position:
    """Where the header's last node ends: its return annotation, else its last
    parameter (with its annotation and default), else its last type parameter,
    else its start."""
    args = node.args
    last: ast.AST | None = node.returns or args.kwarg
    if last is None and args.kwonlyargs:
        last = args.kw_defaults[-1] or args.kwonlyargs[-1]
    if last is None:
        # Defaults belong to the last positional parameters, so the last one is last.
        positional = args.defaults or args.args or args.posonlyargs
        last = args.vararg or (positional[-1] if positional else None)
    if last is None:  # no parameters: only PEP 695 type parameters may hold strings
        type_params = getattr(node, "type_params", None)
        last = type_params[-1] if type_params else None
    if last is None:
        return (node.lineno, node.col_offset)
    return (last.end_lineno, last.end_col_offset)  # type: ignore[attr-defined]


def colon_by_tokenizing(source: SourceText, node: FunctionNode) -> int:
    """The header colon found with :mod:`tokenize`: the last top-level ``:`` before the body."""
    body = node.body[0]
    first = node.lineno
    stop = (body.lineno - first + 1, source.char_column(body.lineno, body.col_offset))
    lines = source.readline(first, body.lineno)
    depth = 0
    colon: Position | None = None
    try:
        for token in tokenize.generate_tokens(lines.__next__):
            if token.start >= stop:
                break
            if token.type != tokenize.OP:
                continue
            if token.string in _OPENERS:
                depth += 1
            elif token.string in _CLOSERS:
                depth -= 1
            elif token.string == ":" and depth == 0:
                colon = token.start
    except tokenize.TokenError:
        # The lines end inside the body's first statement (a docstring spanning lines,
        # say); every token before it has been seen.
        pass
    if colon is None:  # pragma: no cover - a parsed function always has its colon
        raise AssertionError(f"no header colon found for {node.name!r} at line {first}")
    line = first + colon[0] - 1
    return source.offset(line, source.byte_column(line, colon[1]))
