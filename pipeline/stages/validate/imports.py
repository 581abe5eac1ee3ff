"""Rule ``imports``: undefined names, unused imports, unresolvable modules.

Names are checked by ruff (pinned: ruff==0.17.6), run as its own binary on
the module fed through stdin, with ``--isolated`` (no project configuration
leaks in) and ``--no-cache``. Selected rules and severities:

* ``F821`` undefined name, ``F822`` undefined name in ``__all__``,
  ``F823`` local variable referenced before assignment: errors;
* ``F401`` unused import, ``F811`` redefinition of an unused name,
  ``F841`` unused local variable: warnings.

(``E999`` no longer exists in this ruff: it reports syntax errors itself, as
``invalid-syntax``; those are left to the ``syntax`` rule, which uses
Python's own parser and compiler.)

``IMP001`` (warning) flags an absolute import whose top-level package cannot
be found in this environment: ``importlib.util.find_spec`` on the top-level
name only, which locates the package without importing it (a dotted name
would import its parents). Imports guarded by ``try/except ImportError`` are
optional by design and not flagged.

``IMP002`` (error) flags, in generated bodies only, a relative import of a
module the file does not import at its top level (``from .errors import X``
in a module without ``.errors``): the validator cannot see the package, and
a module that is not there makes the code fail when it runs.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess  # nosec B404  # runs the ruff binary only, never generated code
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from functools import cache
from typing import Any

from ruff.__main__ import find_ruff_bin  # type: ignore[import-untyped]

from pipeline.models.findings import Finding, Severity
from pipeline.stages.validate.errors import ValidateError
from pipeline.stages.validate.options import Rule
from pipeline.stages.validate.snippets import SourceText
from pipeline.stages.validate.subprocesses import shared_executor
from pipeline.stages.validate.walk import NodeIndex, child_statements

RUFF_SELECT = ("F401", "F811", "F821", "F822", "F823", "F841")
UNRESOLVABLE = "IMP001"
UNVERIFIABLE_RELATIVE = "IMP002"
RUFF_TIMEOUT_SECONDS = 30.0

_ERRORS = frozenset({"F821", "F822", "F823"})
_SUGGESTIONS = {
    "F811": "remove or rename one of the two definitions",
    "F821": "import or define the name before using it",
    "F822": "define the name, or remove it from __all__",
    "F823": "assign the local variable before reading it (or declare it global/nonlocal)",
}
_OPTIONAL_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception"})
_TARGET_VERSION = f"py3{sys.version_info.minor}"


@cache
def _ruff_binary() -> str:
    return str(find_ruff_bin())


def ruff_command(filename: str) -> list[str]:
    return [
        _ruff_binary(),
        "check",
        "--isolated",
        "--no-cache",
        "--quiet",
        "--select",
        ",".join(RUFF_SELECT),
        "--target-version",
        _TARGET_VERSION,
        "--output-format",
        "json",
        "--stdin-filename",
        filename,
        "-",
    ]


def run_ruff(source: SourceText) -> list[dict[str, Any]]:
    """Ruff's diagnostics (its JSON objects) for the module's text."""
    # a bare name: ruff resolves it against the working directory, and a path
    # inside an excluded folder could change what ruff does with the input
    filename = os.path.basename(source.filename)
    if not filename.endswith(".py"):
        filename = "module.py"
    try:
        completed = subprocess.run(  # nosec B603  # fixed argv; the code is read from stdin
            ruff_command(filename),
            input=source.text.encode("utf-8"),
            capture_output=True,
            timeout=RUFF_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ValidateError(f"ruff could not run: {error}", code="RUFF_FAILED") from error
    if completed.returncode not in (0, 1):
        stderr = completed.stderr.decode("utf-8", "replace").strip()
        raise ValidateError(
            f"ruff failed (exit {completed.returncode}): {stderr}", code="RUFF_FAILED"
        )
    try:
        diagnostics = json.loads(completed.stdout or b"[]")
    except json.JSONDecodeError as error:
        raise ValidateError(f"ruff printed invalid JSON: {error}", code="RUFF_FAILED") from error
    if not isinstance(diagnostics, list):
        raise ValidateError("ruff printed an unexpected JSON document", code="RUFF_FAILED")
    return [item for item in diagnostics if isinstance(item, dict)]


def ruff_findings(source: SourceText) -> list[Finding]:
    findings: list[Finding] = []
    for item in run_ruff(source):
        code = item.get("code")
        if code not in RUFF_SELECT:
            continue  # invalid-syntax: the syntax rule reports it
        location = item.get("location") or {}
        end = item.get("end_location") or {}
        fix = item.get("fix") or {}
        findings.append(
            source.finding(
                rule=Rule.IMPORTS,
                code=code,
                severity=Severity.ERROR if code in _ERRORS else Severity.WARNING,
                line=int(location.get("row", 1)),
                column=int(location.get("column", 1)) - 1,
                end_line=int(end.get("row", location.get("row", 1))),
                message=str(item.get("message", code)),
                suggestion=fix.get("message") or _SUGGESTIONS.get(code),
            )
        )
    return findings


_resolvable: set[str] = set()


def is_resolvable(top_level: str) -> bool:
    """Whether a top-level module can be found, without importing it.

    Positive answers are cached for the life of the process; negative ones
    are not, so installing a dependency is picked up.
    """
    if top_level in _resolvable or top_level in sys.stdlib_module_names:
        return True
    try:
        found = importlib.util.find_spec(top_level) is not None
    except (ImportError, ValueError):
        # e.g. a module in sys.modules without a spec (``__main__``)
        found = top_level in sys.modules
    if found:
        _resolvable.add(top_level)
    return found


def _guards_import_errors(node: ast.Try | ast.TryStar) -> bool:
    for handler in node.handlers:
        if handler.type is None:
            return True
        types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        for item in types:
            name = item.id if isinstance(item, ast.Name) else getattr(item, "attr", None)
            if name in _OPTIONAL_IMPORT_ERRORS:
                return True
    return False


def _checked_imports(
    statements: Sequence[ast.stmt],
) -> list[tuple[ast.Import | ast.ImportFrom, str]]:
    """(statement, top-level module) for every import that must resolve."""
    found: list[tuple[ast.Import | ast.ImportFrom, str]] = []

    def visit(node: ast.stmt, optional: bool) -> None:
        if isinstance(node, ast.Import):
            if not optional:
                found.extend((node, alias.name.partition(".")[0]) for alias in node.names)
            return
        if isinstance(node, ast.ImportFrom):
            if not optional and node.level == 0 and node.module and node.module != "__future__":
                found.append((node, node.module.partition(".")[0]))
            return
        if isinstance(node, ast.Try | ast.TryStar) and _guards_import_errors(node):
            for statement in node.body:
                visit(statement, True)
            for handler in node.handlers:
                for statement in handler.body:
                    visit(statement, optional)
            for statement in (*node.orelse, *node.finalbody):
                visit(statement, optional)
            return
        for child in child_statements(node):
            visit(child, optional)

    for statement in statements:
        visit(statement, False)
    return found


def unresolvable_imports(
    tree: ast.Module, source: SourceText, *, scope: Sequence[ast.stmt] | None = None
) -> list[Finding]:
    """``IMP001`` for the imports in ``scope`` (default: the whole module)."""
    findings: list[Finding] = []
    for statement, top_level in _checked_imports(tree.body if scope is None else scope):
        if is_resolvable(top_level):
            continue
        findings.append(
            _import_finding(
                source,
                statement,
                UNRESOLVABLE,
                Severity.WARNING,
                message=f"cannot resolve module '{top_level}' in this environment",
                suggestion=f"add the distribution that provides '{top_level}' to the "
                "project's dependencies, or fix the module name",
            )
        )
    return findings


def _import_finding(
    source: SourceText,
    statement: ast.Import | ast.ImportFrom,
    code: str,
    severity: Severity,
    *,
    message: str,
    suggestion: str,
) -> Finding:
    return source.finding(
        rule=Rule.IMPORTS,
        code=code,
        severity=severity,
        line=statement.lineno,
        column=statement.col_offset,
        end_line=statement.end_lineno,
        message=message,
        suggestion=suggestion,
    )


def _module_level(statements: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements that run when the module is imported (not inside a def or class)."""
    for statement in statements:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        yield statement
        yield from _module_level(list(child_statements(statement)))


