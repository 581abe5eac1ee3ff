from __future__ import annotations

import pytest

from pipeline.models.findings import Severity
from pipeline.stages.validate import Rule

from .helpers import check


def security(source: str, **kwargs: object) -> list[tuple[str, int]]:
    return [(f.code, f.line) for f in check(source, Rule.SECURITY, **kwargs)]


@pytest.mark.parametrize(
    ("source", "expected", "suggestion"),
    [
        ("def f(x: str) -> object:\n    return eval(x)\n", ("B307", 2), "ast.literal_eval"),
        ("def f(x: str) -> None:\n    exec(x)\n", ("B102", 2), "exec"),
        (
            "import subprocess\ndef f(c: str) -> None:\n    subprocess.run(c, shell=True)\n",
            ("B602", 3),
            "without shell=True",
        ),
        (
            "import yaml\ndef f(t: str) -> object:\n    return yaml.load(t)\n",
            ("B506", 3),
            "yaml.safe_load",
        ),
        (
            "def f(c, n: str) -> None:\n    c.execute('SELECT * FROM t WHERE n = ' + n)\n",
            ("B608", 2),
            "parameterised",
        ),
    ],
)
def test_vulnerabilities_are_errors_with_suggestions(
    source: str, expected: tuple[str, int], suggestion: str
) -> None:
    findings = [f for f in check(source, Rule.SECURITY) if f.code == expected[0]]
    [finding] = findings
    assert (finding.code, finding.line) == expected
    assert finding.rule == "security"
    assert finding.severity is Severity.ERROR  # HIGH and MEDIUM
    assert suggestion in (finding.suggestion or "")
    assert finding.snippet


def test_low_severity_is_a_warning_and_strict_makes_it_an_error() -> None:
    source = 'password = "hunter2"\n'
    [finding] = check(source, Rule.SECURITY)
    assert (finding.code, finding.severity) == ("B105", Severity.WARNING)
    assert finding.message == "Possible hardcoded password: 'hunter2'"
    [strict] = check(source, Rule.SECURITY, strict=True)
    assert strict.severity is Severity.ERROR


def test_regex_false_positives_of_the_older_system_are_not_flagged() -> None:
    source = (
        "def retrieval(x: str) -> str:\n"
        "    return x\n"
        "def get() -> str:\n"
        "    return ''\n"
        "password_hint = get()\n"
        "value = retrieval('eval(')\n"
        "medieval_exec_time = 3\n"
        "class Model:\n"
        "    def eval(self) -> None: ...\n"
        "Model().eval()\n"
    )
    assert security(source) == []


def test_aliased_imports_are_resolved() -> None:
    source = "import subprocess as sp\ndef f(c: str) -> None:\n    sp.call(c, shell=True)\n"
    assert ("B602", 3) in security(source)


def test_nosec_is_honoured_with_and_without_test_ids() -> None:
    source = (
        "def f(x: str) -> object:\n"
        "    a = eval(x)  # nosec\n"
        "    b = eval(x)  # nosec B307\n"
        "    c = eval(x)  # nosec B602\n"
        "    return a, b, c\n"
    )
    assert security(source) == [("B307", 4)]


def test_code_in_strings_and_comments_is_not_flagged() -> None:
    source = (
        "def f() -> str:\n"
        "    # eval(x) and exec(y) and subprocess.call(z, shell=True)\n"
        "    return 'eval(input())'\n"
    )
    assert security(source) == []
