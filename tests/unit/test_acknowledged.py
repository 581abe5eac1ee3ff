"""A result is marked as delivered only once the broker has acknowledged it."""

from __future__ import annotations

import asyncio
import logging

import pytest

from pipeline.workers.stage_app import acknowledged


async def test_runs_once_the_send_succeeds() -> None:
    calls: list[str] = []
    sent: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    sent.add_done_callback(acknowledged(lambda: calls.append("delivered")))
    await asyncio.sleep(0)
    assert calls == []
    sent.set_result(object())
    await asyncio.sleep(0)
    assert calls == ["delivered"]


@pytest.mark.parametrize("ending", ["error", "cancelled"])
async def test_a_failed_or_cancelled_send_is_not_a_delivery(ending: str) -> None:
    calls: list[str] = []
    sent: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    sent.add_done_callback(acknowledged(lambda: calls.append("delivered")))
    if ending == "error":
        sent.set_exception(ConnectionError("broker gone"))
    else:
        sent.cancel()
    await asyncio.sleep(0)
    assert calls == []
    if ending == "error":
        with pytest.raises(ConnectionError):
            sent.result()


async def test_a_failing_mark_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise OSError("disk full")

    sent: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    sent.add_done_callback(acknowledged(broken))
    with caplog.at_level(logging.ERROR):
        sent.set_result(object())
        await asyncio.sleep(0)
    assert "could not record a delivery" in caplog.text
