"""What ``codegen submit --wait`` shows of each request: where it is, then how long each stage
took; one JSON line per outcome with ``--json``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from rich.progress import Progress, TaskID

from pipeline.client import Result
from pipeline.client.progress import ProgressWatcher, RequestProgress
from pipeline.records import FileStored, GenerationRequest

SHOWN_ONE_BY_ONE = 20
"""Up to this many requests get a line each while waiting; more, a count per stage."""


async def show_where(
    progress: Progress,
    watcher: ProgressWatcher,
    requests: list[GenerationRequest],
    done: set[str],
) -> None:
    """Refresh the lines until cancelled; ``done``: the requests with an outcome."""
    pending = {r.request_id for r in requests}
    lines: dict[str, TaskID] = {}
    if len(requests) <= SHOWN_ONE_BY_ONE:
        lines = {r.request_id: progress.add_task("", total=None) for r in requests}
    summary = None if lines else progress.add_task("", total=None)
    names = {r.request_id: r.output_path for r in requests}
    while True:
        for request_id, line in lines.items():
            where = watcher.progress[request_id].where() if request_id in pending else "done"
            progress.update(line, description=f"  {names[request_id]}  {where}")
        if summary is not None:
            counts: dict[str, int] = {}
            for request_id in pending:
                where = watcher.progress[request_id].stage
                counts[where] = counts.get(where, 0) + 1
            progress.update(
                summary, description="  " + ", ".join(f"{s}: {n}" for s, n in counts.items())
            )
        await asyncio.sleep(0.3)
        pending -= done


def durations_text(progress: RequestProgress | None) -> str:
    if progress is None or not progress.durations_ms:
        return "-"
    return ", ".join(f"{stage} {ms:.0f} ms" for stage, ms in progress.durations_ms.items())


def outcome_line(
    request: GenerationRequest, result: Result, progress: RequestProgress | None
) -> str:
    document: dict[str, Any] = {
        "request_id": request.request_id,
        "module": request.output_path,
        "outcome": "stored" if isinstance(result, FileStored) else "failed",
    }
    if isinstance(result, FileStored):
        document["path"] = result.artifact.path
        document["filled"] = len(result.filled)
    else:
        document |= {
            "stage": result.stage,
            "error_code": result.error_code,
            "message": result.message,
        }
    document["attempts"] = progress.attempt if progress else 1
    document["durations_ms"] = progress.durations_ms if progress else {}
    return json.dumps(document)
