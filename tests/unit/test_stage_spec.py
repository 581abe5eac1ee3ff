"""One StageSpec per stage: the worker, the runner, the CLI, the supervisor and the catalogue
follow it, so a new stage is one declaration and one package."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from pipeline import catalogue
from pipeline.catalogue import STAGE_SPECS, STAGES, StageSpec
from pipeline.cli import run_cmd
from pipeline.cli.main import app as cli
from pipeline.processors import Processor, build_processor
from pipeline.processors.registry import processor_class
from pipeline.records import CodeInjected, CodeVerified, Record
from pipeline.settings import Settings
from pipeline.workers import main
from pipeline.workers.runner import StageRunner
from pipeline.workers.stage_app import create_stage_app
from pipeline.workers.supervisor import Supervisor, parse_counts

README = Path(__file__).resolve().parents[2] / "README.md"


class AuditProcessor(Processor[CodeInjected, CodeVerified]):
    """A stage that is in no package of the project: only its spec declares it."""

    stage: ClassVar[str] = "audit"
    input_model: ClassVar[type[Record]] = CodeInjected

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def process(self, record: CodeInjected) -> CodeVerified:
        raise NotImplementedError


AUDIT = StageSpec(
    "audit",
    "injected",
    "verified",
    f"{__name__}:AuditProcessor",
    routed_outputs=("repairs",),
    concurrency_setting="generate_concurrency",
)


@pytest.fixture
def audit_stage(monkeypatch: pytest.MonkeyPatch) -> StageSpec:
    monkeypatch.setitem(catalogue.STAGE_SPECS, AUDIT.name, AUDIT)
    return AUDIT


def test_a_new_stage_is_wired_from_its_spec_alone(audit_stage: StageSpec) -> None:
    settings = Settings(_env_file=None, topic_prefix="t.", generate_concurrency=7)
    processor = build_processor("audit", settings)
    assert isinstance(processor, AuditProcessor)
    runner = StageRunner(processor, settings)
    assert runner.output_topic == "verified" and not runner.terminal
    assert audit_stage.concurrency(settings) == 7

    app = create_stage_app("audit", settings)
    assert app.conf.id == "t.audit"
    [agent] = app.agents.values()
    assert set(agent.channel.topics) == {"t.injected"}  # type: ignore[attr-defined]
    assert audit_stage.outputs == ("verified", "repairs", "failed", "metrics")
    assert audit_stage.outcome("repairs") == "retry" and audit_stage.outcome("verified") == "ok"

    stages = [row["stage"] for row in catalogue.catalogue_document()["stages"]]
    assert stages[-1] == "audit"


def test_the_cli_and_the_supervisor_know_a_new_stage(
    audit_stage: StageSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "audit" in catalogue.worker_names()
    assert parse_counts(["audit=3"])["audit"] == 3
    assert Supervisor().counts["audit"] == 1
    started: list[str] = []
    monkeypatch.setattr(run_cmd, "wait_for_broker", lambda settings: None)
    monkeypatch.setattr(main, "run_worker", lambda name, settings, **kw: started.append(name))
    result = CliRunner().invoke(cli, ["worker", "audit"])
    assert result.exit_code == 0, result.output
    assert started == ["audit"]


def test_an_unknown_stage_is_refused_with_the_list() -> None:
    result = CliRunner().invoke(cli, ["worker", "audit"])
    assert result.exit_code == 2
    assert "unknown worker 'audit'" in result.output
    with pytest.raises(ValueError, match="stages: extract, generate"):
        create_stage_app("audit", Settings(_env_file=None))


@pytest.mark.parametrize("spec", STAGE_SPECS.values(), ids=STAGES)
def test_each_spec_names_its_own_processor(spec: StageSpec) -> None:
    cls: Any = processor_class(spec)
    assert cls.stage == spec.name
    for topic in spec.inputs:
        assert catalogue.TOPICS[topic].value_model is cls.input_model, topic
    assert set(spec.outputs) <= catalogue.TOPICS.keys()
    assert isinstance(getattr(Settings(_env_file=None), spec.concurrency_setting), int)


def test_a_spec_that_names_no_processor_is_refused() -> None:
    bad = StageSpec("bad", "injected", "verified", "pipeline.settings:Settings")
    with pytest.raises(TypeError, match="is not a Processor"):
        processor_class(bad)


def test_the_chain_is_connected_and_ends_in_one_terminal_stage() -> None:
    specs = list(STAGE_SPECS.values())
    for before, after in itertools.pairwise(specs):
        assert after.input == before.output, (before.name, after.name)
    assert [s.name for s in specs if s.ends_requests] == [specs[-1].name]


def test_the_readme_lists_the_stages_in_order() -> None:
    rows = re.findall(r"^\| (\w+) \| ", README.read_text(encoding="utf-8"), re.MULTILINE)
    listed = [row for row in rows if row in STAGE_SPECS]
    assert listed[: len(STAGES)] == list(STAGES)
