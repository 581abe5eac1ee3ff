"""Run a request's tests against its filled module in the sandbox and report the outcome."""

from __future__ import annotations

import hashlib
import json
import shlex
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pipeline.models import VerificationReport
from pipeline.stages.verify.errors import VerifyError
from pipeline.stages.verify.options import DEFAULT_TEST_COMMAND, SandboxOptions
from pipeline.stages.verify.report import (
    outcome_findings,
    read_plugin_report,
    run_findings,
    run_output_tail,
)
from pipeline.stages.verify.runner import (
    REPORT_NAME,
    plugin_path,
    resolve_sandbox,
    run_sandboxed,
)
from pipeline.stages.verify.workspace import lay_out, relative_path

PLUGIN_MODULE = "codegen_verify_report"
IMPORT_CHECK = "codegen_import_check.py"


@dataclass(frozen=True)
class VerifyTask:
    """A filled module and what to check it with."""

    source: str
    module_path: str
    tests: Mapping[str, str] = field(default_factory=dict)
    support_files: Mapping[str, str] = field(default_factory=dict)
    test_command: str | None = None
    body_lines: Mapping[str, tuple[int, int]] = field(default_factory=dict)


def verify_module(task: VerifyTask, options: SandboxOptions) -> VerificationReport:
    """Run the tests (or, without tests, import the module) in the sandbox.

    Raises ``VerifyError``: SANDBOX_UNAVAILABLE, BAD_TEST_PATH, BAD_TEST_COMMAND.
    """
    module = relative_path(task.module_path, "module").as_posix()
    bwrap = resolve_sandbox(options)
    sandboxed = bwrap is not None
    command, is_pytest = test_command(task, module, options, sandboxed=sandboxed)
    with tempfile.TemporaryDirectory(prefix="codegen-verify-", ignore_cleanup_errors=True) as tmp:
        workdir = Path(tmp)
        lay_out(workdir, module, task.source, {**task.support_files, **task.tests})
        module_dir = PurePosixPath(module).parent.as_posix()
        run = run_sandboxed(
            command,
            workdir,
            options,
            bwrap=bwrap,
            module_dir="" if module_dir == "." else module_dir,
        )
        report = read_plugin_report(workdir / REPORT_NAME)
    module_file = f"{run.workspace}/{module}"
    findings = outcome_findings(report, module_file, task.body_lines)
    if not findings or run.timed_out or run.output_exceeded or run.signal is not None:
        findings += run_findings(run, report, pytest=is_pytest, limits=options.limits)
    # Without tests the import check runs: it counts no tests.
    counted = [
        o for o in report.outcomes if task.tests and (o.when == "call" or o.outcome == "failed")
    ]
    return VerificationReport(
        sandboxed=sandboxed,
        command=command,
        tests_collected=report.collected if is_pytest else len(counted),
        tests_passed=sum(o.outcome == "passed" for o in counted),
        tests_failed=sum(o.outcome == "failed" for o in counted),
        tests_skipped=sum(o.outcome == "skipped" for o in counted),
        seconds=round(run.seconds, 4),
        findings=findings,
        output=run_output_tail(run),
    )


def task_key(task: VerifyTask, options: SandboxOptions) -> str:
    """What decides a verdict: the module's text and file name, the tests, the support files,
    the command and the sandbox's settings (not the folders the module is stored under)."""
    document = {
        "source": task.source,
        "name": PurePosixPath(task.module_path).name,
        "tests": sorted(task.tests.items()),
        "support": sorted(task.support_files.items()),
        "command": task.test_command,
        "options": repr(options),
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def test_command(
    task: VerifyTask, module: str, options: SandboxOptions, *, sandboxed: bool
) -> tuple[list[str], bool]:
    """The command run inside, and whether it is pytest (then the report plugin is loaded)."""
    plugins = plugin_path(sandboxed)
    if not task.tests:
        return [options.python, f"{plugins}/{IMPORT_CHECK}", module], False
    try:
        words = shlex.split(task.test_command or DEFAULT_TEST_COMMAND)
    except ValueError as error:
        raise VerifyError(
            f"the test command cannot be split into words: {error}",
            code=VerifyError.BAD_TEST_COMMAND,
        ) from None
    if not words:
        raise VerifyError("the test command is empty", code=VerifyError.BAD_TEST_COMMAND)
    if words[0] in ("python", "python3"):
        words[0] = options.python
    if words[1:3] == ["-m", "pytest"]:
        position = 3
    elif Path(words[0]).name in ("pytest", "py.test"):
        position = 1
    else:
        return words, False
    extra = ["-p", PLUGIN_MODULE, "-p", "no:cacheprovider", "--rootdir", "."]
    words[position:position] = extra
    return words, True
