"""The generate stage: a body for every stub."""

from pipeline.stages.generate.base import GenerateError, GenerationTask, Generator
from pipeline.stages.generate.openai import OpenAIGenerator
from pipeline.stages.generate.provided import ProvidedGenerator

__all__ = [
    "GenerateError",
    "GenerationTask",
    "Generator",
    "OpenAIGenerator",
    "ProvidedGenerator",
]
