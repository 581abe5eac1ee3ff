"""The app a stage's worker runs can produce to every topic its processor routes to.

A merge once dropped generate's route to ``repairs`` from its spec: the worker then had no
sink for it, each unusable reply crashed the handling, and only an integration test noticed.
Here a record is driven through the agent ``create_stage_app`` wires (its sinks, its runner,
its acks), with only Kafka's side replaced: the sinks record what is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, get_args, get_type_hints

import pytest

from pipeline.catalogue import REPAIRS, STAGE_SPECS, STAGES, StageSpec
from pipeline.processors import Processor
from pipeline.processors.base import Routed
from pipeline.processors.registry import processor_class
from pipeline.records import GenerationRequest, Record
from pipeline.settings import Settings
from pipeline.workers import stage_app
from pipeline.workers.stage_app import create_stage_app

PREFIX = "t."
ROUTING_TO_REPAIRS = ("generate", "validate", "verify")
"""Generate asks again for unusable replies; validate's and verify's findings go back."""


@dataclass
class Sink:
    name: str
    sent: list[tuple[bytes, bytes]] = field(default_factory=list)

    async def send(self, *, key: bytes, value: bytes) -> asyncio.Future[None]:
        self.sent.append((key, value))
        delivered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        delivered.set_result(None)
        return delivered


@dataclass
class Message:
    topic: str
    partition: int = 0
    offset: int = 0

    @property
    def tp(self) -> tuple[str, int]:
        return (self.topic, self.partition)


@dataclass
class Event:
    key: bytes
    value: bytes
    message: Message
    acked: bool = False

    def ack(self) -> None:
        self.acked = True


@dataclass
class Stream:
    pending: list[Event]

    def noack(self) -> Stream:
        return self

    async def events(self) -> AsyncIterator[Event]:
        for event in self.pending:
            yield event


@dataclass
class Worker:
    sinks: dict[str, Sink]
    crashes: list[BaseException]
    app: Any


def routing_to(spec: StageSpec, topic: str) -> Processor[Any, Any]:
    class Routing(Processor[GenerationRequest, GenerationRequest]):
        stage: ClassVar[str] = spec.name
        input_model: ClassVar[type[Record]] = GenerationRequest

        async def process(self, record: GenerationRequest) -> Routed:
            return Routed(topic, record)

    return Routing()


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``worker(stage, routes_to)``: the stage's app, its processor routing every record to
    ``routes_to``, after one record went through its agent."""

    async def run(stage: str, routes_to: str) -> Worker:
        sinks: dict[str, Sink] = {}
        monkeypatch.setattr(
            stage_app, "raw_topic", lambda app, name: sinks.setdefault(name, Sink(name))
        )
        monkeypatch.setattr(
            stage_app, "build_processor", lambda spec, settings: routing_to(spec, routes_to)
        )
        app = create_stage_app(stage, Settings(_env_file=None, topic_prefix=PREFIX))
        crashes: list[BaseException] = []

        async def crash(error: BaseException) -> None:
            crashes.append(error)

        monkeypatch.setattr(app, "crash", crash)
        request = GenerationRequest(request_id="r1", source="x = 1\n", output_path="x.py")
        event = Event(b"r1", request.model_dump_json().encode(), Message(f"{PREFIX}in"))
        [agent] = app.agents.values()
        await agent.fun(Stream([event]))
        await asyncio.sleep(0)  # a crash is a task of its own
        assert event.acked or crashes, "neither done nor crashed"
        return Worker(sinks, crashes, app)

    return run


@pytest.mark.parametrize("stage", ROUTING_TO_REPAIRS)
async def test_the_stage_app_produces_to_repairs(stage: str, worker: Any) -> None:
    running: Worker = await worker(stage, REPAIRS)
    assert running.crashes == []
    [(key, value)] = running.sinks[f"{PREFIX}{REPAIRS}"].sent
    assert key == b"r1" and GenerationRequest.model_validate_json(value).request_id == "r1"
    assert running.sinks[f"{PREFIX}metrics"].sent, "the retry is counted too"


def test_generate_consumes_the_repairs_it_is_sent() -> None:
    app = create_stage_app("generate", Settings(_env_file=None, topic_prefix=PREFIX))
    [agent] = app.agents.values()
    topics = set(agent.channel.topics)
    assert topics == {f"{PREFIX}stubs", f"{PREFIX}{REPAIRS}"}


async def test_a_route_the_spec_lacks_is_a_crash_not_a_silent_loss(worker: Any) -> None:
    """What the dropped route did: the check above would see it."""
    running: Worker = await worker("extract", REPAIRS)
    assert f"{PREFIX}{REPAIRS}" not in running.sinks
    assert [type(error) for error in running.crashes] == [KeyError]


@pytest.mark.parametrize("spec", STAGE_SPECS.values(), ids=STAGES)
def test_a_processor_that_may_route_has_its_routes_declared(spec: StageSpec) -> None:
    """A processor whose ``process`` may return ``Routed`` needs a route in its spec."""
    returns = get_type_hints(processor_class(spec).process)["return"]  # type: ignore[attr-defined]
    assert (Routed in get_args(returns)) == bool(spec.routed_outputs), spec.name
