from __future__ import annotations

import pytest

from pipeline.models.findings import Severity
from pipeline.stages.validate import Rule, ValidateOptions, validate_source

from .helpers import check, codes


def test_fully_annotated_code_passes() -> None:
    source = (
        "class A:\n"
        "    def m(self, x: int, *args: str, y: int = 1, **kw: object) -> int:\n"
        "        return x\n"
        "    @classmethod\n"
        "    def make(cls) -> 'A':\n"
        "        return cls()\n"
        "async def f(a: int, /, b: int) -> None:\n"
        "    pass\n"
        "handler = lambda event: event\n"
    )
    assert check(source, Rule.TYPE_HINTS) == []


def test_missing_parameter_and_return_annotations() -> None:
    findings = check("def f(a, b: int, *args, c=None, **kw):\n    return a\n", Rule.TYPE_HINTS)
    assert [f.code for f in findings] == ["TH001", "TH001", "TH001", "TH001", "TH002"]
    messages = " ".join(f.message for f in findings)
    for name in ("'a'", "'*args'", "'c'", "'**kw'"):
        assert name in messages
    assert all(f.severity is Severity.WARNING for f in findings)
    assert all(f.line == 1 and f.suggestion for f in findings)
    assert "| None = None" in (findings[2].suggestion or "")


def test_self_and_cls_are_exempt_but_not_in_static_methods() -> None:
    source = (
        "class A:\n"
        "    def m(self) -> None: ...\n"
        "    @classmethod\n"
        "    def c(cls) -> None: ...\n"
        "    @staticmethod\n"
        "    def s(value) -> None: ...\n"
    )
    [finding] = check(source, Rule.TYPE_HINTS)
    assert (finding.code, finding.line) == ("TH001", 6)
    assert "'value'" in finding.message


def test_first_parameter_of_a_plain_function_is_not_exempt() -> None:
    assert codes(
        validate_source("def f(self) -> None: ...\n", ValidateOptions(rules={Rule.TYPE_HINTS}))
    ) == ["TH001"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("    print('x')\n", "-> None"),
        ("    return\n", "-> None"),
        ("    return 3\n", "-> <type>"),
        ("    yield 3\n", "Iterator"),
    ],
)
def test_return_suggestion_follows_the_body(body: str, expected: str) -> None:
    [finding] = check("def f() :\n" + body, Rule.TYPE_HINTS)
    assert finding.code == "TH002"
    assert expected in (finding.suggestion or "")


def test_nested_functions_are_checked_with_their_qualified_name() -> None:
    source = "def outer() -> None:\n    def inner(x) -> None: ...\n"
    [finding] = check(source, Rule.TYPE_HINTS)
    assert "outer.<locals>.inner" in finding.message
    assert finding.line == 2


def test_strict_turns_missing_annotations_into_errors() -> None:
    [finding] = check("def f() :\n    pass\n", Rule.TYPE_HINTS, strict=True)
    assert finding.severity is Severity.ERROR


def test_house_rule_hr003_reuses_the_check_without_duplicates() -> None:
    source = "def f(x):\n    return x\n"
    house = check(source, Rule.HOUSE_RULES)
    assert [f.code for f in house] == ["HR003", "HR003"]
    assert all(f.rule == "house_rules" for f in house)
    both = validate_source(source, ValidateOptions(rules={Rule.HOUSE_RULES, Rule.TYPE_HINTS}))
    assert codes(both) == ["TH001", "TH002"]
