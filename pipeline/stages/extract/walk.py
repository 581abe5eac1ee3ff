"""Statement-level traversal: scopes change only at ``def`` and ``class``.

Walking statements alone (never expressions) keeps extraction cheap: a function
or class can only appear as a statement.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

ScopeNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


_LOOP = ("body", "orelse")
_TRY = ("body", "handlers", "orelse", "finalbody")
# Statements that hold statement lists, and the fields holding them. ``handlers``
# and ``cases`` hold nodes with a ``body`` each. Simple statements are absent.
_BLOCK_FIELDS: dict[type[ast.stmt], tuple[str, ...]] = {
    ast.If: _LOOP,
    ast.For: _LOOP,
    ast.AsyncFor: _LOOP,
    ast.While: _LOOP,
    ast.With: ("body",),
    ast.AsyncWith: ("body",),
    ast.Try: _TRY,
    ast.TryStar: _TRY,
    ast.Match: ("cases",),
}


def has_blocks(statement: ast.stmt) -> bool:
    """Whether a statement other than def/class holds statement lists."""
    return type(statement) in _BLOCK_FIELDS


def nested_blocks(statement: ast.stmt) -> Iterator[list[ast.stmt]]:
    """The statement lists directly inside a compound statement other than def/class:
    the branches of ``if``/``for``/``while``/``with``/``try``/``match``."""
    for field in _BLOCK_FIELDS.get(type(statement), ()):
        block = getattr(statement, field)
        if field in ("handlers", "cases"):
            for clause in block:
                yield clause.body
        elif block:
            yield block


def statements_in_scope(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement of a scope, through compound statements, in source order;
    a nested def or class is yielded but not entered."""
    for statement in body:
        yield statement
        if not isinstance(statement, ScopeNode):
            for block in nested_blocks(statement):
                yield from statements_in_scope(block)


def scopes_in(body: list[ast.stmt]) -> Iterator[ScopeNode]:
    """The defs and classes directly in a scope (not inside one another)."""
    for statement in statements_in_scope(body):
        if isinstance(statement, ScopeNode):
            yield statement
