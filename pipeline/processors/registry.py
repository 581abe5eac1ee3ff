"""Building the processor of a stage from its spec and the settings."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any, cast

from pipeline.catalogue import STAGE_SPECS, StageSpec, stage_spec
from pipeline.processors.base import Processor
from pipeline.settings import Settings

ProcessorFactory = Callable[[Settings], Processor[Any, Any]]


def processor_class(spec: StageSpec) -> ProcessorFactory:
    """The class ``spec.processor`` names; every stage's processor is built from the settings."""
    module_name, _, class_name = spec.processor.partition(":")
    cls = getattr(import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, Processor)):
        raise TypeError(f"{spec.processor} (stage {spec.name!r}) is not a Processor")
    return cast(ProcessorFactory, cls)


def build_processor(stage: str | StageSpec, settings: Settings) -> Processor[Any, Any]:
    spec = stage if isinstance(stage, StageSpec) else stage_spec(stage)
    return processor_class(spec)(settings)


def build_processors(settings: Settings) -> dict[str, Processor[Any, Any]]:
    return {name: build_processor(spec, settings) for name, spec in STAGE_SPECS.items()}
