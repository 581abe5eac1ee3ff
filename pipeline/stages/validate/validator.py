"""The two entry points: a whole file, or generated bodies in their module.

Generated code is never imported or executed: every check reads the text or
the syntax tree (ruff reads the text from stdin in its own process).
"""

from __future__ import annotations

import ast
import bisect
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pipeline.models.findings import Finding, Severity, ValidationReport
from pipeline.stages.gc_pause import gc_paused
from pipeline.stages.inject import InjectError, InjectionResult, InjectOptions, inject_bodies
from pipeline.stages.inject.imports import ImportKey, ast_alias_keys
from pipeline.stages.syntax_tree import parse_or_none
from pipeline.stages.validate import house_rules, imports, security, syntax, type_hints, types
from pipeline.stages.validate.options import Rule, ValidateOptions
from pipeline.stages.validate.snippets import SourceText
from pipeline.stages.validate.type_hints import FunctionInfo, iter_functions
from pipeline.stages.validate.walk import NodeIndex

_SIGNATURE_CODES = frozenset(
    {type_hints.MISSING_PARAMETER, type_hints.MISSING_RETURN, type_hints.HOUSE_RULE_CODE}
)


@dataclass(frozen=True)
class _Scope:
    """What the in-process checkers look at (ruff and ty always read the whole text).

    ``None`` fields mean the whole module.
    """

    functions: list[FunctionInfo]
    statements: list[ast.stmt] | None = None
    compile_unit: ast.Module | None = None
    security: list[ast.stmt] | None = None
    defs: list[ast.stmt] | None = None
    """The defs that hold generated bodies (``None``: validating a whole module)."""

    def index(self, tree: ast.Module) -> NodeIndex:
        """The nodes of the defs (or of the module), for the rules that look for some.

        ``statements`` adds only the module's imports to ``defs``: no raise, call or
        relative import is under them that is not in the defs' index.
        """
        return NodeIndex(tree.body if self.defs is None else self.defs)


def _run_checkers(
    tree: ast.Module, source: SourceText, options: ValidateOptions, scope: _Scope
) -> list[Finding]:
    """Every selected checker but the parser, on a module that parses."""
    selected = options.selected()
    ruff = imports.start(source) if Rule.IMPORTS in selected else None
    ty = types.start(source, options) if Rule.TYPES in selected else None
    findings: list[Finding] = []
    looks_for_nodes = Rule.HOUSE_RULES in selected or (
        Rule.IMPORTS in selected and scope.defs is not None
    )
    index = scope.index(tree) if looks_for_nodes else None
    if Rule.SYNTAX in selected:
        findings.extend(syntax.compile_errors(scope.compile_unit or tree, source))
    if Rule.TYPE_HINTS in selected:
        findings.extend(type_hints.check(scope.functions, source))
    if Rule.HOUSE_RULES in selected:
        findings.extend(
            house_rules.check(
                tree,
                source,
                options,
                scope=scope.statements,
                functions=scope.functions,
                index=index,
            )
        )
        if Rule.TYPE_HINTS not in selected:
            findings.extend(type_hints.check(scope.functions, source, as_house_rule=True))
    if Rule.IMPORTS in selected:
        findings.extend(imports.unresolvable_imports(tree, source, scope=scope.statements))
        if scope.defs is not None:
            findings.extend(imports.unverifiable_relative_imports(tree, source, scope.defs, index))
    if Rule.SECURITY in selected:
        # last: bandit leaves its bookkeeping attributes on the tree
        findings.extend(security.check(tree, source, only=scope.security))
    if ruff is not None:
        findings.extend(ruff.findings())
    if ty is not None:
        findings.extend(ty.findings())
    return findings


def _finish(findings: Iterable[Finding], options: ValidateOptions) -> ValidationReport:
    result = []
    for finding in findings:
        if options.strict and finding.severity is Severity.WARNING:
            finding = finding.model_copy(update={"severity": Severity.ERROR})
        result.append(finding)
    result.sort(key=lambda f: (f.qualified_name or "", f.line, f.column, f.rule, f.code))
    return ValidationReport(findings=result)


def validate_source(
    source: str, options: ValidateOptions | None = None, *, filename: str = "<module>"
) -> ValidationReport:
    """Validate a whole module.

    A module that does not parse gets one ``SYN001`` finding whatever the
    selected rules: nothing else can be checked.
    """
    options = options or ValidateOptions()
    text = SourceText(source, filename)
    tree, findings = syntax.parse_module(text)
    if tree is not None:
        findings = _run_checkers(tree, text, options, _Scope(iter_functions(tree)))
    return _finish(findings, options)


@dataclass(frozen=True)
class _Body:
    qualified_name: str
    first: int
    last: int
    owner: FunctionInfo | None

    def contains(self, line: int) -> bool:
        return self.first <= line <= self.last


def _matches(qualified_name: str, qualname: str) -> bool:
    return qualified_name == qualname or qualified_name.endswith(f".{qualname}")


