"""Functions without a body by design, which are never stubs.

Decorators and bases are recognised by what they name after resolving the
module's imports: ``abstractmethod``, ``abc.abstractmethod`` and ``am`` after
``from abc import abstractmethod as am`` all name ``abc.abstractmethod``, while
``asyncio.Protocol`` is not ``typing.Protocol``. A bare name no import binds
(a star import, say) is recognised by itself.
"""

from __future__ import annotations

import ast

from pipeline.stages.extract.headers import FunctionNode
from pipeline.stages.extract.markers import dotted_name

_BODILESS_DECORATORS = frozenset(
    {
        "abc.abstractmethod",
        "abc.abstractproperty",
        "abc.abstractclassmethod",
        "abc.abstractstaticmethod",
        "typing.overload",
        "typing_extensions.overload",
    }
)
_PROTOCOLS = frozenset({"typing.Protocol", "typing_extensions.Protocol"})


class Aliases:
    """What the names a module imports stand for: ``t`` -> ``typing``."""

    __slots__ = ("_targets",)

    def __init__(self) -> None:
        self._targets: dict[str, str] = {}

    def add(self, statement: ast.Import | ast.ImportFrom) -> None:
        match statement:
            case ast.Import(names=names):
                for alias in names:
                    if alias.asname:
                        self._targets[alias.asname] = alias.name
                    else:
                        head = alias.name.partition(".")[0]
                        self._targets[head] = head
            case ast.ImportFrom(module=module, level=level, names=names):
                package = "." * level + (module or "")
                for alias in names:
                    target = f"{package}.{alias.name}" if module else f"{package}{alias.name}"
                    self._targets[alias.asname or alias.name] = target

    def names(self, node: ast.expr, wanted: frozenset[str]) -> bool:
        """Whether an expression (a dotted name) names one of ``wanted``."""
        name = dotted_name(node)
        if name is None:
            return False
        head, dot, rest = name.partition(".")
        target = self._targets.get(head)
        if target is not None:
            return (f"{target}.{rest}" if dot else target) in wanted
        last = name.rpartition(".")[2]
        return any(candidate.rpartition(".")[2] == last for candidate in wanted)


def is_bodiless_by_design(node: FunctionNode, aliases: Aliases) -> bool:
    """Decorated with ``abc.abstractmethod`` (or a relative) or ``typing.overload``."""
    return any(aliases.names(decorator, _BODILESS_DECORATORS) for decorator in node.decorator_list)


def is_protocol(node: ast.ClassDef, aliases: Aliases) -> bool:
    """Lists ``typing.Protocol`` or ``typing.Protocol[...]`` among its bases."""
    for base in node.bases:
        match base:
            case ast.Subscript(value=generic):
                named = aliases.names(generic, _PROTOCOLS)
            case _:
                named = aliases.names(base, _PROTOCOLS)
        if named:
            return True
    return False
