"""Writing a result received from Kafka into a directory of the client's machine."""

from __future__ import annotations

from pathlib import Path

from pipeline.records import FileStored
from pipeline.settings import OverwritePolicy
from pipeline.stages.store import INVALID_CONTENT, ArtifactStore, StoreError


def save_result(
    result: FileStored,
    directory: Path,
    *,
    policy: OverwritePolicy = OverwritePolicy.OVERWRITE,
    permissions: int = 0o644,
) -> Path:
    """Write ``result.source`` to ``result.output_path`` below ``directory`` and return where.

    The store's rules apply (``check_path``: confined to ``directory``, symlinks included,
    no reserved ``.codegen/``; written atomically; ``policy`` for an existing file), and a
    source whose sha256 is not the record's is refused: no file rather than a wrong one.
    Raises :class:`StoreError`.
    """
    if not result.intact():
        raise StoreError(
            code=INVALID_CONTENT,
            message=f"the source of {result.request_id!r} does not match its sha256 "
            f"{result.sha256}; {result.output_path!r} not written",
            path=result.output_path,
        )
    store = ArtifactStore(directory, permissions=permissions, policy=policy)
    return Path(store.write_file(result.output_path, result.source).path)