def _locate_bodies(
    functions: list[FunctionInfo], body_lines: Mapping[str, tuple[int, int]]
) -> list[_Body]:
    """Each injected body with the def it belongs to."""
    nesting = _Nesting(functions)
    located = []
    for qualified_name, (first, last) in body_lines.items():
        enclosing = nesting.enclosing(first, last)
        named = [info for info in enclosing if _matches(qualified_name, info.qualname)]
        candidates = named or enclosing
        owner = max(candidates, key=lambda info: info.node.lineno) if candidates else None
        located.append(_Body(qualified_name, first, last, owner))
    return located


def _end(info: FunctionInfo) -> int:
    return info.node.end_lineno or info.node.lineno


class _Nesting:
    """The defs by their first line, each with the def it is in: finds the defs around a span
    in the depth of the nesting, not the number of defs."""

    def __init__(self, functions: list[FunctionInfo]) -> None:
        self._functions = sorted(functions, key=lambda info: info.node.lineno)
        self._starts = [info.node.lineno for info in self._functions]
        self._parents: list[int | None] = []
        open_defs: list[int] = []  # indexes of the defs around the current one
        for index, info in enumerate(self._functions):
            while open_defs and _end(self._functions[open_defs[-1]]) < info.node.lineno:
                open_defs.pop()
            self._parents.append(open_defs[-1] if open_defs else None)
            open_defs.append(index)

    def enclosing(self, first: int, last: int) -> list[FunctionInfo]:
        """The defs that start on or before ``first`` and end on or after ``last``."""
        index: int | None = bisect.bisect_right(self._starts, first) - 1
        found = []
        while index is not None and index >= 0:
            info = self._functions[index]
            if last <= _end(info):
                found.append(info)
            index = self._parents[index]
        return found


def _import_keys(node: ast.Import | ast.ImportFrom) -> set[ImportKey]:
    """The names an import brings, keyed as the inject stage keys the imports it adds."""
    return {key for key, _binding, _name in ast_alias_keys(node)}


def _code_import_keys(code: str) -> set[ImportKey]:
    """The imports written in a generated body (it parses: checked before)."""
    tree = parse_or_none(textwrap.dedent(code))
    if tree is None:
        return set()
    keys: set[ImportKey] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            keys |= _import_keys(node)
    return keys


def _added_import_lines(
    tree: ast.Module, added_imports: list[str], bodies: Mapping[str, str]
) -> dict[int, str]:
    """Line -> qualified name, for the imports inject moved out of the bodies.

    An unused import a body brought is the body's fault even though inject put
    it at the top of the module; the first body that wrote it gets it.
    """
    added: set[ImportKey] = set()
    for statement in added_imports:
        added |= _code_import_keys(statement)
    if not added:
        return {}
    written = {name: _code_import_keys(code) for name, code in bodies.items()}
    lines: dict[int, str] = {}
    for node in tree.body:
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        keys = _import_keys(node) & added
        owner = next((name for name, own in written.items() if keys & own), None)
        if owner is not None:
            for line in range(node.lineno, (node.end_lineno or node.lineno) + 1):
                lines[line] = owner
    return lines


def _attribute(
    finding: Finding, bodies: list[_Body], import_lines: Mapping[int, str]
) -> Finding | None:
    """The finding tagged with its body, or ``None`` when it is in no body."""
    inside = [body for body in bodies if body.contains(finding.line)]
    if inside:
        body = min(inside, key=lambda b: b.last - b.first)
        return finding.model_copy(update={"qualified_name": body.qualified_name})
    if finding.line in import_lines:
        return finding.model_copy(update={"qualified_name": import_lines[finding.line]})
    if finding.code in _SIGNATURE_CODES:
        # the signature is the original one, kept by inject; it is checked
        # for the body all the same ("type every parameter and return")
        for body in bodies:
            if body.owner is not None and body.owner.node.lineno == finding.line:
                return finding.model_copy(update={"qualified_name": body.qualified_name})
    return None


