"""The security rule's walk of the tree reports what bandit's own walk reports.

``security._CheckedNodesVisitor`` replaces ``BanditNodeVisitor.generic_visit`` and calls
bandit's ``pre_visit``/``visit``/``post_visit`` only on the nodes bandit checks. These tests
fail if that walk loses or adds an issue against bandit's visitor on the same tree (say, after
an upgrade adds a ``visit_`` method or a test for another node type, or renames the hooks the
walk calls).
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest
from bandit.core import node_visitor as b_node_visitor

from pipeline.stages.validate import security
from pipeline.stages.validate.snippets import SourceText

from .helpers import CORPUS

STDLIB_MODULES = ("subprocess", "pickle", "tarfile", "pydoc", "ssl", "tempfile", "asyncio.tasks")

PARENT_LINKS = """
import subprocess as sp
from django.utils.safestring import mark_safe


class Account:
    password = "hunter2"

    class Inner:
        def check(self, given, password="default"):
            assert given
            if given == "s3cret_password":
                return {"password": "x", "user": given}
            query = "SELECT * FROM users WHERE name = '%s'" % given
            other = "DELETE FROM t WHERE id = {}".format(given)
            third = f"UPDATE t SET a = 1 WHERE b = {given}"
            return query, other, third

    async def run(self, cmd, token="abc"):
        try:
            sp.call(cmd, shell=True)
        except Exception:
            pass
        for item in cmd:
            try:
                item()
            except Exception:
                continue
        return [
            (lambda x=1: x, path, mode)
            for path in "/tmp/cache"

            for mode in ("r", "w")
        ]


def render(value, safe):
    html = mark_safe(value)
    other = mark_safe(safe + "<b>")
    open("/tmp/file.txt", "w").write(b"\\x00")
    match value:
        case {"password": secret}:
            return secret
        case _:
            return html, other
"""
NON_ASCII = (
    'def f(access_level):\n    if access_level != "none\u202e\u2066":  # check\n        return 1\n'
)


def _sources() -> list[tuple[str, str]]:
    found = [(path.name, path.read_text(encoding="utf-8")) for path in _corpus()]
    for name in STDLIB_MODULES:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None
        found.append((name, Path(spec.origin).read_text(encoding="utf-8")))
    return [*found, ("parent_links.py", PARENT_LINKS), ("non_ascii.py", NON_ASCII)]


def _corpus() -> list[Path]:
    files = sorted((CORPUS / "security").glob("*.py"))
    assert files
    return files


def _issues(visitor_class: type, name: str, text: str, part: slice) -> list[security.BanditIssue]:
    tree = ast.parse(text)  # a fresh tree: bandit leaves its attributes on it
    target = ast.Module(body=tree.body[part], type_ignores=[])
    return security.visit_with(visitor_class, SourceText(text, name), target)


@pytest.mark.parametrize(("name", "text"), _sources(), ids=lambda value: value[:40])
def test_the_walk_reports_what_bandit_s_own_walk_reports(name: str, text: str) -> None:
    for part in (slice(None), slice(1, None, 2)):
        ours = _issues(security._CheckedNodesVisitor, name, text, part)
        bandit = _issues(b_node_visitor.BanditNodeVisitor, name, text, part)
        assert ours == bandit


def test_the_comparison_covers_the_tests_that_follow_parent_links() -> None:
    issues = _issues(b_node_visitor.BanditNodeVisitor, "p.py", PARENT_LINKS, slice(None))
    found = {issue.test_id for issue in issues}
    # B105 password compare/dict, B107 default, B608 three SQL forms, B703/B308 mark_safe
    expected = {"B101", "B105", "B107", "B108", "B110", "B112", "B602", "B608", "B308", "B703"}
    assert expected <= found
    assert sum(issue.test_id == "B608" for issue in issues) == 3
    non_ascii = _issues(b_node_visitor.BanditNodeVisitor, "n.py", NON_ASCII, slice(None))
    assert {issue.test_id for issue in non_ascii} == {"B613"}


def test_the_walk_visits_far_fewer_nodes_than_bandit_s() -> None:
    text = Path(importlib.util.find_spec("tarfile").origin or "").read_text(encoding="utf-8")
    counts = {}
    for visitor_class in (security._CheckedNodesVisitor, b_node_visitor.BanditNodeVisitor):
        visited = 0

        class Counting(visitor_class):  # type: ignore[misc, valid-type]
            def pre_visit(self, node: ast.AST) -> bool:
                nonlocal visited
                visited += 1
                return bool(super().pre_visit(node))

        _issues(Counting, "tarfile.py", text, slice(None))
        counts[visitor_class] = visited
    assert counts[security._CheckedNodesVisitor] * 3 < counts[b_node_visitor.BanditNodeVisitor]


def test_the_hooks_the_walk_calls_are_bandit_s() -> None:
    for hook in ("pre_visit", "visit", "post_visit", "generic_visit"):
        assert hook in vars(b_node_visitor.BanditNodeVisitor), hook
    assert "generic_visit" in vars(security._CheckedNodesVisitor)
    checked = {node_class.__name__ for node_class in security._checked_node_classes()}
    assert {"Call", "Constant", "FunctionDef", "ClassDef", "Import", "ImportFrom"} <= checked
    assert {"Name", "Load", "BinOp", "arguments"}.isdisjoint(checked)
