"""A pytest plugin loaded inside the sandbox: one JSON line per test outcome, with the frames
of the failure's traceback, so nothing has to be read back out of pytest's text output."""

from __future__ import annotations

import json
import os
import traceback
from typing import Any

import pytest

LONGREPR_LIMIT = 4000


def emit(entry: dict[str, Any]) -> None:
    path = os.environ.get("CODEGEN_VERIFY_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")


def frames_of(excinfo: pytest.ExceptionInfo[BaseException] | None) -> list[list[Any]]:
    if excinfo is None:
        return []
    return [[f.filename, f.lineno, f.name] for f in traceback.extract_tb(excinfo.tb)]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" and report.passed:
        return
    if report.when != "call" and report.skipped:
        return
    failed = report.failed
    emit(
        {
            "nodeid": report.nodeid,
            "when": report.when,
            "outcome": report.outcome,
            "exception": call.excinfo.typename if failed and call.excinfo else None,
            "message": call.excinfo.exconly() if failed and call.excinfo else "",
            "frames": frames_of(call.excinfo) if failed else [],
            "longrepr": report.longreprtext[-LONGREPR_LIMIT:] if failed else "",
        }
    )


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        text = report.longreprtext
        lines = [line for line in text.splitlines() if line.strip()]
        emit(
            {
                "nodeid": report.nodeid,
                "when": "collect",
                "outcome": "failed",
                "exception": None,
                "message": lines[-1] if lines else "collection failed",
                "frames": [],
                "longrepr": text[-LONGREPR_LIMIT:],
            }
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    emit({"when": "session", "exitstatus": int(exitstatus), "collected": session.testscollected})
