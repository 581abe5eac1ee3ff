"""Walks of a syntax tree shared by the rules.

Defs, classes and imports are statements, and statements only nest inside
the bodies of other statements: walking statement lists visits a fraction of
the nodes ``ast.walk`` does. What needs every node (calls, raises, relative
imports in the defs that hold generated bodies) takes them from one
:class:`NodeIndex`, built once per validation.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import TypeVar, cast

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


_Node = TypeVar("_Node", bound=ast.AST)
_SINGLETONS = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)


class NodeIndex:
    """Every node under some statements by its class, from one walk the rules share.

    The operator and context singletons (``Load``, ``Add``...) are left out.
    """

    def __init__(self, statements: Iterable[ast.stmt]) -> None:
        found: dict[type[ast.AST], list[ast.AST]] = defaultdict(list)
        stack: list[ast.AST] = list(statements)
        push = stack.append
        while stack:
            node = stack.pop()
            found[type(node)].append(node)
            for field in node._fields:
                value = getattr(node, field, None)
                if type(value) is list:
                    for item in value:
                        if isinstance(item, ast.AST) and not isinstance(item, _SINGLETONS):
                            push(item)
                elif isinstance(value, ast.AST) and not isinstance(value, _SINGLETONS):
                    push(value)
        self._found = found

    def of(self, node_class: type[_Node]) -> list[_Node]:
        """The nodes of exactly that class (not its subclasses), in no set order."""
        return cast(list[_Node], self._found.get(node_class, []))
