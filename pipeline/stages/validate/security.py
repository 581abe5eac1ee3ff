"""Rule ``security``: bandit, run in process on a source string.

Bandit has no stable API; this module is the only place that touches its
internals (pinned: bandit==1.9.4). It drives ``BanditNodeVisitor`` directly
over a syntax tree instead of writing a temporary file for
``BanditManager``: the test set (whose plugins are slow to load) is built
once per process, and a run only visits the nodes asked for. Of those, only
the nodes that a bandit test or visit method reads (calls, strings, defs,
imports...: a few in a hundred) get bandit's per-node context; the others
only get the parent and sibling links bandit's tests follow (see
``_CheckedNodesVisitor``).

Every bandit test runs (the default profile). ``# nosec`` and
``# nosec: B602,B607`` comments are honoured exactly as bandit does.

Severity mapping: bandit HIGH and MEDIUM become errors, LOW becomes a
warning (errors in strict mode), whatever bandit's confidence. The code
of a finding is the bandit test id (``B602``...), the message is bandit's
issue text.
"""

from __future__ import annotations

import ast
import io
import logging
import os
import tokenize
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from bandit.core import config as b_config
from bandit.core import manager as b_manager
from bandit.core import meta_ast as b_meta_ast
from bandit.core import metrics as b_metrics
from bandit.core import node_visitor as b_node_visitor
from bandit.core import test_set as b_test_set

from pipeline.models.findings import Finding, Severity
from pipeline.stages.validate.options import Rule
from pipeline.stages.validate.snippets import SourceText

LOG = logging.getLogger(__name__)

_SEVERITIES: dict[str, Severity] = {
    "HIGH": Severity.ERROR,
    "MEDIUM": Severity.ERROR,
    "LOW": Severity.WARNING,
}

_CREDENTIAL_ADVICE = (
    "read the secret from configuration or the environment (e.g. a SecretStr setting)"
)
_SUBPROCESS = "call subprocess.run([...]) with an argument list, without shell=True"
_UNTRUSTED_DATA = "use json (or another data-only format) for data you do not fully trust"

SUGGESTIONS: dict[str, str] = {
    "B101": "raise an exception instead: asserts vanish under python -O",
    "B102": "do not exec code; dispatch to explicit functions instead",
    "B103": "do not make files world-writable; use 0o600/0o644",
    "B104": "bind to a specific interface (e.g. 127.0.0.1) from configuration",
    "B105": _CREDENTIAL_ADVICE,
    "B106": _CREDENTIAL_ADVICE,
    "B107": _CREDENTIAL_ADVICE,
    "B108": "use tempfile.mkstemp() or tempfile.TemporaryDirectory()",
    "B110": "handle or log the exception instead of passing silently",
    "B112": "handle or log the exception instead of continuing silently",
    "B113": "pass an explicit timeout= to the request",
    "B301": _UNTRUSTED_DATA,
    "B302": _UNTRUSTED_DATA,
    "B303": "use hashlib.sha256 (or pass usedforsecurity=False for non-security uses)",
    "B307": "use ast.literal_eval for literals, or parse the input explicitly",
    "B310": "check the URL scheme (http/https only) before opening it",
    "B311": "use the secrets module for security-sensitive randomness",
    "B324": "use hashlib.sha256 (or pass usedforsecurity=False for non-security uses)",
    "B403": _UNTRUSTED_DATA,
    "B404": "run only fixed, trusted commands (an argument list, never shell=True)",
    "B501": "keep TLS certificate verification on (verify=True)",
    "B506": "use yaml.safe_load",
    "B602": _SUBPROCESS,
    "B603": "make sure every argument is trusted (an argument list, never shell=True)",
    "B604": _SUBPROCESS,
    "B605": _SUBPROCESS,
    "B606": _SUBPROCESS,
    "B607": "start the process with a full executable path (e.g. from shutil.which)",
    "B608": "use a parameterised query (placeholders plus parameters), not string building",
    "B609": "pass an explicit file list instead of a shell wildcard",
}


@dataclass(frozen=True)
class BanditIssue:
    """One bandit result, detached from bandit's own classes."""

    test_id: str
    test_name: str
    severity: str
    confidence: str
    line: int
    column: int
    end_line: int
    text: str


@cache
def _test_set() -> Any:
    """Bandit's default test set; loading the plugins is slow, so once."""
    return b_test_set.BanditTestSet(b_config.BanditConfig(), {})


def _node_classes() -> Iterator[type[ast.AST]]:
    pending: list[type[ast.AST]] = [ast.AST]
    while pending:
        node_class = pending.pop()
        yield node_class
        pending.extend(node_class.__subclasses__())


@cache
def _checked_node_classes() -> frozenset[type[ast.AST]]:
    """The node classes bandit does anything with: a ``visit_`` method or a test for them.

    For any other node bandit's visitor builds a context that nothing reads
    and runs no test.
    """
    visitor = b_node_visitor.BanditNodeVisitor
    tests = _test_set()
    return frozenset(
        node_class
        for node_class in _node_classes()
        if hasattr(visitor, f"visit_{node_class.__name__}") or tests.get_tests(node_class.__name__)
    )


