"""Rule ``syntax``: the code must parse, and compile, as Python.

Parsing uses ``compile(..., flags=ast.PyCF_ONLY_AST, dont_inherit=True)``;
the second step compiles the tree to a code object, which catches what the
parser accepts but the compiler rejects (``return`` outside a function,
``await`` outside an async function, ``nonlocal`` errors...). Neither step
runs the code.

Codes: ``SYN001`` the code does not parse (or a generated body is empty),
``SYN002`` it parses but does not compile. Both are errors. Columns are
0-based, like every column in the validate stage.
"""

from __future__ import annotations

import ast
import textwrap
from typing import cast

from pipeline.models.findings import Finding, Severity
from pipeline.stages.validate.options import Rule
from pipeline.stages.validate.snippets import SourceText

PARSE_ERROR = "SYN001"
COMPILE_ERROR = "SYN002"

_WRAPPER = "async def __generated_body__():\n"


def _from_syntax_error(
    source: SourceText, error: SyntaxError, code: str, *, line_offset: int = 0
) -> Finding:
    line = max((error.lineno or 1) - line_offset, 1)
    end_line = error.end_lineno - line_offset if error.end_lineno else None
    column = (error.offset or 1) - 1
    return source.finding(
        rule=Rule.SYNTAX,
        code=code,
        severity=Severity.ERROR,
        line=line,
        column=column,
        end_line=end_line,
        message=error.msg or "invalid syntax",
    )


def _limit_error(source: SourceText, error: Exception) -> Finding:
    kind = type(error).__name__
    return source.finding(
        rule=Rule.SYNTAX,
        code=PARSE_ERROR,
        severity=Severity.ERROR,
        line=1,
        message=f"the code cannot be parsed ({kind}: {error})",
    )


def parse_module(source: SourceText) -> tuple[ast.Module | None, list[Finding]]:
    """Parse a whole module; on failure, no tree and one ``SYN001`` finding."""
    try:
        tree = cast(
            ast.Module,
            compile(
                source.text, source.filename, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True
            ),
        )
    except SyntaxError as error:
        return None, [_from_syntax_error(source, error, PARSE_ERROR)]
    except (ValueError, RecursionError, MemoryError) as error:
        # null bytes (ValueError), pathological nesting
        return None, [_limit_error(source, error)]
    return tree, []


def compile_errors(tree: ast.Module, source: SourceText) -> list[Finding]:
    """``SYN002`` when the compiler rejects a tree the parser accepted.

    The tree is compiled, never executed. The compiler stops at the first
    error, so there is at most one finding.
    """
    try:
        compile(tree, source.filename, "exec", dont_inherit=True)
    except SyntaxError as error:
        return [_from_syntax_error(source, error, COMPILE_ERROR)]
    except (ValueError, RecursionError, MemoryError) as error:
        return [_limit_error(source, error)]
    return []


def check_body(code: str, qualified_name: str) -> Finding | None:
    """Parse one generated body on its own (a bare body or a whole def).

    Returns a ``SYN001`` finding whose line is relative to the body, or
    ``None`` when the body parses.
    """
    dedented = textwrap.dedent(code)
    source = SourceText(dedented, filename=f"<body {qualified_name}>")
    tree, findings = parse_module(source)
    if tree is None:
        # A bare body may hold statements only legal inside a function on
        # some Python versions: retry wrapped in a def before reporting.
        wrapped = _WRAPPER + textwrap.indent(dedented, "    ", lambda _line: True)
        try:
            compile(wrapped, source.filename, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return findings[0].model_copy(update={"qualified_name": qualified_name})
        return None
    if not tree.body:
        return source.finding(
            rule=Rule.SYNTAX,
            code=PARSE_ERROR,
            severity=Severity.ERROR,
            line=1,
            message="the generated body is empty (no statements)",
            suggestion="generate at least one statement",
        ).model_copy(update={"qualified_name": qualified_name})
    return None
