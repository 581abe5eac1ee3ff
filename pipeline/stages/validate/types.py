"""Rule ``types``: the module type-checked by ty (Astral's checker, pinned: ty==0.0.108).

ty runs as its own binary (found beside this interpreter through the ``ty`` package, never
looked up on ``PATH``): a language server kept running (:mod:`.ty_server`) checks the module
text in memory, with a ``ty.toml`` of its own (:func:`config_text`; no project or user
configuration leaks in). ``ty check`` with that file on the same text reports the same
diagnostics (a test compares them). Codes are ``TY-`` and ty's rule name (``TY-missing-attribute``,
``TY-invalid-return-type``, ``TY-too-many-positional-arguments``, ...); ty's errors are
errors and its warnings warnings, except the rules of ``ValidateOptions.types_warning_rules``,
which ty reports as warnings.

Third-party imports resolve against ``ValidateOptions.types_python`` (default: the
interpreter running this code); ``import-not-found`` is off, so a module the environment
lacks makes its names ``Unknown`` (which ty accepts everywhere) instead of a flood of
findings; the ``imports`` rule reports unresolvable modules (IMP001). The platform is
``all``: code guarded for another operating system is not wrong.

When ty cannot run, nothing passes unchecked: a missing ty raises ``ValidateError``
(``TY_UNAVAILABLE``: a person must install it; the request fails at once with that
reason), a crash, a timeout or an answer that is not a diagnostic report raises
``TypeCheckFailed``, which the workers retry as a transient error (then the request fails
with the reason). Neither is a finding: an outage of the checker must not use up a
request's generation attempts on code that may be right, nor let it be stored unchecked.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import Future
from functools import cache
from typing import Any

from pipeline.models.findings import Finding, Severity
from pipeline.stages.validate.errors import ValidateError
from pipeline.stages.validate.options import Rule, ValidateOptions
from pipeline.stages.validate.snippets import SourceText
from pipeline.stages.validate.subprocesses import shared_executor
from pipeline.stages.validate.ty_server import server_for

CODE_PREFIX = "TY-"
IGNORED_RULES = ("import-not-found",)
SYNTAX_CODES = frozenset({"invalid-syntax"})
"""Left to the ``syntax`` rule, which uses Python's own parser and compiler."""
TY_TIMEOUT_SECONDS = 30.0
"""Per check; a server that takes longer is killed and the check raises."""

_SEVERITIES = {1: Severity.ERROR, 2: Severity.WARNING}
"""LSP severities; 3 and 4 (information, hint) are not findings."""
_SUGGESTIONS = {
    "missing-attribute": "use an attribute the object has (see the class and its __init__)",
    "unresolved-attribute": "use an attribute the object has (see the class and its __init__)",
    "unresolved-reference": "import or define the name before using it",
    "invalid-return-type": "return a value of the declared return type",
    "invalid-explicit-return": "return a value of the declared return type",
    "too-many-positional-arguments": "call it with the parameters its signature declares",
    "missing-argument": "pass every required argument of the signature",
    "unknown-argument": "use the keyword names of the signature",
    "invalid-argument-type": "pass arguments of the types the signature declares",
}


@cache
def ty_binary() -> str:
    """The ty executable installed with the ``ty`` package."""
    try:
        from ty import find_ty_bin

        return str(find_ty_bin())
    except (ImportError, FileNotFoundError) as error:
        raise ValidateError(
            f"the types rule needs ty, which is not installed: {error}", code="TY_UNAVAILABLE"
        ) from error


def config_text(options: ValidateOptions) -> str:
    """The ``ty.toml`` the module is checked with (by the server, or by ``ty check``)."""
    rules = {rule: "ignore" for rule in IGNORED_RULES}
    rules.update({rule: "warn" for rule in sorted(options.types_warning_rules)})
    lines = ["[environment]", 'python-platform = "all"']
    if options.types_python:
        lines.append(f"python = {json.dumps(options.types_python)}")
    lines.append("[rules]")
    lines += [f"{json.dumps(rule)} = {json.dumps(level)}" for rule, level in rules.items()]
    return "\n".join(lines) + "\n"


def _finding(item: dict[str, Any], source: SourceText) -> Finding | None:
    """A finding from an LSP diagnostic (0-based lines and code-point columns)."""
    name = item.get("code")
    level = item.get("severity")
    severity = _SEVERITIES.get(level) if isinstance(level, int) else None
    if not isinstance(name, str) or severity is None or name in SYNTAX_CODES:
        return None  # hints (unreachable or unused code) are not printed by ``ty check``
    span = item.get("range") or {}
    start, end = span.get("start") or {}, span.get("end") or {}
    line = int(start.get("line", 0)) + 1
    return source.finding(
        rule=Rule.TYPES,
        code=CODE_PREFIX + name,
        severity=severity,
        line=line,
        column=int(start.get("character", 0)),
        end_line=max(line, int(end.get("line", line - 1)) + 1),
        message=str(item.get("message") or name),
        suggestion=_SUGGESTIONS.get(name),
    )


def check(source: SourceText, options: ValidateOptions) -> list[Finding]:
    """ty's findings on the whole module."""
    server = server_for(ty_binary(), config_text(options), timeout=TY_TIMEOUT_SECONDS)
    found = (_finding(item, source) for item in server.diagnostics(source.text))
    return [finding for finding in found if finding is not None]


class TypeCheckRun:
    """ty running in the background while the in-process checkers work."""

    def __init__(self, source: SourceText, options: ValidateOptions) -> None:
        self._future: Future[list[Finding]] = shared_executor().submit(check, source, options)

    def findings(self) -> list[Finding]:
        return self._future.result()


def start(source: SourceText, options: ValidateOptions) -> TypeCheckRun:
    """Start ty on the module; collect with :meth:`TypeCheckRun.findings`."""
    ty_binary()  # a missing ty fails here, in the caller's thread
    if options.types_python and not os.path.exists(options.types_python):
        # ty would fall back to another environment without a word
        raise ValidateError(
            f"the types rule's Python environment does not exist: {options.types_python} "
            "(CODEGEN_TYPES_PYTHON)",
            code="TY_PYTHON_NOT_FOUND",
        )
    return TypeCheckRun(source, options)
