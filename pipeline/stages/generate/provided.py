"""Bodies that come with the request (tests, external generators, the offline demo)."""

from __future__ import annotations

import difflib

from pipeline.models import GeneratedBody
from pipeline.stages.generate.base import GenerateError, GenerationTask, Generator


class ProvidedGenerator(Generator):
    name = "provided"

    async def generate(self, task: GenerationTask) -> list[GeneratedBody]:
        stub_names = [stub.qualified_name for stub in task.extraction.stubs]
        unknown = sorted(set(task.provided_bodies) - set(stub_names))
        if unknown:
            hints = [_closest(name, stub_names) for name in unknown]
            raise GenerateError(
                "bodies were supplied for names that are not stubs of the module: "
                + ", ".join(f"{n}{h}" for n, h in zip(unknown, hints, strict=True))
                + f" (stubs: {', '.join(stub_names) or 'none'})",
                code="UNKNOWN_BODY_NAME",
                unknown=unknown,
            )
        wanted = [stub.qualified_name for stub in task.selected_stubs()]
        missing = [name for name in wanted if name not in task.provided_bodies]
        if missing:
            raise GenerateError(
                f"no body was supplied for {len(missing)} stub(s): {', '.join(missing)}; "
                "add them to the request's bodies (qualified name → code)",
                code="MISSING_BODY",
                missing=missing,
            )
        return [
            GeneratedBody(
                qualified_name=name,
                code=task.provided_bodies[name],
                generator=self.name,
                attempt=task.attempt,
            )
            for name in wanted
        ]


def _closest(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=1)
    return f" (did you mean {close[0]}?)" if close else ""
