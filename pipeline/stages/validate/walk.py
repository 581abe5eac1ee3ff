"""Walks of a syntax tree that skip what cannot hold what is looked for.

Defs, classes, imports and ``raise`` are statements, and statements only
nest inside the bodies of other statements: walking statement lists visits
a fraction of the nodes ``ast.walk`` does.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator

from pipeline.stages.syntax_tree import COMPOUND_STATEMENTS

_BLOCK_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")
_BLOCKS = (ast.Module, *COMPOUND_STATEMENTS)


def child_statements(node: ast.AST) -> Iterator[ast.stmt]:
    """The statements directly nested in a statement (or a module)."""
    if not isinstance(node, _BLOCKS):
        return  # a simple statement holds no statement
    for field in _BLOCK_FIELDS:
        value = getattr(node, field, None)
        if not isinstance(value, list):
            continue
        for item in value:
            if isinstance(item, ast.stmt):
                yield item
            elif isinstance(item, ast.ExceptHandler | ast.match_case):
                yield from item.body


def iter_statements(statements: Iterable[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement, nested ones included, in source order."""
    stack = list(statements)[::-1]
    while stack:
        statement = stack.pop()
        yield statement
        stack.extend(list(child_statements(statement))[::-1])


def iter_nodes(statements: Iterable[ast.stmt]) -> Iterator[ast.AST]:
    """Every node under the statements (a full walk)."""
    for statement in statements:
        yield from ast.walk(statement)
