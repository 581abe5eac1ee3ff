"""The cyclic garbage collector paused for the length of one stage call.

A stage builds large trees of short-lived objects (``ast``, libcst, bandit's linked nodes);
with the collector on, each full collection while they are alive traverses all of them, so
the collections' cost grows faster than the module. Nearly all of those objects are freed by
reference counting when the call returns; what is left in cycles waits for the next
collection after it.

The collector's switch is global to the process while stage calls may nest and run in two
threads at once (large sources are offloaded to a thread), so the calls share one count: the
first to enter disables the collector, the last to leave enables it again, and only if it was
enabled when the first entered.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_active = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block (also usable as a decorator)."""
    global _active, _was_enabled
    with _lock:
        if _active == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _was_enabled:
                gc.enable()
