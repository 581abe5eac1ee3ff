from __future__ import annotations

import pytest

from pipeline.models.findings import Severity, ValidationReport
from pipeline.stages.inject import InjectError, inject_bodies
from pipeline.stages.validate import Rule, ValidateOptions, validate_bodies

MODULE = '''\
"""A module with stubs."""

import json
import subprocess as sp


def helper(value: str) -> str:
    print("pre-existing print: not the generated code's fault")
    return eval(value)


class Store:
    def load(self, path: str) -> dict[str, object]:
        """Load the store."""
        raise NotImplementedError

    def save(self, path: str, data: dict[str, object]) -> None:
        raise NotImplementedError

    def untyped(self, value):
        raise NotImplementedError


def run(command: str) -> int:
    ...
'''


def found(report: ValidationReport) -> set[tuple[str | None, str]]:
    return {(f.qualified_name, f.code) for f in report.findings}


def test_clean_bodies_pass_and_module_imports_count() -> None:
    bodies = {
        "Store.load": "with open(path) as handle:\n    return dict(json.load(handle))\n",
        "Store.save": "with open(path, 'w') as handle:\n    json.dump(data, handle)\n",
    }
    report = validate_bodies(MODULE, bodies)
    assert report.findings == []
    assert report.passed


def test_findings_are_mapped_to_lines_of_the_injected_module() -> None:
    bodies = {
        "Store.load": "data = json.loads(path)\nreturn dict(undefined_loader(data))\n",
        "run": "return sp.call(command, shell=True)\n",
    }
    report = validate_bodies(MODULE, bodies)
    injected = inject_bodies(MODULE, bodies)
    lines = injected.source.splitlines()
    by_code = {f.code: f for f in report.findings}

    undefined = by_code["F821"]
    assert undefined.qualified_name == "Store.load"
    assert undefined.severity is Severity.ERROR
    first, last = injected.body_lines["Store.load"]
    assert first <= undefined.line <= last
    assert "undefined_loader" in lines[undefined.line - 1]
    assert undefined.snippet == lines[undefined.line - 1].strip()

    shell = by_code["B602"]  # the module's `import subprocess as sp` resolves the alias
    assert shell.qualified_name == "run"
    assert shell.line == injected.body_lines["run"][0]


def test_problems_outside_the_bodies_are_not_reported() -> None:
    report = validate_bodies(MODULE, {"Store.save": "json.dump(data, open(path, 'w'))\n"})
    # helper's print and eval, the other stubs, the unused imports: not generated code
    assert report.findings == []


def test_unparsable_body_is_syn001_relative_to_the_body_and_not_injected() -> None:
    bodies = {
        "Store.load": "data = json.loads(path)\nreturn dict(data\n",
        "Store.save": "print(data)\n",
    }
    report = validate_bodies(MODULE, bodies)
    syntax = [f for f in report.findings if f.rule == "syntax"]
    assert [(f.qualified_name, f.code, f.severity) for f in syntax] == [
        ("Store.load", "SYN001", Severity.ERROR)
    ]
    assert syntax[0].line == 2
    assert ("Store.save", "HR002") in found(report)


def test_all_bodies_unparsable() -> None:
    report = validate_bodies(MODULE, {"run": "return (\n"})
    assert found(report) == {("run", "SYN001")}


def test_whole_def_body_checks_the_original_signature() -> None:
    whole = "def untyped(self, value: int) -> int:\n    return value + 1\n"
    report = validate_bodies(MODULE, {"Store.untyped": whole})
    hints = sorted((f.code, f.line, f.qualified_name) for f in report.findings)
    def_line = MODULE.splitlines().index("    def untyped(self, value):") + 1
    assert hints == [
        ("TH001", def_line, "Store.untyped"),
        ("TH002", def_line, "Store.untyped"),
    ]
    typed = validate_bodies(MODULE, {"Store.load": "def load(self, path):\n    return {}\n"})
    assert typed.findings == []


