"""Stub markers: the grammar of the marker strings and the body shapes they match.

==========================  ====================================================
``comment:TEXT``            a comment containing TEXT in the function's own body
``raise:NAME``              the body is only ``raise NAME``, ``raise NAME()`` or
                            ``raise NAME(...)``; NAME may be dotted
``ellipsis``                the body is only ``...``
``pass-comment:TEXT``       the body is only ``pass`` with a comment containing
                            TEXT on the same line
==========================  ====================================================

A docstring before the statement and comments anywhere are allowed. A body that
is only a docstring matches no structural marker.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from pipeline.stages.extract.errors import ExtractError

MarkerKind = Literal["comment", "raise", "ellipsis", "pass-comment"]

_DOTTED_NAME = re.compile(r"[^\W\d]\w*(?:\.[^\W\d]\w*)*")
_GRAMMAR = "comment:TEXT, raise:NAME, ellipsis, pass-comment:TEXT"


@dataclass(frozen=True, slots=True)
class Marker:
    """One parsed marker string; ``text`` is what follows the colon."""

    spec: str
    kind: MarkerKind
    text: str = ""


@lru_cache(maxsize=64)
def parse_markers(specs: tuple[str, ...]) -> tuple[Marker, ...]:
    """Parse marker strings, in order; raise ``INVALID_MARKER`` for any that is malformed."""
    return tuple(_parse_marker(spec) for spec in specs)


def _parse_marker(spec: str) -> Marker:
    kind, colon, text = spec.partition(":")
    if kind == "ellipsis" and not colon:
        return Marker(spec, "ellipsis")
    if kind == "comment" and text.strip():
        return Marker(spec, "comment", text)
    if kind == "pass-comment" and text.strip():
        return Marker(spec, "pass-comment", text)
    if kind == "raise" and _DOTTED_NAME.fullmatch(text):
        return Marker(spec, "raise", text)
    raise ExtractError(
        f"invalid stub marker {spec!r}; expected one of: {_GRAMMAR}",
        code="INVALID_MARKER",
        marker=spec,
    )


def statements_after_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    """The body without its docstring, if it has one."""
    first = body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return body[1:]
    return body


def is_ellipsis(statement: ast.stmt) -> bool:
    match statement:
        case ast.Expr(value=ast.Constant(value=value)):
            return value is Ellipsis
    return False


def raises(statement: ast.stmt, name: str) -> bool:
    """``raise NAME``, ``raise NAME()`` or ``raise NAME(...)``, without ``from``."""
    match statement:
        case (
            ast.Raise(exc=ast.Call(func=exception), cause=None)
            | ast.Raise(exc=exception, cause=None)
        ):
            return dotted_name(exception) == name
    return False


def dotted_name(node: ast.AST | None) -> str | None:
    """``a.b.c`` for a chain of attribute lookups on a name; None for anything else."""
    match node:
        case ast.Name(id=name):
            return name
        case ast.Attribute(value=value, attr=attr):
            prefix = dotted_name(value)
            return None if prefix is None else f"{prefix}.{attr}"
    return None
