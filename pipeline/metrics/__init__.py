"""Pure metrics aggregation: sketches, event-time windows, window states and the reducer.

No I/O and no clock reads: the stream layer feeds events and stores states; everything here is
deterministic in the events it is given.
"""

from pipeline.metrics.intents import (
    ALERT_PRIORITY,
    FAILURE_RATE,
    INTENT_NAMESPACE,
    P95_LATENCY,
    PERSIST_PRIORITY,
    PUBLISH_PRIORITY,
    intent_id,
)
from pipeline.metrics.reducer import (
    MetricsConfig,
    MetricsReducer,
    ReduceResult,
    advance_watermark,
    closed_windows,
    is_closed,
)
from pipeline.metrics.sketch import ALPHA, LatencySketch
from pipeline.metrics.state import WindowState, fold, fold_all, merge, prepare
from pipeline.metrics.windows import Window, WindowKey, WindowKind, window_for

__all__ = [
    "ALERT_PRIORITY",
    "ALPHA",
    "FAILURE_RATE",
    "INTENT_NAMESPACE",
    "P95_LATENCY",
    "PERSIST_PRIORITY",
    "PUBLISH_PRIORITY",
    "LatencySketch",
    "MetricsConfig",
    "MetricsReducer",
    "ReduceResult",
    "Window",
    "WindowKey",
    "WindowKind",
    "WindowState",
    "advance_watermark",
    "closed_windows",
    "fold",
    "fold_all",
    "intent_id",
    "is_closed",
    "merge",
    "prepare",
    "window_for",
]
