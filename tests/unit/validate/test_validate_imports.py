from __future__ import annotations

import subprocess
import sys
from unittest import mock

import pytest

from pipeline.models.findings import Severity
from pipeline.stages.validate import Rule, ValidateError

from .helpers import check


def imports(source: str) -> list[tuple[str, int]]:
    return [(f.code, f.line) for f in check(source, Rule.IMPORTS)]


def test_clean_module_has_no_findings() -> None:
    source = "import os\n\n\ndef f() -> str:\n    return os.sep\n"
    assert imports(source) == []


def test_undefined_name_is_an_error() -> None:
    [finding] = check("def f() -> int:\n    return missing_name + 1\n", Rule.IMPORTS)
    assert (finding.code, finding.line, finding.column) == ("F821", 2, 11)
    assert finding.severity is Severity.ERROR
    assert "missing_name" in finding.message
    assert finding.snippet == "return missing_name + 1"


def test_unused_import_and_variable_are_warnings_with_ruff_fix_as_suggestion() -> None:
    findings = check("import json\n\n\ndef f() -> None:\n    x = 1\n", Rule.IMPORTS)
    assert [(f.code, f.line, f.severity) for f in findings] == [
        ("F401", 1, Severity.WARNING),
        ("F841", 5, Severity.WARNING),
    ]
    assert "json" in (findings[0].suggestion or "")


def test_redefinition_and_names_in_all() -> None:
    source = (
        "import os\nimport os\n__all__ = ['nothing_here']\ndef f() -> None:\n    print(os.sep)\n"
    )
    assert imports(source) == [("F811", 2), ("F822", 3)]


def test_local_referenced_before_assignment() -> None:
    source = "x = 1\ndef f() -> int:\n    y = x\n    x = 2\n    return x + y\n"
    assert ("F823", 3) in imports(source)


def test_project_configuration_does_not_leak_in() -> None:
    # the project's own ruff config selects E501; --isolated must ignore it
    source = "def f() -> str:\n    return '" + "x" * 150 + "'\n"
    assert imports(source) == []


def test_unresolvable_import_is_imp001() -> None:
    source = (
        "import os.path\n"
        "import no_such_distribution_xyz.sub\n"
        "from also_missing_qq import thing\n"
        "from . import sibling\n"
        "from __future__ import annotations\n"
        "print(os.path, no_such_distribution_xyz, thing, sibling)\n"
    )
    findings = [f for f in check(source, Rule.IMPORTS) if f.code == "IMP001"]
    assert [(f.line, f.severity) for f in findings] == [
        (2, Severity.WARNING),
        (3, Severity.WARNING),
    ]
    assert "no_such_distribution_xyz" in findings[0].message
    assert "dependenc" in (findings[0].suggestion or "")


def test_optional_imports_guarded_by_import_error_are_not_flagged() -> None:
    source = (
        "try:\n"
        "    import no_such_distribution_xyz\n"
        "except ImportError:\n"
        "    no_such_distribution_xyz = None\n"
        "print(no_such_distribution_xyz)\n"
    )
    assert imports(source) == []


_RESOLVE_WITHOUT_IMPORTING = """
import sys
from pipeline.stages.validate.imports import is_resolvable
for name in ("antigravity", "tenacity"):
    assert name not in sys.modules, f"{name} imported before the check"
assert is_resolvable("antigravity")  # the standard library answers without a lookup
assert is_resolvable("tenacity")  # a third-party package, found by find_spec
assert not is_resolvable("no_such_distribution_xyz")
imported = [name for name in ("antigravity", "tenacity") if name in sys.modules]
assert not imported, f"resolving imported {imported}"
"""


def test_resolving_does_not_import_the_module() -> None:
    # A fresh interpreter: whatever other tests imported, both branches are checked.
    done = subprocess.run(
        [sys.executable, "-c", _RESOLVE_WITHOUT_IMPORTING],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_ruff_failure_is_a_validate_error() -> None:
    failed = subprocess.CompletedProcess(args=[], returncode=2, stdout=b"", stderr=b"boom")
    with (
        mock.patch("pipeline.stages.validate.imports.subprocess.run", return_value=failed),
        pytest.raises(ValidateError) as raised,
    ):
        check("x = 1\n", Rule.IMPORTS)
    assert raised.value.code == "RUFF_FAILED"
