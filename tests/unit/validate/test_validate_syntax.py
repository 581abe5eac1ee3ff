from __future__ import annotations

from pipeline.models.findings import Severity
from pipeline.stages.validate import Rule, ValidateOptions, validate_source
from pipeline.stages.validate.syntax import check_body

from .helpers import check, codes


def test_valid_module_has_no_syntax_findings() -> None:
    assert check("def f(x: int) -> int:\n    return x\n", Rule.SYNTAX) == []


def test_parse_error_reports_line_column_message_and_snippet() -> None:
    source = "x = 1\ndef f(:\n    pass\n"
    [finding] = check(source, Rule.SYNTAX)
    assert finding.code == "SYN001"
    assert finding.rule == "syntax"
    assert finding.severity is Severity.ERROR
    assert finding.line == 2
    assert finding.column == 6
    assert finding.message
    assert finding.snippet.startswith("def f(:")


def test_parse_error_is_reported_whatever_the_selected_rules() -> None:
    report = validate_source("def f(:\n", ValidateOptions(rules={Rule.SECURITY}))
    assert codes(report) == ["SYN001"]
    assert not report.passed


def test_compiler_errors_the_parser_accepts_are_reported() -> None:
    [finding] = check("x = 1\nreturn x\n", Rule.SYNTAX)
    assert (finding.code, finding.line) == ("SYN002", 2)
    assert "outside function" in finding.message


def test_await_outside_async_function_is_a_compile_error() -> None:
    source = "def f() -> None:\n    await g()\n"
    [finding] = check(source, Rule.SYNTAX)
    assert (finding.code, finding.line) == ("SYN002", 2)


def test_null_bytes_and_deep_nesting_do_not_crash() -> None:
    assert codes(validate_source("x = 1\x00\n")) == ["SYN001"]
    deep = "x = " + "(" * 300 + ")" * 300 + "\n"
    assert codes(validate_source(deep)) == ["SYN001"]


def test_check_body_accepts_a_bare_body_and_a_whole_def() -> None:
    assert check_body("    x = 1\n    return x\n", "A.f") is None
    assert check_body("def f(self) -> int:\n    return 1\n", "A.f") is None
    assert check_body("yield 1\n", "A.gen") is None
    assert check_body("result = await fetch()\nreturn result\n", "A.af") is None


def test_check_body_reports_lines_relative_to_the_body() -> None:
    finding = check_body("    x = 1\n    y = (\n", "Klass.method")
    assert finding is not None
    assert finding.code == "SYN001"
    assert finding.line == 2
    assert finding.qualified_name == "Klass.method"


def test_check_body_rejects_an_empty_body() -> None:
    finding = check_body("   \n# only a comment\n", "f")
    assert finding is not None
    assert finding.code == "SYN001"
    assert "empty" in finding.message