def test_house_rules_and_strict_mode_in_bodies() -> None:
    body = "if not path:\n    raise ValueError('no path')\nprint(path)\nreturn {}\n"
    report = validate_bodies(MODULE, {"Store.load": body})
    assert {(f.code, f.severity) for f in report.findings} == {
        ("HR001", Severity.WARNING),
        ("HR002", Severity.WARNING),
    }
    assert report.passed
    strict = validate_bodies(MODULE, {"Store.load": body}, ValidateOptions(strict=True))
    assert {f.severity for f in strict.findings} == {Severity.ERROR}
    assert not strict.passed


def test_unused_import_added_by_a_body_is_attributed_to_it() -> None:
    body = "import csv\nimport no_such_distribution_xyz\nreturn {}\n"
    report = validate_bodies(MODULE, {"Store.load": body}, ValidateOptions(rules={Rule.IMPORTS}))
    assert found(report) == {
        ("Store.load", "F401"),
        ("Store.load", "IMP001"),
    }


def test_import_added_by_a_body_may_be_used_by_it() -> None:
    body = "import csv\nreturn {'dialects': csv.list_dialects()}\n"
    assert validate_bodies(MODULE, {"Store.load": body}).findings == []


def test_rules_can_be_selected() -> None:
    body = "print(undefined_name)\nreturn eval(path)\n"
    only_security = validate_bodies(
        MODULE, {"Store.load": body}, ValidateOptions(rules={Rule.SECURITY})
    )
    assert {f.code for f in only_security.findings} == {"B307"}


def test_unknown_name_propagates_the_inject_error() -> None:
    with pytest.raises(InjectError) as raised:
        validate_bodies(MODULE, {"Store.nope": "return 1\n"})
    assert raised.value.code == InjectError.NAME_NOT_FOUND


def test_no_bodies_is_an_empty_report() -> None:
    assert validate_bodies(MODULE, {}).findings == []


def test_compile_errors_in_a_body_are_syn002() -> None:
    report = validate_bodies(MODULE, {"Store.load": "data = await fetch(path)\nreturn data\n"})
    syntax = [f for f in report.findings if f.rule == "syntax"]
    assert [(f.code, f.qualified_name) for f in syntax] == [("SYN002", "Store.load")]
    assert "await" in syntax[0].message


def test_nested_function_bodies_compile_in_their_enclosing_function() -> None:
    source = (
        "def outer() -> int:\n"
        "    count = 0\n"
        "    def inner() -> None:\n"
        "        raise NotImplementedError\n"
        "    inner()\n"
        "    return count\n"
    )
    body = "nonlocal count\ncount += 1\n"
    assert validate_bodies(source, {"outer.<locals>.inner": body}).findings == []


def test_imports_a_body_brings_are_checked_as_the_body_s() -> None:
    body = "import subprocess\nreturn subprocess.call(command, shell=True)\n"
    report = validate_bodies(MODULE, {"run": body}, ValidateOptions(rules={Rule.SECURITY}))
    assert {(f.code, f.qualified_name) for f in report.findings} == {
        ("B404", "run"),  # the import inject moved to the top of the module
        ("B602", "run"),
    }


def test_a_body_inject_rejects_becomes_syn001(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.stages.validate import validator

    calls: list[set[str]] = []

    def fussy_inject(source: str, bodies: dict[str, str], options: object = None) -> object:
        calls.append(set(bodies))
        if "Store.load" in bodies:
            raise InjectError(
                "does not parse",
                code=InjectError.BODY_SYNTAX_ERROR,
                qualified_name="Store.load",
                line=1,
                reason="a line is indented less than the first statement",
            )
        return inject_bodies(source, bodies)

    monkeypatch.setattr(validator, "inject_bodies", fussy_inject)
    bodies = {"Store.load": "return {}\n", "Store.save": "print(data)\n"}
    report = validate_bodies(MODULE, bodies)
    assert calls == [{"Store.load", "Store.save"}, {"Store.save"}]
    assert found(report) == {("Store.load", "SYN001"), ("Store.save", "HR002")}
    [syntax] = [f for f in report.findings if f.code == "SYN001"]
    assert syntax.snippet == "return {}"
    assert "indented less" in syntax.message
