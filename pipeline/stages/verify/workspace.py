"""The work directory of a run: the filled module, the tests and the support files."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from pipeline.stages.verify.errors import VerifyError


def relative_path(path: str, what: str) -> PurePosixPath:
    """``path`` as a relative POSIX path that stays inside the work directory."""
    pure = PurePosixPath(path.replace("\\", "/"))
    if (
        not path
        or pure.is_absolute()
        or ".." in pure.parts
        or "\x00" in path
        or not pure.parts
        or pure.parts[0].startswith(".codegen")
    ):
        raise VerifyError(
            f"the {what} path {path!r} must be relative, without '..' components",
            code=VerifyError.BAD_TEST_PATH,
        )
    return pure


def lay_out(workdir: Path, module_path: str, source: str, files: Mapping[str, str]) -> None:
    """Write the module at ``module_path`` and every other file at its own relative path."""
    module = relative_path(module_path, "module")
    placed: dict[PurePosixPath, str] = {module: source}
    for path, text in files.items():
        target = relative_path(path, "test or support file")
        if target in placed:
            raise VerifyError(
                f"{path!r} is given twice (the module, a test or a support file)",
                code=VerifyError.BAD_TEST_PATH,
            )
        placed[target] = text
    for target, text in placed.items():
        destination = workdir.joinpath(*target.parts)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")
