"""What a caller can tune about injection, and the names a body may need imported."""

from __future__ import annotations

import ast
import re
import sys
import textwrap
from collections.abc import Iterable, Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from pipeline.settings import Settings
from pipeline.stages.syntax_tree import parse_or_none

HoistImports = Literal["none", "stdlib"]
_DOTTED = re.compile(r"[^\W\d]\w*(?:\.[^\W\d]\w*)*")


class InjectOptions(BaseModel):
    """``hoist_imports``: which imports a generated body starts with move to the module's
    imports, none (they stay where the model put them) or stdlib (standard-library imports
    move); ``from __future__`` imports always move. ``error_class``, ``log_function``:
    ``package.module:Name`` (imported when a body uses the name and the module does not bind
    it) or a bare ``Name`` (in scope already)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hoist_imports: HoistImports = "none"
    error_class: str = "ModelOnexError"
    log_function: str = "emit_log_event"

    @field_validator("error_class", "log_function")
    @classmethod
    def _import_path(cls, value: str) -> str:
        module, name = split_import_path(value)
        if not name.isidentifier() or (module and not _DOTTED.fullmatch(module)):
            raise ValueError(
                f"{value!r} is not `package.module:Name` (an absolute module) or a bare `Name`"
            )
        return value

    @classmethod
    def from_settings(cls, settings: Settings) -> InjectOptions:
        return cls(
            hoist_imports=settings.hoist_imports,
            error_class=settings.error_class,
            log_function=settings.log_function,
        )

    def provided_imports(self) -> list[tuple[str, str]]:
        """(module, name) of the configured names that come with an import path."""
        found = []
        for setting in (self.error_class, self.log_function):
            module, name = split_import_path(setting)
            if module:
                found.append((module, name))
        return found


def split_import_path(setting: str) -> tuple[str, str]:
    """``("package.module", "Name")`` for ``package.module:Name``; ``("", "Name")`` for a
    bare ``Name`` (already in scope where it is used)."""
    module, colon, name = setting.partition(":")
    return (module.strip(), name.strip()) if colon else ("", setting.strip())


def bare_name(setting: str) -> str:
    """The name code uses for a configured ``package.module:Name`` or ``Name``."""
    return split_import_path(setting)[1]


def is_stdlib_module(dotted: str) -> bool:
    """Whether an absolute module name is in the standard library of this Python."""
    return (
        bool(dotted)
        and not dotted.startswith(".")
        and (dotted.partition(".")[0] in sys.stdlib_module_names)
    )


def needed_imports(
    bodies: Mapping[str, str], provided: Iterable[tuple[str, str]]
) -> dict[str, list[tuple[str, str]]]:
    """Per body, the (module, name) of ``provided`` it reads without binding it itself."""
    provided = list(provided)
    needed: dict[str, list[tuple[str, str]]] = {}
    if not provided:
        return needed
    for qualified_name, code in bodies.items():
        candidates = [(module, name) for module, name in provided if name in code]
        if not candidates:
            continue
        read, bound = _names(code)
        found = [(m, n) for m, n in candidates if n in read and n not in bound]
        if found:
            needed[qualified_name] = found
    return needed


def _names(code: str) -> tuple[set[str], set[str]]:
    """The names a body reads and the names it binds (anywhere inside it)."""
    tree = _parse(code)
    read: set[str] = set()
    bound: set[str] = set()
    if tree is None:
        return read, bound
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).partition(".")[0])
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
    return read, bound


def _parse(code: str) -> ast.Module | None:
    for text in (code, textwrap.dedent(code), "if 1:\n" + code):
        tree = parse_or_none(text)
        if tree is not None:
            return tree
    return None
