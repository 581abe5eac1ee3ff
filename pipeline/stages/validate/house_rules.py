"""Rule ``house_rules``: the conventions of the code base, on the syntax tree.

* ``HR001`` raising a built-in exception (``ValueError``, ``Exception``,
  ``RuntimeError``...): raise the configured error class instead (default
  ``ModelOnexError``). A bare ``raise`` (re-raise) and ``raise err`` of a
  caught exception are fine: only names of built-in exception classes are
  flagged, unless the module binds the name itself. The error class is
  configured as ``package.module:Name`` (the inject stage adds the import
  when a body uses it) or a bare ``Name``; the rule names the bare ``Name``.
* ``HR002`` ``print(...)``: log through the configured function instead
  (default ``emit_log_event``).
* ``HR003`` a missing parameter or return annotation (shared with the
  ``type_hints`` rule, see there; reported here only when that rule is off).
* ``HR004`` ``raise NotImplementedError``: not the wrong error class but a
  method still unimplemented; allowed in ``@abstractmethod`` and
  ``@overload`` functions.

Every house-rule finding is a warning; strict mode makes them errors (as the
older system's strict mode did).
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterable, Sequence

from pipeline.models.findings import Finding, Severity
from pipeline.stages.inject.options import bare_name
from pipeline.stages.validate.options import Rule, ValidateOptions
from pipeline.stages.validate.snippets import SourceText
from pipeline.stages.validate.type_hints import FunctionInfo, decorator_names, iter_functions
from pipeline.stages.validate.walk import NodeIndex

BUILTIN_EXCEPTION = "HR001"
PRINT_CALL = "HR002"
NOT_IMPLEMENTED = "HR004"

BUILTIN_EXCEPTIONS: frozenset[str] = frozenset(
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
)
_STUB_DECORATORS = frozenset({"abstractmethod", "overload"})


def _module_bindings(tree: ast.Module) -> set[str]:
    """Names the module binds at top level (imports, defs, classes, assignments)."""
    bound: set[str] = set()
    for statement in tree.body:
        if isinstance(statement, ast.Import | ast.ImportFrom):
            bound.update(
                (alias.asname or alias.name).partition(".")[0] for alias in statement.names
            )
        elif isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(statement.name)
        elif isinstance(statement, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                bound.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return bound


def _builtin_name(node: ast.expr, shadowed: set[str]) -> str | None:
    """``X`` for ``X`` or ``builtins.X`` when ``X`` is not rebound by the module."""
    if isinstance(node, ast.Name) and node.id not in shadowed:
        return node.id
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "builtins"
    ):
        return node.attr
    return None


def _stub_allowed_lines(functions: Iterable[FunctionInfo]) -> set[int]:
    """Lines of functions where ``raise NotImplementedError`` is legitimate."""
    lines: set[int] = set()
    for info in functions:
        if decorator_names(info.node) & _STUB_DECORATORS:
            lines.update(range(info.node.lineno, (info.node.end_lineno or info.node.lineno) + 1))
    return lines


def _arguments(call: ast.Call, source: SourceText) -> str:
    parts = [source.segment(arg) or ast.unparse(arg) for arg in call.args]
    parts.extend(source.segment(kw) or ast.unparse(kw) for kw in call.keywords)
    return ", ".join(parts)


def _warning(
    source: SourceText, node: ast.stmt | ast.expr, code: str, message: str, suggestion: str
) -> Finding:
    return source.finding(
        rule=Rule.HOUSE_RULES,
        code=code,
        severity=Severity.WARNING,
        line=node.lineno,
        column=node.col_offset,
        end_line=node.end_lineno,
        message=message,
        suggestion=suggestion,
    )


def check(
    tree: ast.Module,
    source: SourceText,
    options: ValidateOptions,
    *,
    scope: Sequence[ast.stmt] | None = None,
    functions: Sequence[FunctionInfo] | None = None,
    index: NodeIndex | None = None,
) -> list[Finding]:
    """House-rule findings in ``scope`` (default: the whole module).

    ``functions`` are the module's defs and ``index`` the nodes of ``scope``
    when the caller has them already.
    """
    if index is None:
        index = NodeIndex(tree.body if scope is None else scope)
    shadowed = _module_bindings(tree)
    findings = _raise_findings(tree, source, options, index, shadowed, functions)
    log_function = bare_name(options.log_function)
    if "print" not in shadowed and log_function != "print":
        findings.extend(
            _warning(
                source,
                node,
                PRINT_CALL,
                f"print() call; log through {log_function} instead",
                f"{log_function}(...) with the message and a log level",
            )
            for node in index.of(ast.Call)
            if _builtin_name(node.func, shadowed) == "print"
        )
    return findings


def _raise_findings(
    tree: ast.Module,
    source: SourceText,
    options: ValidateOptions,
    index: NodeIndex,
    shadowed: set[str],
    functions: Sequence[FunctionInfo] | None,
) -> list[Finding]:
    """``HR001`` and ``HR004``."""
    error_class = bare_name(options.error_class)
    findings: list[Finding] = []
    stub_lines: set[int] | None = None
    for raise_node in index.of(ast.Raise):
        if raise_node.exc is None:
            continue  # re-raise
        call = raise_node.exc if isinstance(raise_node.exc, ast.Call) else None
        name = _builtin_name(call.func if call else raise_node.exc, shadowed)
        if name is None or name not in BUILTIN_EXCEPTIONS or name == error_class:
            continue
        if name == "NotImplementedError":
            if stub_lines is None:
                stub_lines = _stub_allowed_lines(
                    iter_functions(tree) if functions is None else functions
                )
            if raise_node.lineno not in stub_lines:
                findings.append(
                    _warning(
                        source,
                        raise_node,
                        NOT_IMPLEMENTED,
                        "raise NotImplementedError: the function is still unimplemented",
                        "implement the function (or mark it @abstractmethod)",
                    )
                )
            continue
        arguments = _arguments(call, source) if call else ""
        cause = f" from {ast.unparse(raise_node.cause)}" if raise_node.cause is not None else ""
        findings.append(
            _warning(
                source,
                raise_node,
                BUILTIN_EXCEPTION,
                f"raises the built-in exception {name}; raise {error_class} instead",
                f"raise {error_class}({arguments}){cause}",
            )
        )
    return findings