def _relative_modules(node: ast.ImportFrom) -> set[str]:
    """The relative modules an import names: ``.errors`` for ``from .errors import X`` and
    for ``from . import errors``."""
    base = "." * node.level + (node.module or "")
    found = {base}
    if node.module is None:
        found.update(base + alias.name for alias in node.names)
    return found


def unverifiable_relative_imports(
    tree: ast.Module, source: SourceText, scope: Sequence[ast.stmt], index: NodeIndex | None = None
) -> list[Finding]:
    """``IMP002`` for a relative import inside a def of ``scope`` whose module the module does
    not import at its top level: nothing here can tell that it exists, and one that does not
    makes the module fail when the code runs. ``index``: the nodes of ``scope``, when the caller
    has them already."""
    known: set[str] = set()
    for statement in _module_level(tree.body):
        if isinstance(statement, ast.ImportFrom) and statement.level:
            known |= _relative_modules(statement)
    findings: list[Finding] = []
    for statement in (index or NodeIndex(scope)).of(ast.ImportFrom):
        if not statement.level:
            continue
        if _relative_modules(statement) & known:
            continue
        module = "." * statement.level + (statement.module or "")
        findings.append(
            _import_finding(
                source,
                statement,
                UNVERIFIABLE_RELATIVE,
                Severity.ERROR,
                message=f"relative import from '{module}', a module this file does not import: "
                "it cannot be checked to exist",
                suggestion="use what the module already imports, or an absolute import of an "
                "installed package",
            )
        )
    return findings


def check(tree: ast.Module, source: SourceText) -> list[Finding]:
    return [*ruff_findings(source), *unresolvable_imports(tree, source)]


class RuffRun:
    """Ruff running in the background while the in-process checkers work."""

    def __init__(self, source: SourceText) -> None:
        self._future: Future[list[Finding]] = shared_executor().submit(ruff_findings, source)

    def findings(self) -> list[Finding]:
        return self._future.result()


def start(source: SourceText) -> RuffRun:
    """Start ruff on the module; collect with :meth:`RuffRun.findings`."""
    return RuffRun(source)
