"""Repeated library log lines, limited: once per interval, with a count of the rest.

With its broker gone, aiokafka's loops retry every 100 ms and log each failure
(``Connection refused``, ``NodeNotReadyError``, ``LeaveGroup request failed``): hundreds of
lines a second from one worker, fewer with the reconnect backoff
(``pipeline.workers.reconnect``) but still one per retry. The filter lets the first line of a
kind through in each interval and counts the others; the next one that passes says how many
were suppressed.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

#: Loggers whose repeats are limited (and their children).
LIMITED_LOGGERS = ("aiokafka", "faust", "kafka")
#: Kinds of line remembered at most; the least recent is forgotten first.
MAX_KINDS = 1024
_NUMBERS = re.compile(r"\d+")


@dataclass
class _Seen:
    passed_at: float
    suppressed: int = 0


class RepeatLimiter(logging.Filter):
    """A handler filter: of the lines from ``loggers`` alike but for their numbers (node ids,
    ports, offsets), one passes per ``interval`` seconds."""

    def __init__(
        self,
        interval: float,
        *,
        loggers: Iterable[str] = LIMITED_LOGGERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.interval = interval
        self.loggers = tuple(loggers)
        self._clock = clock
        self._seen: OrderedDict[tuple[str, int, str], _Seen] = OrderedDict()
        self._lock = threading.Lock()
        # One record goes to every handler: the same verdict for each.
        self._last: tuple[logging.LogRecord, bool] | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._limited(record.name):
            return True
        with self._lock:
            if self._last is not None and self._last[0] is record:
                return self._last[1]
            verdict = self._decide(record)
            self._last = (record, verdict)
            return verdict

    def _limited(self, name: str) -> bool:
        return any(name == prefix or name.startswith(prefix + ".") for prefix in self.loggers)

    def _decide(self, record: logging.LogRecord) -> bool:
        kind = (record.name, record.levelno, _NUMBERS.sub("#", str(record.msg)))
        now = self._clock()
        seen = self._seen.get(kind)
        if seen is not None and now - seen.passed_at < self.interval:
            seen.suppressed += 1
            return False
        if seen is not None and seen.suppressed:
            # Appended to the template: no % in it, so the record's own arguments still fit.
            record.msg = (
                f"{record.msg} [{seen.suppressed} more like this suppressed in the last "
                f"{now - seen.passed_at:.0f} s]"
            )
        self._seen[kind] = _Seen(passed_at=now)
        self._seen.move_to_end(kind)
        while len(self._seen) > MAX_KINDS:
            self._seen.popitem(last=False)
        return True


def limit_repeats(handlers: Iterable[logging.Handler], interval: float) -> RepeatLimiter | None:
    """Put one :class:`RepeatLimiter` on every handler (none when ``interval`` is 0)."""
    if interval <= 0:
        return None
    limiter = RepeatLimiter(interval)
    for handler in handlers:
        handler.addFilter(limiter)
    return limiter
