"""What validate checks in a module is narrowed to the defs that hold the bodies: these tests pin
that the narrowing neither loses a finding of a body nor reports one of the code around it."""

from __future__ import annotations

from pipeline.stages.inject import inject_bodies
from pipeline.stages.validate import Rule, ValidateOptions, validate_bodies

NESTED = '''\
"""Deeply nested stubs."""

import subprocess


def helper(command: str) -> int:
    return subprocess.call(command, shell=True)


class Outer:
    def method(self) -> type:
        def factory() -> type:
            class Inner:
                def deep(self, command: str, password: str = "hunter2") -> int:
                    """Run the command unless the password matches."""
                    raise NotImplementedError

                def sibling(self, command: str) -> int:
                    assert command
                    return subprocess.call(command, shell=True)

            return Inner

        eval("1")
        return factory()
'''
DEEP = "Outer.method.<locals>.factory.<locals>.Inner.deep"
DEEP_BODY = (
    "if password == 'letmein':\n"
    "    print(command)\n"
    "    return 0\n"
    "try:\n"
    "    return subprocess.call(command, shell=True)\n"
    "except Exception:\n"
    "    pass\n"
    "raise ValueError(command)\n"
)


def _line_of(source: str, text: str) -> int:
    (line,) = [number for number, line in enumerate(source.splitlines(), 1) if text in line]
    return line


def test_findings_in_a_deeply_nested_body_are_reported_at_their_lines() -> None:
    report = validate_bodies(NESTED, {DEEP: DEEP_BODY})
    filled = inject_bodies(NESTED, {DEEP: DEEP_BODY}).source
    assert {(f.code, f.line) for f in report.findings} == {
        ("B105", _line_of(filled, "password == 'letmein'")),  # a string compared to a password
        ("HR002", _line_of(filled, "print(command)")),
        ("B602", _deep_call_line(filled)),  # not helper's or sibling's
        ("B110", _line_of(filled, "except Exception:")),
        ("HR001", _line_of(filled, "raise ValueError(command)")),
    }
    assert {f.qualified_name for f in report.findings} == {DEEP}


def _deep_call_line(filled: str) -> int:
    first, last = inject_bodies(NESTED, {DEEP: DEEP_BODY}).body_lines[DEEP]
    lines = filled.splitlines()
    (line,) = [n for n in range(first, last + 1) if "subprocess.call" in lines[n - 1]]
    return line


def test_findings_around_a_nested_body_are_not_reported() -> None:
    body = "return len(command)\n"
    report = validate_bodies(NESTED, {DEEP: body})
    # helper's and sibling's shell calls, the assert, eval, the password default of deep's own
    # signature (B107) and the subprocess import are all outside the generated body
    assert report.findings == []
    only_security = validate_bodies(NESTED, {DEEP: body}, ValidateOptions(rules={Rule.SECURITY}))
    assert only_security.findings == []


def test_a_body_whose_only_problem_is_at_the_top_of_the_module_is_found() -> None:
    source = "import json\n\n\nclass Store:\n    def load(self, name: str) -> str:\n        ...\n"
    body = "import os.path\nreturn name\n"
    options = ValidateOptions(hoist_imports="stdlib")
    filled = inject_bodies(source, {"Store.load": body}, options.inject_options())
    moved = _line_of(filled.source, "import os.path")
    assert moved < filled.body_lines["Store.load"][0]  # inject moved it out of the body
    report = validate_bodies(source, {"Store.load": body}, options)
    assert [(f.code, f.line, f.qualified_name) for f in report.findings] == [
        ("F401", moved, "Store.load")
    ]


def test_a_raise_the_module_makes_legitimate_is_still_judged_by_the_module() -> None:
    # the house rules look only at the def that holds the body, but the names it binds are the
    # module's: a ValueError the module defines is not the built-in one; print rebound likewise
    source = (
        "class ValueError(Exception):\n    pass\n\n\n"
        "def print(*args: object) -> None:\n    pass\n\n\n"
        "def run(value: int) -> int:\n    raise NotImplementedError\n"
    )
    body = "print(value)\nraise ValueError(value)\n"
    report = validate_bodies(source, {"run": body}, ValidateOptions(rules={Rule.HOUSE_RULES}))
    assert report.findings == []
