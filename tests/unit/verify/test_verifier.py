"""The verify stage's logic on its own: outcomes, findings tied to bodies, refusals."""

from __future__ import annotations

import tempfile
import venv
from pathlib import Path

import pytest

from pipeline.stages.verify import SandboxOptions, VerifyError, VerifyTask, verify_module
from tests.unit.verify.helpers import SMALL, SMALL_LIMITS, codes, every_body, run_module

MODULE = """
def add(a: int, b: int) -> int:
    total = a
    total -= b
    return total


def halve(n: int) -> int:
    return n // 0


def double(n: int) -> int:
    return n * 2
"""

TESTS = """
from calc import add, double, halve

def test_add():
    assert add(2, 3) == 5

def test_double():
    assert double(4) == 8

def test_halve():
    assert halve(4) == 2
"""


def test_passing_tests_are_counted() -> None:
    report = run_module(
        "def double(n):\n    return n * 2\n",
        "from calc import double\n\ndef test_a():\n    assert double(2) == 4\n"
        "\ndef test_b():\n    assert double(0) == 0\n",
        module_path="calc.py",
    )
    assert report.passed and report.sandboxed
    assert (report.tests_collected, report.tests_passed, report.tests_failed) == (2, 2, 0)
    assert report.seconds > 0


def test_a_traceback_through_a_body_names_that_body() -> None:
    report = run_module(MODULE, TESTS, module_path="calc.py", test_command="python -m pytest -q")
    by_test = {f.message.split(": ")[0]: f for f in report.findings}
    halve = by_test["tests/test_attack.py::test_halve"]
    assert halve.code == "TEST_FAILED" and halve.qualified_name == "halve"
    assert halve.line == 9 and "ZeroDivisionError" in halve.message
    add = by_test["tests/test_attack.py::test_add"]
    assert add.qualified_name is None, "the wrong value is seen only in the test"
    assert "assert -1 == 5" in add.message and "add(2, 3)" in add.snippet
    assert (report.tests_passed, report.tests_failed) == (1, 2)


def test_without_tests_the_module_is_imported_in_the_sandbox() -> None:
    good = verify_module(VerifyTask(source="X = 1\n", module_path="pkg/mod.py"), SMALL)
    assert good.passed and good.tests_collected == 0
    dataclass = "from dataclasses import dataclass\n\n@dataclass\nclass A:\n    x: int = 1\n"
    assert verify_module(VerifyTask(source=dataclass, module_path="seed/0/a-b.py"), SMALL).passed
    source = "def f():\n    return 1\n\nraise RuntimeError('at import')\n"
    bad = verify_module(
        VerifyTask(source=source, module_path="pkg/mod.py", body_lines=every_body(source)), SMALL
    )
    assert codes(bad) == ["TEST_FAILED"]
    assert "RuntimeError: at import" in bad.findings[0].message


def test_a_collection_error_is_a_finding() -> None:
    report = run_module("def f():\n    return 1\n", "from attack import missing\n")
    assert codes(report) == ["TEST_COLLECTION_ERROR"]
    assert "ImportError" in report.findings[0].message


def test_ending_the_process_with_success_is_not_a_pass() -> None:
    report = run_module(
        "import os\n\ndef attack():\n    os._exit(0)\n",
        "from attack import attack\n\ndef test_attack():\n    attack()\n",
    )
    assert codes(report) == ["REPORT_MISSING"]


def test_another_test_command_is_judged_by_its_exit_status() -> None:
    module = "def double(n):\n    return n * 3\n"
    test = (
        "import unittest\nfrom calc import double\n\n"
        "class T(unittest.TestCase):\n    def test_double(self):\n"
        "        self.assertEqual(double(2), 4)\n"
    )
    report = run_module(
        module, test, module_path="calc.py", test_command="python -m unittest discover -s tests"
    )
    assert codes(report) == ["TEST_RUN_FAILED"]
    assert "AssertionError: 6 != 4" in report.findings[0].snippet


def test_support_files_are_importable() -> None:
    task = VerifyTask(
        source="from helpers import base\n\ndef f():\n    return base() + 1\n",
        module_path="calc.py",
        tests={"tests/test_calc.py": "from calc import f\n\ndef test_f():\n    assert f() == 2\n"},
        support_files={"helpers.py": "def base():\n    return 1\n"},
    )
    assert verify_module(task, SMALL).passed


@pytest.mark.parametrize("path", ["/etc/x.py", "../x.py", "tests/../../x.py", ".codegen-x"])
def test_paths_leaving_the_work_directory_are_refused(path: str) -> None:
    task = VerifyTask(source="", module_path="m.py", tests={path: ""})
    with pytest.raises(VerifyError) as caught:
        verify_module(task, SMALL)
    assert caught.value.code == "BAD_TEST_PATH"


def test_no_sandbox_means_a_refusal_not_an_unsandboxed_run(tmp_path: object) -> None:
    options = SandboxOptions(limits=SMALL_LIMITS, bwrap="/nonexistent/bwrap")
    with pytest.raises(VerifyError) as caught:
        verify_module(VerifyTask(source="X = 1\n", module_path="m.py"), options)
    assert caught.value.code == "SANDBOX_UNAVAILABLE"
    assert "CODEGEN_VERIFY_ALLOW_UNSANDBOXED" in caught.value.message


def test_running_unsandboxed_only_when_allowed() -> None:
    options = SandboxOptions(
        limits=SMALL_LIMITS, bwrap="/nonexistent/bwrap", allow_unsandboxed=True
    )
    report = verify_module(
        VerifyTask(
            source="def f():\n    return 2\n",
            module_path="m.py",
            tests={"tests/test_m.py": "from m import f\n\ndef test_f():\n    assert f() == 2\n"},
        ),
        options,
    )
    assert report.passed and not report.sandboxed


def test_an_interpreter_under_tmp_is_seen_inside_the_sandbox() -> None:
    """The sandbox's /tmp is private; a venv in a checkout under /tmp must still be bound."""
    with tempfile.TemporaryDirectory(prefix="codegen-venv-", dir="/tmp") as directory:
        venv.create(directory, with_pip=False, symlinks=True)
        python = str(Path(directory) / "bin" / "python")
        options = SandboxOptions(limits=SMALL_LIMITS, python=python)
        report = verify_module(VerifyTask(source="X = 1\n", module_path="m.py"), options)
    assert report.passed and report.sandboxed


def test_a_module_under_a_package_named_like_a_loaded_module_is_still_imported() -> None:
    """``types`` is loaded before any code runs, so ``types.ports`` cannot be imported by name:
    the file is loaded on its own, and what it raises is still reported."""
    dataclass = "from dataclasses import dataclass\n\n@dataclass\nclass Port:\n    n: int = 1\n"
    good = verify_module(VerifyTask(source=dataclass, module_path="types/ports.py"), SMALL)
    assert good.passed, good.findings
    shadowing = "import os\n\nX = os.sep\n"
    assert verify_module(VerifyTask(source=shadowing, module_path="os/os.py"), SMALL).passed
    source = "def f():\n    return 1\n\nraise RuntimeError('at import')\n"
    task = VerifyTask(source=source, module_path="types/bad.py", body_lines=every_body(source))
    bad = verify_module(task, SMALL)
    assert codes(bad) == ["TEST_FAILED"] and "RuntimeError: at import" in bad.findings[0].message
