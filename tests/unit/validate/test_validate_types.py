"""The ``types`` rule: ty's findings inside the generated bodies, and what happens when ty
cannot run."""

from __future__ import annotations

import os
import stat
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.models.findings import Finding, Severity
from pipeline.settings import Settings
from pipeline.stages.validate import (
    Rule,
    TypeCheckFailed,
    ValidateError,
    ValidateOptions,
    validate_bodies,
    validate_source,
)
from pipeline.stages.validate import types as types_rule
from pipeline.stages.validate.ty_server import TyServer, server_for

TYPES = ValidateOptions(rules={Rule.TYPES})

MODULE = textwrap.dedent(
    '''\
    from __future__ import annotations

    import json
    import httpx
    import pydantic
    import no_such_distribution
    from no_such_package.sub import helper
    from .sibling import neighbour


    class Account:
        """A bank account."""

        def __init__(self, owner: str) -> None:
            self.owner = owner
            self.balance = 0

        def deposit(self, amount: int) -> int:
            """Add to the balance."""
            raise NotImplementedError

        def label(self) -> str:
            raise NotImplementedError


    def total(accounts: list[Account]) -> int:
        raise NotImplementedError


    def broken_elsewhere() -> int:
        return "not an int"
    '''
)


def _types(bodies: dict[str, str], options: ValidateOptions = TYPES) -> list[Finding]:
    return validate_bodies(MODULE, bodies, options).findings


def _line_of(snippet: str, source: str) -> int:
    return next(n for n, line in enumerate(source.splitlines(), 1) if snippet in line)


def test_a_missing_attribute_is_an_error_in_its_body() -> None:
    findings = _types({"Account.deposit": "self.nope += amount\nreturn self.balance"})
    assert [(f.qualified_name, f.code, f.severity) for f in findings] == [
        ("Account.deposit", "TY-missing-attribute", Severity.ERROR)
    ]
    finding = findings[0]
    assert finding.rule == "types"
    assert "nope" in finding.message
    assert finding.snippet == "self.nope += amount"
    assert finding.suggestion


def test_a_wrong_return_type_is_an_error() -> None:
    findings = _types({"Account.label": "return self.balance"})
    assert [(f.qualified_name, f.code, f.severity) for f in findings] == [
        ("Account.label", "TY-invalid-explicit-return", Severity.ERROR)
    ]
    assert "str" in findings[0].message


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("self.deposit(1, 2)", "TY-too-many-positional-arguments"),
        ("self.deposit()", "TY-missing-argument"),
        ("self.deposit(amout=1)", "TY-unknown-argument"),
    ],
)
def test_a_call_with_the_wrong_arity_is_an_error(code: str, expected: str) -> None:
    findings = _types({"Account.label": f"str({code})\nreturn self.owner"})
    assert [(f.qualified_name, f.code) for f in findings if f.code == expected] == [
        ("Account.label", expected)
    ]
    assert all(f.severity is Severity.ERROR for f in findings)


def test_an_unresolved_name_is_an_error() -> None:
    findings = _types({"total": "return sum(a.balance for a in acounts)"})
    assert [(f.qualified_name, f.code) for f in findings] == [("total", "TY-unresolved-reference")]


def test_good_bodies_pass_without_a_finding_even_with_unresolvable_imports() -> None:
    bodies = {
        "Account.deposit": "self.balance += amount\nreturn self.balance",
        "Account.label": (
            "data = json.dumps({'owner': self.owner})\n"
            "client = httpx.Client()\n"
            "model = pydantic.BaseModel\n"
            "extra = no_such_distribution.thing(helper, neighbour).more\n"
            "return f'{data} {client} {model} {extra}'"
        ),
        "total": "return sum(account.balance for account in accounts)",
    }
    report = validate_bodies(MODULE, bodies, TYPES)
    assert report.findings == []
    # the error outside the bodies is there: only the bodies' findings count
    whole = validate_source(MODULE, TYPES).findings
    assert [(f.code, f.line) for f in whole] == [
        ("TY-invalid-explicit-return", _line_of('return "not an int"', MODULE))
    ]


def test_third_party_types_are_checked_when_they_resolve() -> None:
    findings = _types({"Account.label": "return httpx.NoSuchThing"})
    assert [(f.qualified_name, f.code) for f in findings] == [
        ("Account.label", "TY-missing-attribute")
    ]


def test_the_rules_of_the_warning_list_are_warnings() -> None:
    module = textwrap.dedent(
        """\
        class Box:
            def __init__(self) -> None:
                self.item = None

            def fill(self) -> None:
                self.item = "x"

            def size(self) -> int:
                raise NotImplementedError
        """
    )
    body = {"Box.size": "return len(self.item.strip())"}
    lenient = validate_bodies(module, body, TYPES).findings
    assert {(f.severity, f.rule) for f in lenient} == {(Severity.WARNING, "types")}
    strict = ValidateOptions(rules={Rule.TYPES}, types_warning_rules=frozenset())
    assert {f.severity for f in validate_bodies(module, body, strict).findings} == {Severity.ERROR}


def test_types_is_part_of_every_rule() -> None:
    report = validate_bodies(MODULE, {"Account.label": "return self.nope"})
    assert "TY-missing-attribute" in {f.code for f in report.findings}
    assert not report.passed


def test_settings_configure_the_rule(tmp_path: Path) -> None:
    settings = Settings(types_python="/opt/env/bin/python", types_warning_rules=["x-rule"])
    options = ValidateOptions.from_settings(settings)
    assert options.types_python == "/opt/env/bin/python"
    assert options.types_warning_rules == frozenset({"x-rule"})
    config = types_rule.config_text(options)
    assert 'python = "/opt/env/bin/python"' in config
    assert '"x-rule" = "warn"' in config
    assert '"import-not-found" = "ignore"' in config


