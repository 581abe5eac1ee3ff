"""The extract stage's processor: a request's limits and output path checked, its stubs found."""

from __future__ import annotations

from functools import partial
from pathlib import PurePosixPath
from typing import ClassVar

from pipeline.errors import StageError
from pipeline.records import GenerationRequest, Record, StubsExtracted
from pipeline.settings import Settings
from pipeline.stages.extract import ExtractOptions, extract_stubs
from pipeline.stages.store import check_path

from .base import Measured, Processor, carried
from .offload import run_stage_work


class ExtractProcessor(Processor[GenerationRequest, StubsExtracted]):
    stage: ClassVar[str] = "extract"
    input_model: ClassVar[type[Record]] = GenerationRequest

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def process(self, record: GenerationRequest) -> StubsExtracted:
        files = [record.source, *record.tests.values(), *record.support_files.values()]
        size = sum(len(text.encode("utf-8")) for text in files)
        if size > self.settings.max_source_bytes:
            what = "the source is" if len(files) == 1 else "the source and its tests are"
            raise StageError(
                f"{what} {size} bytes, over the limit of {self.settings.max_source_bytes}"
                " (CODEGEN_MAX_SOURCE_BYTES)",
                code="SOURCE_TOO_LARGE",
            )
        _check_output_path(record.output_path)
        check_path(self.settings.store_root, record.output_path)  # the store's own rules
        options = ExtractOptions(
            markers=record.stub_markers or list(self.settings.stub_markers),
            skip_bodiless=self.settings.skip_bodiless,
        )
        extraction = await run_stage_work(
            record.source,
            partial(extract_stubs, record.source, options, path=record.output_path),
        )
        return StubsExtracted(**carried(record), request=record, extraction=extraction)

    def measured(self, record: GenerationRequest, result: Record) -> Measured:
        assert isinstance(result, StubsExtracted)
        return Measured(stubs=len(result.extraction.stubs))


def _check_output_path(output_path: str) -> None:
    """A request names a path relative to the store root, without ``..``: stricter than the
    store, which also takes absolute paths inside its root (for its own callers)."""
    path = PurePosixPath(output_path.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts:
        raise StageError(
            f"the output path {output_path!r} must be relative to the store root, "
            "without '..' components",
            code="PATH_OUTSIDE_ROOT",
        )
