"""Syntax-tree helpers the stages share."""

from __future__ import annotations

import ast
import warnings

COMPOUND_STATEMENTS = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.If,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.With,
    ast.AsyncWith,
    ast.Try,
    ast.TryStar,
    ast.Match,
)
"""The statements that hold blocks of statements."""


def parse_or_none(text: str) -> ast.Module | None:
    """The module's tree, or ``None`` when Python cannot parse it (no warnings printed)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. invalid escape sequences in generated code
            return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def nested_blocks(statement: ast.stmt) -> list[list[ast.stmt]]:
    """The statement blocks of a compound statement other than a def or class, in order."""
    if isinstance(statement, ast.If | ast.For | ast.AsyncFor | ast.While):
        return [statement.body, statement.orelse]
    if isinstance(statement, ast.With | ast.AsyncWith):
        return [statement.body]
    if isinstance(statement, ast.Try | ast.TryStar):
        handlers = [handler.body for handler in statement.handlers]
        return [statement.body, *handlers, statement.orelse, statement.finalbody]
    if isinstance(statement, ast.Match):
        return [case.body for case in statement.cases]
    return []


def blocks(statement: ast.stmt) -> list[list[ast.stmt]]:
    """The statement blocks of any statement, a def's or class's body included, in order."""
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [statement.body]
    return nested_blocks(statement)


def last_block(statement: ast.stmt) -> list[ast.stmt]:
    """The last statement block of a statement (empty for a simple statement)."""
    found = [block for block in blocks(statement) if block]
    return found[-1] if found else []


def statement_start(statement: ast.stmt) -> int:
    """The first line of a statement, its decorators included."""
    decorators: list[ast.expr] = getattr(statement, "decorator_list", None) or []
    return min([statement.lineno, *(decorator.lineno for decorator in decorators)])


def line_groups(statements: list[ast.stmt]) -> list[list[ast.stmt]]:
    """The statements grouped by the lines they share (``a; b``): a compound statement alone."""
    groups: list[list[ast.stmt]] = []
    previous: ast.stmt | None = None
    for statement in statements:
        if (
            previous is not None
            and not isinstance(statement, COMPOUND_STATEMENTS)
            and not isinstance(previous, COMPOUND_STATEMENTS)
            and statement.lineno == previous.end_lineno
        ):
            groups[-1].append(statement)
        else:
            groups.append([statement])
        previous = statement
    return groups
