"""From a run and the plugin's JSON lines to findings (rule ``tests``)."""

from __future__ import annotations

import json
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.models import Finding, Severity
from pipeline.stages.verify.options import Limits
from pipeline.stages.verify.runner import RunResult

RULE = "tests"
MESSAGE_LIMIT = 600
SNIPPET_LIMIT = 2000
OUTPUT_TAIL = 4000

# What an exception raised inside a test says about a limit of the sandbox.
LIMIT_ERRNOS = {11: "PROCESS_LIMIT", 27: "FILE_SIZE_LIMIT"}  # EAGAIN (fork), EFBIG


@dataclass(frozen=True)
class TestOutcome:
    nodeid: str
    when: str
    outcome: str
    exception: str | None = None
    message: str = ""
    frames: list[tuple[str, int, str]] = field(default_factory=list)
    longrepr: str = ""


@dataclass(frozen=True)
class PluginReport:
    outcomes: list[TestOutcome]
    exitstatus: int | None  # None when pytest did not reach the end of its session
    collected: int


def read_plugin_report(path: Path) -> PluginReport:
    outcomes: list[TestOutcome] = []
    exitstatus: int | None = None
    collected = 0
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            entry: dict[str, Any] = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict):
            continue
        if entry.get("when") == "session":
            exitstatus = _int(entry.get("exitstatus"))
            collected = _int(entry.get("collected")) or 0
            continue
        frames = [
            (str(f[0]), int(f[1]), str(f[2]))
            for f in entry.get("frames") or []
            if isinstance(f, list) and len(f) == 3 and isinstance(f[1], int)
        ]
        outcomes.append(
            TestOutcome(
                nodeid=str(entry.get("nodeid", "")),
                when=str(entry.get("when", "call")),
                outcome=str(entry.get("outcome", "failed")),
                exception=_str_or_none(entry.get("exception")),
                message=str(entry.get("message") or ""),
                frames=frames,
                longrepr=str(entry.get("longrepr") or ""),
            )
        )
    return PluginReport(outcomes, exitstatus, collected)


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) else None


def locate_body(
    frames: list[tuple[str, int, str]], module_file: str, body_lines: Mapping[str, tuple[int, int]]
) -> tuple[str | None, int]:
    """The generated body of the innermost frame inside one, with the frame's line; else no
    body and the line of the innermost frame in the module (0 when none is)."""
    in_module = [line for filename, line, _ in frames if filename == module_file]
    for line in reversed(in_module):
        for name, (first, last) in body_lines.items():
            if first <= line <= last:
                return name, line
    return None, in_module[-1] if in_module else 0


def outcome_code(outcome: TestOutcome) -> str:
    if outcome.when == "collect":
        return "TEST_COLLECTION_ERROR"
    if outcome.exception == "MemoryError":
        return "MEMORY_LIMIT"
    for errno, code in LIMIT_ERRNOS.items():
        if f"[Errno {errno}]" in outcome.message:
            return code
    return "TEST_FAILED" if outcome.when == "call" else "TEST_ERROR"


def outcome_findings(
    report: PluginReport, module_file: str, body_lines: Mapping[str, tuple[int, int]]
) -> list[Finding]:
    findings: list[Finding] = []
    for outcome in report.outcomes:
        if outcome.outcome != "failed":
            continue
        name, line = locate_body(outcome.frames, module_file, body_lines)
        code = outcome_code(outcome)
        findings.append(
            Finding(
                rule=RULE,
                code=code,
                severity=Severity.ERROR,
                line=line,
                message=_bounded(f"{outcome.nodeid}: {outcome.message}", MESSAGE_LIMIT),
                snippet=outcome.longrepr[-SNIPPET_LIMIT:],
                suggestion=_suggestion(code),
                qualified_name=name,
            )
        )
    return findings


def run_findings(
    run: RunResult, report: PluginReport, *, pytest: bool, limits: Limits
) -> list[Finding]:
    """What the run as a whole says (limits, crashes, a run that did not finish)."""
    tail = run_output_tail(run)
    if run.timed_out:
        text = f"the tests did not finish within {limits.wall_seconds:g} s and were killed"
        return [_run_finding("TIMEOUT", text, tail)]
    if run.output_exceeded:
        text = f"the tests printed more than {limits.output_bytes} bytes and were stopped"
        return [_run_finding("OUTPUT_LIMIT", text, tail)]
    number = run.signal
    if number == signal.SIGXCPU:
        text = f"the tests used up their {limits.cpu_seconds} s of CPU time and were killed"
        return [_run_finding("CPU_LIMIT", text, tail)]
    if number is not None:
        text = f"the test run was killed by {signal.Signals(number).name}"
        if number == signal.SIGKILL:
            text += " (past the CPU time limit, or out of memory)"
        return [_run_finding("CRASHED", text, tail)]
    if run.returncode == 0:
        if pytest and report.exitstatus is None:
            text = (
                "the test run exited with 0 but pytest did not finish its session "
                "(did the code under test end the process?)"
            )
            return [_run_finding("REPORT_MISSING", text, tail)]
        return []
    if pytest and report.exitstatus == 5:
        return [_run_finding("NO_TESTS", "pytest collected no tests", tail)]
    text = f"the test command exited with status {run.returncode}"
    return [_run_finding("TEST_RUN_FAILED", text, tail)]


def run_output_tail(run: RunResult) -> str:
    return run.output.decode("utf-8", "replace")[-OUTPUT_TAIL:]


def _run_finding(code: str, message: str, output: str) -> Finding:
    return Finding(
        rule=RULE,
        code=code,
        severity=Severity.ERROR,
        line=0,
        message=message,
        snippet=output[-SNIPPET_LIMIT:],
        suggestion=_suggestion(code),
    )


def _suggestion(code: str) -> str | None:
    return {
        "MEMORY_LIMIT": "allocate less memory (CODEGEN_VERIFY_MEMORY_BYTES)",
        "PROCESS_LIMIT": "start fewer processes (CODEGEN_VERIFY_MAX_PROCESSES)",
        "FILE_SIZE_LIMIT": "write smaller files (CODEGEN_VERIFY_MAX_FILE_BYTES)",
        "TIMEOUT": "make the code finish sooner, without endless loops (CODEGEN_VERIFY_TIMEOUT)",
        "CPU_LIMIT": "use less CPU time (CODEGEN_VERIFY_CPU_SECONDS)",
        "OUTPUT_LIMIT": "print less (CODEGEN_VERIFY_MAX_OUTPUT_BYTES)",
    }.get(code)


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
