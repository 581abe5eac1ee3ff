"""Record-level stage logic: one input record in, one output record out, no Kafka.

The Faust agents and the in-process runner both call these.
"""

from pipeline.processors.base import Measured, Processor, Routed
from pipeline.processors.registry import build_processor, build_processors

__all__ = ["Measured", "Processor", "Routed", "build_processor", "build_processors"]
