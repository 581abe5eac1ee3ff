"""Guards for every place the workers reach into Faust's or mode's private API (README,
"Where we reach into Faust"): each fails when the upstream hook is renamed, changes its
signature or is no longer called, so an upgrade cannot turn an override into dead code."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import faust
import mode
import pytest
from faust.streams import Stream, current_event
from faust.transport.consumer import Consumer, ThreadDelegateConsumer
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, Producer
from mode.threads import QueueServiceThread, ServiceThread

from pipeline.settings import Settings
from pipeline.workers.delivery import QuickDeliveryConsumer
from pipeline.workers.faust_app import new_app
from pipeline.workers.loop_consumer import LoopConsumerThread, LoopWorker
from pipeline.workers.producer import DurableProducer


def parameters(function: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(function).parameters)


def calls(function: Callable[..., Any], call: str) -> bool:
    """Whether ``function``'s source (whitespace removed) contains ``call``."""
    source = "".join(inspect.getsource(function).split())
    return "".join(call.split()) in source


@pytest.fixture
def app() -> faust.App:
    return new_app("hooks-test", Settings(_env_file=None, bootstrap_servers="127.0.0.1:1"))


# -- loop_consumer.py: the aiokafka client on the worker's loop -----------------------------


def test_faust_builds_its_consumer_thread_through_the_hook_we_override(app: faust.App) -> None:
    assert parameters(ThreadDelegateConsumer._new_consumer_thread) == ["self"]
    assert calls(ThreadDelegateConsumer.__init__, "self._thread = self._new_consumer_thread()")
    thread = app.consumer._thread  # not started: nothing connects
    assert isinstance(thread, LoopConsumerThread)
    assert thread.thread_loop is thread.parent_loop


def test_mode_starts_and_serves_its_thread_through_the_hooks_we_replace() -> None:
    assert ServiceThread.Worker is mode.threads.WorkerThread
    assert LoopConsumerThread.Worker is LoopWorker
    assert calls(ServiceThread.start, "self._thread = self.Worker(self)")
    assert calls(ServiceThread._start_thread, "self.thread_loop.run_until_complete(self._serve())")
    assert parameters(ServiceThread._serve) == ["self"]
    assert "thread_loop" in parameters(ServiceThread.__init__)
    # LoopConsumerThread.stop reads these two.
    assert "self._started" in inspect.getsource(mode.Service)
    assert "_thread" in ServiceThread.__annotations__


def test_mode_runs_the_keepalive_and_the_sweep_we_turn_off() -> None:
    assert calls(ServiceThread.start, "self.add_future(self._keepalive2())")
    assert calls(ServiceThread._serve, "await self._gather_remaining_tasks()")
    for name in ("_keepalive2", "_gather_remaining_tasks"):
        upstream = getattr(ServiceThread, name)
        assert inspect.iscoroutinefunction(upstream) and parameters(upstream) == ["self"]
        assert getattr(LoopConsumerThread, name) is not upstream


def test_faust_reaches_its_client_through_call_thread() -> None:
    assert "fun" in parameters(QueueServiceThread.call_thread)
    assert calls(AIOKafkaConsumerThread.getmany, "await self.call_thread(")


async def test_our_keepalive_and_sweep_leave_the_loop_alone(app: faust.App) -> None:
    thread = app.consumer._thread
    bystander = asyncio.ensure_future(asyncio.sleep(3600))
    await thread._keepalive2()
    await thread._gather_remaining_tasks()
    assert not bystander.done()
    bystander.cancel()


# -- delivery.py: one task per delivered message --------------------------------------------


def test_faust_delivers_each_message_with_the_wait_first_we_recognise(app: faust.App) -> None:
    assert calls(
        Consumer._drain_messages,
        "await self.wait_first(callback(message), self.suspend_flow.wait())",
    )
    assert calls(Consumer.stop_flow, "self.suspend_flow.set()")
    assert parameters(mode.Service.wait_first) == ["self", "coros", "timeout"]
    assert isinstance(app.consumer, QuickDeliveryConsumer)


async def test_the_quick_path_is_taken_for_that_call(app: faust.App) -> None:
    consumer = app.consumer
    assert isinstance(consumer, QuickDeliveryConsumer)

    async def deliver() -> str:
        return "delivered"

    await consumer.wait_first(deliver(), consumer.suspend_flow.wait())
    assert consumer.quick_deliveries == 1
    await consumer.wait_first(deliver(), asyncio.sleep(0))  # any other call: mode's path
    assert consumer.quick_deliveries == 1


# -- producer.py: idempotence outside transactions ------------------------------------------


def test_faust_builds_its_producer_with_the_extra_settings_we_extend(app: faust.App) -> None:
    assert parameters(Producer._settings_extra) == ["self"]
    assert calls(Producer._new_producer, "**self._settings_extra()")
    assert isinstance(app.producer, DurableProducer)
    assert app.producer._settings_extra()["enable_idempotence"] is True


# -- metrics_app.py: a current event for the table writes of a batch ------------------------


def test_table_writes_read_the_current_event_we_set(
    app: faust.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert parameters(Stream._set_current_event) == ["self", "event"]
    table = app.Table("hooks-test-table", default=dict, partitions=1)
    # Compares the partitions of the event's topic with the broker's metadata: none here.
    monkeypatch.setattr(table, "_verify_source_topic_partitions", lambda topic: None)
    with pytest.raises(TypeError, match="outside of stream iteration"):
        table.partition_for_key("all")  # what a write does first
    stream = app.stream(app.channel())
    stream._set_current_event(FakeEvent(partition=3))
    assert table.partition_for_key("all") == 3


class FakeEvent:
    """Weak-referenceable, as Faust's events are; only its partition is read."""

    def __init__(self, partition: int) -> None:
        self.message = SimpleNamespace(topic="t", partition=partition)


def test_setting_the_current_event_is_what_faust_sees(app: faust.App) -> None:
    stream = app.stream(app.channel())
    event = FakeEvent(partition=0)
    stream._set_current_event(event)
    assert current_event() is event


# -- faust_app.py and main.py: public hooks, listed for completeness --------------------------


def test_the_public_hooks_we_override_are_still_called() -> None:
    assert calls(mode.Service.stop, "await self.on_stop()")
    assert calls(faust.Worker.__init__, "self.spinner = terminal.Spinner(")
    assert calls(faust.Worker._flag_as_shutdown_by_signal, "if self.spinner:")
    assert {"Consumer", "Producer"} <= set(vars(faust.transport.drivers.aiokafka.Transport))