class _CheckedNodesVisitor(b_node_visitor.BanditNodeVisitor):  # type: ignore[misc]
    """Bandit's visitor, with its per-node work only on the nodes it checks.

    Bandit's own walk builds a context dict, computes a line range and logs
    three debug lines for every node; on a large module that is most of the
    run. This walk links every node to its parent and next sibling exactly as
    bandit's does (its tests follow those links) and runs bandit's own
    ``pre_visit``/``visit``/``post_visit`` on the checked nodes only, in the
    same order. ``tests/unit/validate/test_validate_bandit_walk.py`` checks
    that it reports what bandit's own walk reports.
    """

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.checked = _checked_node_classes()

    def generic_visit(self, node: ast.AST) -> None:
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, list):
                last = len(value) - 1
                for index, item in enumerate(value):
                    if isinstance(item, ast.AST):
                        item._bandit_sibling = value[index + 1] if index < last else None  # type: ignore[attr-defined]
                        item._bandit_parent = node  # type: ignore[attr-defined]
                        self._visit_child(item)
            elif isinstance(value, ast.AST):
                value._bandit_sibling = None  # type: ignore[attr-defined]
                value._bandit_parent = node  # type: ignore[attr-defined]
                self._visit_child(value)

    def _visit_child(self, node: ast.AST) -> None:
        if type(node) in self.checked:
            if self.pre_visit(node):
                self.visit(node)
                self.generic_visit(node)
                self.post_visit(node)
        elif node._fields:  # not a leaf such as ``Load`` or ``Add``
            self.generic_visit(node)


def warm_up() -> None:
    """Load bandit's plugins now rather than on the first validation."""
    _test_set()


def _nosec_lines(data: bytes) -> dict[int, Any]:
    """Line -> tests to skip, as bandit's manager computes it.

    Bandit maps every comment line, ``None`` for one without ``nosec``; an
    absent line means the same, so a module without ``nosec`` needs no
    tokenizing (the slowest part of a run on a large module).
    """
    lines: dict[int, Any] = {}
    if b"nosec" not in data:
        return lines
    try:
        for token in tokenize.tokenize(io.BytesIO(data).readline):
            if token.type == tokenize.COMMENT:
                lines[token.start[0]] = b_manager._parse_nosec_comment(token.string)
    except (tokenize.TokenError, SyntaxError):
        pass
    return lines


def _visitor_filename(filename: str) -> str:
    # bandit derives a module name from the path (touching the file system for
    # every parent directory); a bare relative name avoids that.
    base = os.path.basename(filename) or "module.py"
    return os.path.join(".", base)


def _module_imports(tree: ast.Module) -> list[ast.stmt]:
    """Top-level imports, including those under ``if``/``try`` blocks."""
    found: list[ast.stmt] = []
    for statement in tree.body:
        if isinstance(statement, ast.Import | ast.ImportFrom):
            found.append(statement)
        elif isinstance(statement, ast.If | ast.Try):
            found.extend(
                node
                for node in ast.walk(statement)
                if isinstance(node, ast.Import | ast.ImportFrom)
            )
    return found


def run_bandit(
    source: SourceText, tree: ast.Module, *, only: Sequence[ast.stmt] | None = None
) -> list[BanditIssue]:
    """Bandit's issues for a module.

    ``only`` restricts the visit to those statements (plus the module's
    imports, which bandit needs to resolve aliases such as
    ``import subprocess as sp``): line numbers stay those of the module.
    The tree gets bandit's bookkeeping attributes; it is not otherwise changed.
    """
    if only is None:
        target = tree
    else:
        target = ast.Module(body=[*_module_imports(tree), *only], type_ignores=[])
    return visit_with(_CheckedNodesVisitor, source, target)


def visit_with(
    visitor_class: type[Any], source: SourceText, target: ast.Module
) -> list[BanditIssue]:
    """The issues one of bandit's node visitors finds in ``target`` (a part of the module)."""
    data = source.text.encode("utf-8")
    filename = _visitor_filename(source.filename)
    metrics = b_metrics.Metrics()
    metrics.begin(filename)
    visitor = visitor_class(
        filename,
        io.BytesIO(data),
        b_meta_ast.BanditMetaAst(),
        _test_set(),
        False,
        _nosec_lines(data),
        metrics,
    )
    visitor.generic_visit(target)
    if not source.text.isascii():
        # the tests that read the whole file look for non-ASCII characters
        # (B613: bidirectional control characters)
        visitor.context = {
            "file_data": visitor.fdata,
            "filename": filename,
            "lineno": 0,
            "linerange": [0, 1],
            "col_offset": 0,
        }
        visitor.tester.run_tests(visitor.context, "File")
    return [_detach(issue) for issue in visitor.tester.results]


def _detach(issue: Any) -> BanditIssue:
    linerange = list(issue.linerange or [issue.lineno])
    return BanditIssue(
        test_id=str(issue.test_id),
        test_name=str(issue.test),
        severity=str(issue.severity),
        confidence=str(issue.confidence),
        line=int(issue.lineno),
        column=max(int(issue.col_offset), 0),
        end_line=int(max(linerange)),
        text=str(issue.text),
    )


def to_findings(source: SourceText, issues: Iterable[BanditIssue]) -> list[Finding]:
    findings = []
    for issue in issues:
        findings.append(
            source.finding(
                rule=Rule.SECURITY,
                code=issue.test_id,
                severity=_SEVERITIES.get(issue.severity, Severity.ERROR),
                line=issue.line,
                column=issue.column,
                end_line=issue.end_line,
                message=issue.text,
                suggestion=SUGGESTIONS.get(issue.test_id),
            )
        )
    return findings


def check(
    tree: ast.Module, source: SourceText, *, only: Sequence[ast.stmt] | None = None
) -> list[Finding]:
    return to_findings(source, run_bandit(source, tree, only=only))