# -- when ty cannot run --------------------------------------------------------------------


def _script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "fake-ty"
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_a_missing_ty_is_a_clear_stage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> str:
        raise ValidateError("the types rule needs ty", code="TY_UNAVAILABLE")

    monkeypatch.setattr(types_rule, "ty_binary", missing)
    with pytest.raises(ValidateError) as raised:
        validate_bodies(MODULE, {"Account.label": "return self.owner"}, TYPES)
    assert raised.value.code == "TY_UNAVAILABLE"


def test_a_server_that_exits_raises_a_transient_error(tmp_path: Path) -> None:
    server = TyServer(_script(tmp_path, "exit 3"), "", timeout=5.0)
    with pytest.raises(TypeCheckFailed, match="ty server"):
        server.diagnostics("x = 1\n")
    assert not isinstance(TypeCheckFailed("x"), ValidateError)  # the runner retries it


def test_a_server_that_hangs_is_killed_after_the_timeout(tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    server = TyServer(_script(tmp_path, f"echo $$ > {marker}\nexec sleep 60"), "", timeout=0.5)
    with pytest.raises(TypeCheckFailed, match="did not answer"):
        server.diagnostics("x = 1\n")
    pid = int(marker.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_server_that_died_is_started_again() -> None:
    options = TYPES
    server = server_for(types_rule.ty_binary(), types_rule.config_text(options), timeout=30.0)
    assert validate_source("x: int = 'a'\n", options).findings
    process = server._process
    assert process is not None
    process.kill()
    process.wait()
    findings = validate_source("x: int = 'a'\n", options).findings
    assert [f.code for f in findings] == ["TY-invalid-assignment"]


def test_the_command_line_runs_the_rule(tmp_path: Path) -> None:
    path = tmp_path / "bad.py"
    path.write_text("def f(x: int) -> str:\n    return x.nope\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path), "--rules", "types", "--json"])
    assert result.exit_code == 1, result.output
    assert "TY-missing-attribute" in result.output
    path.write_text("def f(x: int) -> str:\n    return str(x)\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path), "--rules", "types"])
    assert result.exit_code == 0, result.output


async def test_a_checker_outage_is_retried_then_fails_without_using_up_attempts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pipeline.models import ExtractionResult
    from pipeline.models.bodies import GeneratedBody
    from pipeline.processors.stages import ValidateProcessor
    from pipeline.records import CodeGenerated, GenerationRequest, RequestFailed, decode, encode
    from pipeline.workers.runner import StageRunner

    calls: list[str] = []

    def outage(source: object, options: object) -> list[Finding]:
        calls.append("ty")
        raise TypeCheckFailed("ty server exited during textDocument/diagnostic")

    monkeypatch.setattr(types_rule, "check", outage)
    request = GenerationRequest(request_id="r-ty", source=MODULE, output_path="bank.py")
    record = CodeGenerated(
        request_id="r-ty",
        submitted_at=request.submitted_at,
        request=request,
        extraction=ExtractionResult(),
        bodies=[GeneratedBody(qualified_name="Account.label", code="return self.owner")],
    )
    settings = Settings(processing_retries=2, max_attempts=3)
    out = await StageRunner(ValidateProcessor(settings), settings).handle(
        b"r-ty", encode(record), "generated[0]@0"
    )
    assert out[0].topic == "failed"  # not "repairs": the code was never judged
    failed = decode(RequestFailed, out[0].value)
    assert "ty server exited" in failed.message
    assert len(calls) == 2  # retried as a transient failure


def test_checks_from_many_threads_get_their_own_findings() -> None:
    from concurrent.futures import ThreadPoolExecutor

    bodies = [{"Account.label": f"return self.missing_{n}"} for n in range(8)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        reports = list(pool.map(lambda b: validate_bodies(MODULE, b, TYPES), bodies))
    for number, report in enumerate(reports):
        assert [f.message for f in report.findings] == [
            f"Object of type `Self@label` has no attribute `missing_{number}`"
        ]


def test_the_server_ends_when_the_process_that_started_it_is_killed(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    marker = tmp_path / "pid"
    script = (
        "import sys, time\n"
        "from pipeline.stages.validate import ValidateOptions, Rule, validate_source\n"
        "from pipeline.stages.validate.ty_server import server_pids\n"
        "validate_source('x = 1\\n', ValidateOptions(rules={Rule.TYPES}))\n"
        f"open({str(marker)!r}, 'w').write(str(server_pids()[0]))\n"
        "time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() or not marker.read_text():
            assert child.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        server = int(marker.read_text())
        os.kill(server, 0)  # running
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(server, 0)
        except ProcessLookupError:
            return
        # a zombie until its parent (init) reaps it: gone once its state is Z
        stat_file = Path(f"/proc/{server}/stat")
        if stat_file.exists() and stat_file.read_text().rpartition(")")[2].split()[0] == "Z":
            return
        time.sleep(0.05)
    os.kill(server, signal.SIGKILL)
    raise AssertionError("the ty server outlived the process that started it")


def test_a_python_environment_that_does_not_exist_is_a_clear_stage_error() -> None:
    options = ValidateOptions(rules={Rule.TYPES}, types_python="/no/such/env/bin/python")
    with pytest.raises(ValidateError) as raised:
        validate_source("x = 1\n", options)
    assert raised.value.code == "TY_PYTHON_NOT_FOUND"
    assert "CODEGEN_TYPES_PYTHON" in raised.value.message