def _body_scope(tree: ast.Module, functions: list[FunctionInfo], located: list[_Body]) -> _Scope:
    """Only the defs that hold the bodies, when every body is in one."""
    owners = [body.owner for body in located]
    if not owners or any(owner is None for owner in owners):
        return _Scope(functions)  # a body outside any def: the whole module
    nodes: list[ast.stmt] = []
    seen: set[int] = set()
    for owner in owners:
        if owner is not None and id(owner.node) not in seen:
            seen.add(id(owner.node))
            nodes.append(owner.node)
    spans = _merged((node.lineno, node.end_lineno or node.lineno) for node in nodes)
    span_starts = [first for first, _last in spans]

    def inside(node: ast.stmt) -> bool:
        index = bisect.bisect_right(span_starts, node.lineno) - 1
        return index >= 0 and node.lineno <= spans[index][1]

    return _Scope(
        functions=[info for info in functions if inside(info.node)],
        statements=[*_top_imports(tree), *nodes],
        compile_unit=_compile_unit(tree, [o for o in owners if o is not None]),
        security=nodes,
        defs=nodes,
    )


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The union of the line spans, as disjoint spans in order."""
    merged: list[tuple[int, int]] = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(last, merged[-1][1]))
        else:
            merged.append((first, last))
    return merged


def _top_imports(tree: ast.Module) -> list[ast.stmt]:
    return [s for s in tree.body if isinstance(s, ast.Import | ast.ImportFrom)]


def _compile_unit(tree: ast.Module, owners: list[FunctionInfo]) -> ast.Module:
    """The smallest module that compiles with the same errors as the bodies.

    A def directly in a module or class compiles alone with the same errors
    (a class scope is invisible to its methods); a def nested in a function
    needs its outermost enclosing statement (``nonlocal`` must resolve).
    """
    body: list[ast.stmt] = []
    for owner in owners:
        node: ast.stmt | None = owner.node
        if "<locals>" in owner.qualname:
            node = next(
                (
                    statement
                    for statement in tree.body
                    if statement.lineno <= owner.node.lineno
                    and (owner.node.end_lineno or 0) <= (statement.end_lineno or statement.lineno)
                ),
                None,
            )
        if node is None:
            return tree
        if node not in body:
            body.append(node)
    return ast.Module(body=body, type_ignores=[])


def _inject(
    source: str, bodies: dict[str, str], findings: list[Finding], options: InjectOptions
) -> InjectionResult | None:
    """Inject the bodies; one inject rejects as unparsable becomes ``SYN001``.

    Mutates ``bodies`` and ``findings``; ``None`` when no body is left.
    """
    while bodies:
        try:
            return inject_bodies(source, bodies, options)
        except InjectError as error:
            name = error.details.get("qualified_name")
            if error.code != InjectError.BODY_SYNTAX_ERROR or name not in bodies:
                raise
            code = bodies.pop(name)
            finding = SourceText(code).finding(
                rule=Rule.SYNTAX,
                code=syntax.PARSE_ERROR,
                severity=Severity.ERROR,
                line=int(error.details.get("line") or 1),
                message=str(error.details.get("reason") or error.message),
            )
            findings.append(finding.model_copy(update={"qualified_name": name}))
    return None


_Injected = tuple[InjectionResult, SourceText, ast.Module | None, list[Finding]]


def _injected_module(
    source: str, bodies: dict[str, str], findings: list[Finding], options: InjectOptions
) -> _Injected | None:
    """The module with the bodies in, as the inject stage writes it: its text, its tree (or
    its ``SYN001``)."""
    injected = _inject(source, bodies, findings, options)
    if injected is None:
        return None
    text = SourceText(injected.source)
    return (injected, text, *syntax.parse_module(text))


@gc_paused()
def validate_bodies(
    source: str, bodies: Mapping[str, str], options: ValidateOptions | None = None
) -> ValidationReport:
    """Validate generated bodies (qualified name -> code) inside their module.

    1. Each body is parsed on its own; one that does not parse gets a
       ``SYN001`` finding (line relative to the body) and is not injected.
    2. The others are injected into ``source`` by the inject stage.
    3. The selected checkers run on the new module; only findings on the
       lines of a generated body are kept, tagged with its qualified name
       (lines are those of the new module), plus the missing annotations of
       the def each body belongs to (reported at its ``def`` line).

    Bodies are always parsed (whatever the selected rules): one that does
    not parse cannot be injected. The in-process checkers look only at the
    defs that hold the bodies (bandit is the slowest of them); ruff reads the
    whole module, in parallel.

    ``InjectError`` (unknown or ambiguous name, a source that does not
    parse) propagates: it is a bad request, not a finding about the code.
    """
    options = options or ValidateOptions()
    findings: list[Finding] = []
    parsable: dict[str, str] = {}
    for qualified_name, code in bodies.items():
        problem = syntax.check_body(code, qualified_name)
        if problem is None:
            parsable[qualified_name] = code
        else:
            findings.append(problem)
    module = _injected_module(source, parsable, findings, options.inject_options())
    if module is None:
        return _finish(findings, options)
    injected, text, tree, module_findings = module
    if tree is None:  # inject produced a module that does not parse: attribute by line
        located = [_Body(name, *lines, None) for name, lines in injected.body_lines.items()]
        import_lines: dict[int, str] = {}
    else:
        functions = iter_functions(tree)
        located = _locate_bodies(functions, injected.body_lines)
        import_lines = _added_import_lines(tree, injected.added_imports, parsable)
        module_findings = _run_checkers(tree, text, options, _body_scope(tree, functions, located))
    for finding in module_findings:
        attributed = _attribute(finding, located, import_lines)
        if attributed is not None:
            findings.append(attributed)
    return _finish(findings, options)
