"""Stage work on a large source runs in a thread, so the worker's event loop stays responsive.

The workers consume on their event loop (``pipeline.workers.loop_consumer``). Checking or
rewriting a module of a megabyte takes seconds (validate: about 17 s for 1 MiB and 5,800
stubs); run inline, that would hold up heartbeats and every other record of the worker for
as long. Small sources, nearly all of them, run inline: a thread hand-off would cost more
than their work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

INLINE_LIMIT_CHARS = 64 * 1024


async def run_stage_work(source: str, work: Callable[[], T]) -> T:
    """``work()`` inline when ``source`` is small, else in a thread of the default executor."""
    if len(source) <= INLINE_LIMIT_CHARS:
        return work()
    return await asyncio.to_thread(work)
