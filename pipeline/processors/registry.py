"""Building the processor of a stage from the settings."""

from __future__ import annotations

from typing import Any

from pipeline.catalogue import STAGES
from pipeline.processors.base import Processor
from pipeline.settings import Settings


def build_processor(stage: str, settings: Settings) -> Processor[Any, Any]:
    from pipeline.processors import stages

    builders: dict[str, Any] = {
        "extract": lambda: stages.ExtractProcessor(settings),
        "generate": lambda: stages.GenerateProcessor(settings),
        "validate": lambda: stages.ValidateProcessor(settings),
        "inject": lambda: stages.InjectProcessor(settings),
        "verify": lambda: stages.VerifyProcessor(settings),
        "store": lambda: stages.StoreProcessor(settings),
    }
    if stage not in builders:
        raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
    processor: Processor[Any, Any] = builders[stage]()
    return processor


def build_processors(settings: Settings) -> dict[str, Processor[Any, Any]]:
    return {stage: build_processor(stage, settings) for stage in STAGES}
