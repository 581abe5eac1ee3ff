"""Rule ``type_hints``: every parameter and every return is annotated.

The first parameter of a method (``self``/``cls``) is exempt, except in a
``@staticmethod``. Lambdas are not checked. Findings are warnings (errors in
strict mode), reported at the ``def`` line:

* ``TH001`` missing parameter annotation (one finding per parameter);
* ``TH002`` missing return annotation.

The house rule "type every parameter and return" is the same check; when
the ``type_hints`` rule is not selected, :func:`check` reports it under the
``house_rules`` rule with code ``HR003`` (never both, so ``all`` does not
report a missing annotation twice).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pipeline.models.findings import Finding, Severity
from pipeline.stages.validate.options import Rule
from pipeline.stages.validate.snippets import SourceText
from pipeline.stages.validate.walk import child_statements

MISSING_PARAMETER = "TH001"
MISSING_RETURN = "TH002"
HOUSE_RULE_CODE = "HR003"

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef

_SCALARS = (bool, int, float, complex, str, bytes)


@dataclass(frozen=True)
class FunctionInfo:
    node: FunctionNode
    qualname: str
    is_method: bool


@dataclass(frozen=True)
class MissingAnnotation:
    """One missing annotation: ``parameter`` is ``None`` for the return."""

    function: FunctionInfo
    parameter: str | None
    suggestion: str


def iter_functions(tree: ast.Module) -> list[FunctionInfo]:
    """Every def in the module with its qualified name (as ``__qualname__``)."""
    found: list[FunctionInfo] = []
    stack: list[tuple[ast.stmt, str, bool]] = [(s, "", False) for s in reversed(tree.body)]
    while stack:
        node, prefix, in_class = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            qualname = f"{prefix}{node.name}"
            found.append(FunctionInfo(node, qualname, in_class))
            prefix, in_class = f"{qualname}.<locals>.", False
        elif isinstance(node, ast.ClassDef):
            prefix, in_class = f"{prefix}{node.name}.", True
        children = list(child_statements(node))
        stack.extend((child, prefix, in_class) for child in reversed(children))
    return found


def decorator_names(node: FunctionNode) -> set[str]:
    names: set[str] = set()
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Name):
            names.add(target.id)
        elif isinstance(target, ast.Attribute):
            names.add(target.attr)
    return names


def _own_nodes(node: FunctionNode) -> Iterator[ast.AST]:
    """The nodes of a function's body, not descending into nested scopes."""
    stack: list[ast.AST] = list(node.body)
    while stack:
        current = stack.pop()
        yield current
        for child in ast.iter_child_nodes(current):
            if not isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda
            ):
                stack.append(child)


def _return_suggestion(node: FunctionNode) -> str:
    returns_value = False
    for child in _own_nodes(node):
        if isinstance(child, ast.Yield | ast.YieldFrom):
            kind = "AsyncIterator" if isinstance(node, ast.AsyncFunctionDef) else "Iterator"
            return f"annotate the return, e.g. `-> {kind}[...]` (it is a generator)"
        if (
            isinstance(child, ast.Return)
            and child.value is not None
            and not (isinstance(child.value, ast.Constant) and child.value.value is None)
        ):
            returns_value = True
    if returns_value:
        return "annotate the return type, e.g. `-> <type>`"
    return "add `-> None` (it returns no value)"


def _parameter_suggestion(arg: ast.arg, default: ast.expr | None, prefix: str = "") -> str:
    name = f"{prefix}{arg.arg}"
    if isinstance(default, ast.Constant):
        if default.value is None:
            return f"annotate it, e.g. `{name}: <type> | None = None`"
        if isinstance(default.value, _SCALARS):
            type_name = type(default.value).__name__
            return f"annotate it, e.g. `{name}: {type_name} = {ast.unparse(default)}`"
    return f"annotate it, e.g. `{name}: <type>`"


def missing_in(info: FunctionInfo) -> list[MissingAnnotation]:
    """The missing annotations of one function, in signature order."""
    node = info.node
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults.extend(args.defaults)
    pairs: list[tuple[ast.arg, ast.expr | None, str]] = [
        (arg, default, "") for arg, default in zip(positional, defaults, strict=True)
    ]
    if info.is_method and positional and "staticmethod" not in decorator_names(node):
        pairs = pairs[1:]
    if args.vararg is not None:
        pairs.append((args.vararg, None, "*"))
    pairs.extend(
        (arg, default, "") for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True)
    )
    if args.kwarg is not None:
        pairs.append((args.kwarg, None, "**"))

    missing = [
        MissingAnnotation(info, f"{prefix}{arg.arg}", _parameter_suggestion(arg, default, prefix))
        for arg, default, prefix in pairs
        if arg.annotation is None
    ]
    if node.returns is None:
        missing.append(MissingAnnotation(info, None, _return_suggestion(node)))
    return missing


def signature_end(node: FunctionNode) -> int:
    """The last line of a def's signature (the line before its body)."""
    first_body_line = node.body[0].lineno if node.body else node.lineno
    return max(node.lineno, first_body_line - 1)


def check_function(
    info: FunctionInfo, source: SourceText, *, as_house_rule: bool = False
) -> list[Finding]:
    findings: list[Finding] = []
    node = info.node
    for missing in missing_in(info):
        if missing.parameter is None:
            code = HOUSE_RULE_CODE if as_house_rule else MISSING_RETURN
            message = f"missing return annotation on '{info.qualname}'"
        else:
            code = HOUSE_RULE_CODE if as_house_rule else MISSING_PARAMETER
            message = f"missing annotation for parameter '{missing.parameter}' of '{info.qualname}'"
        if as_house_rule:
            message = f"type every parameter and return: {message}"
        findings.append(
            source.finding(
                rule=Rule.HOUSE_RULES if as_house_rule else Rule.TYPE_HINTS,
                code=code,
                severity=Severity.WARNING,
                line=node.lineno,
                column=node.col_offset,
                end_line=signature_end(node),
                message=message,
                suggestion=missing.suggestion,
            )
        )
    return findings


def check(
    functions: Iterable[FunctionInfo], source: SourceText, *, as_house_rule: bool = False
) -> list[Finding]:
    """Findings for the given defs (see :func:`iter_functions`)."""
    findings: list[Finding] = []
    for info in functions:
        findings.extend(check_function(info, source, as_house_rule=as_house_rule))
    return findings
