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
