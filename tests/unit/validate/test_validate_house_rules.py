from __future__ import annotations

import pytest

from pipeline.models.findings import Severity
from pipeline.stages.validate import Rule

from .helpers import check


def house(source: str, **kwargs: object) -> list[tuple[str, int]]:
    findings = check(source, Rule.HOUSE_RULES, **kwargs)
    return [(f.code, f.line) for f in findings if f.code != "HR003"]


@pytest.mark.parametrize(
    "statement",
    [
        "raise ValueError('bad')",
        "raise Exception",
        "raise RuntimeError(f'x {1}')",
        "raise KeyError('k') from None",
        "raise builtins.TypeError('t')",
    ],
)
def test_built_in_exceptions_are_flagged(statement: str) -> None:
    findings = check(f"import builtins\ndef f() -> None:\n    {statement}\n", Rule.HOUSE_RULES)
    [finding] = findings
    assert (finding.code, finding.line) == ("HR001", 3)
    assert finding.severity is Severity.WARNING
    assert (finding.suggestion or "").startswith("raise ModelOnexError(")


def test_suggestion_keeps_arguments_and_cause() -> None:
    source = "def f(e: Exception) -> None:\n    raise ValueError('bad', 3) from e\n"
    [finding] = check(source, Rule.HOUSE_RULES)
    assert finding.suggestion == "raise ModelOnexError('bad', 3) from e"


@pytest.mark.parametrize(
    "statement",
    [
        "raise",
        "raise ModelOnexError('ok')",
        "raise err",
        "raise errors.ValidationError('x')",
    ],
)
def test_allowed_raises(statement: str) -> None:
    source = (
        "def f(err: Exception) -> None:\n"
        "    try:\n"
        "        pass\n"
        "    except KeyError:\n"
        f"        {statement}\n"
    )
    assert house(source) == []


def test_a_module_defining_the_name_is_not_flagged() -> None:
    source = "class ValueError(Exception):\n    pass\ndef f() -> None:\n    raise ValueError()\n"
    assert house(source) == []


def test_configured_error_class_and_log_function() -> None:
    source = "def f() -> None:\n    print('x')\n    raise ValueError('y')\n"
    findings = check(source, Rule.HOUSE_RULES, error_class="AppError", log_function="log_event")
    assert [f.code for f in findings] == ["HR002", "HR001"]
    assert "log_event" in (findings[0].suggestion or "")
    assert findings[1].suggestion == "raise AppError('y')"


def test_configured_error_class_may_be_a_built_in() -> None:
    source = "def f() -> None:\n    raise RuntimeError('y')\n"
    assert house(source, error_class="RuntimeError") == []


def test_print_is_flagged_but_not_lookalikes() -> None:
    source = (
        "def f(printer: object) -> None:\n"
        "    print('hello')\n"
        "    printer.print('ok')\n"
        "    pprint_value = 'print('\n"
        "    # print('commented')\n"
        "    blueprint('x')\n"
    )
    assert house(source) == [("HR002", 2)]


def test_shadowed_print_is_not_flagged() -> None:
    assert house("from rich import print\ndef f() -> None:\n    print('x')\n") == []


def test_not_implemented_error_is_hr004_except_in_abstract_methods() -> None:
    source = (
        "import abc\n"
        "class A(abc.ABC):\n"
        "    @abc.abstractmethod\n"
        "    def m(self) -> None:\n"
        "        raise NotImplementedError\n"
        "    def n(self) -> None:\n"
        "        raise NotImplementedError('todo')\n"
    )
    assert house(source) == [("HR004", 7)]


def test_strict_turns_house_rules_into_errors() -> None:
    findings = check("def f() -> None:\n    print('x')\n", Rule.HOUSE_RULES, strict=True)
    assert [f.severity for f in findings] == [Severity.ERROR]
