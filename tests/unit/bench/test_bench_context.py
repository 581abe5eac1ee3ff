"""The context benchmark runs end to end on a few modules (a smoke test: no goal is checked)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from bench.__main__ import main as bench_main
from bench.bench_context import KINDS, module_names, prompt_names, used_names
from bench.corpus import stub_methods
from pipeline.stages.extract import extract_stubs

SOURCE = """\
import re
from os import path as os_path

LIMIT = 3


def helper(text):
    return text


class Base:
    def __init__(self):
        self.base_value = 1


class Thing(Base):
    size = 2

    def __init__(self, name):
        super().__init__()
        self.name = name

    def describe(self, other):
        label = helper(self.name) + str(self.size) + str(self.base_value)
        return re.sub("x", "y", label) + os_path.sep + str(LIMIT) + self.other_method()

    def other_method(self):
        return self.inherited_from_elsewhere
"""


def test_the_names_a_body_uses_are_classified() -> None:
    tree = ast.parse(SOURCE)
    names = module_names(tree)
    function = tree.body[-1].body[-2]  # type: ignore[attr-defined]
    used = used_names(function, "Thing", names)
    assert used["attribute"] == {"name", "size", "base_value"}
    assert used["method"] == {"other_method"}
    assert used["module"] == {"helper", "LIMIT"}
    assert used["import"] == {"re", "os_path"}
    assert used["unknowable"] == set()


def test_the_names_a_prompt_defines_are_read_from_its_lines() -> None:
    names = prompt_names(
        "import re\nfrom os import path as os_path\nLIMIT: int = 3\ndef helper(text):\n"
        "class Thing(Base):\n    size = 2\n        self.name = name\n    __slots__ = ('slot',)"
    )
    assert names.defines("import", "os_path") and names.defines("import", "re")
    assert names.defines("module", "LIMIT") and names.defines("module", "helper")
    assert names.defines("method", "helper") and not names.defines("method", "LIMIT")
    assert names.defines("attribute", "size") and names.defines("attribute", "name")
    assert names.defines("attribute", "slot")
    assert not names.defines("import", "helper")


def test_methods_are_stubbed_through_the_extract_stage() -> None:
    stubbed = stub_methods(SOURCE, "thing.py", count=2)
    assert stubbed is not None and len(stubbed.bodies) == 2
    assert all("." in name for name in stubbed.bodies)
    found = {stub.qualified_name for stub in extract_stubs(stubbed.source).stubs}
    assert found == set(stubbed.bodies)


def test_the_context_benchmark_writes_its_figures(tmp_path: Path) -> None:
    output = tmp_path / "context.json"
    code = bench_main(
        ["context", "--modules", "shlex,queue", "--stubs", "3", "--output", str(output), "--quiet"]
    )
    assert code == 0
    results = json.loads(output.read_text(encoding="utf-8"))
    assert results["config"]["modules"] == ["shlex", "queue"]
    assert set(results["coverage"]) == set(KINDS)
    assert results["coverage"]["attribute"]["used"] > 0
    for figures in results["coverage"].values():
        assert figures["share"] is None or 0 <= figures["share"] <= 1
    assert 0 < results["prompt_chars"]["median"] <= results["prompt_chars"]["p95"]
    assert 0 < results["shared_prefix_share"] < 1
    assert set(results["met"]) == {"coverage", "median_prompt_chars", "shared_prefix"}
    markdown = output.with_suffix(".md").read_text(encoding="utf-8")
    assert "| attribute |" in markdown and "| shared prefix (bytes) |" in markdown
