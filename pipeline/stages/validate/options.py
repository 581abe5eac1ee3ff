"""What to check: the rule names and the options of one validation."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from pipeline.stages.inject.options import HoistImports, InjectOptions

if TYPE_CHECKING:
    from pipeline.settings import Settings


class Rule(StrEnum):
    """A family of checks; ``all`` selects every family."""

    SYNTAX = "syntax"
    TYPE_HINTS = "type_hints"
    SECURITY = "security"
    IMPORTS = "imports"
    HOUSE_RULES = "house_rules"
    TYPES = "types"
    ALL = "all"


CONCRETE_RULES: frozenset[Rule] = frozenset(Rule) - {Rule.ALL}

DEFAULT_TYPES_WARNING_RULES: frozenset[str] = frozenset(
    {
        "invalid-argument-type",
        "invalid-assignment",
        "missing-union-attribute",
        "no-matching-overload",
        "not-callable",
        "not-iterable",
        "not-subscriptable",
        "unsupported-operator",
    }
)
"""ty rules reported as warnings: on code without annotations they mostly flag what works
(an attribute that starts as ``None``, a value typeshed declares narrower than it is)."""


class ValidateOptions(BaseModel):
    """Options of one validation.

    ``strict`` turns every warning into an error. ``error_class`` and
    ``log_function`` configure the house rules (defaults match the settings):
    ``package.module:Name`` or a bare ``Name``; the rules use the bare name.
    They and ``hoist_imports`` also shape the module the bodies are checked
    in, as the inject stage will write it.
    ``types_python`` is the environment the ``types`` rule resolves third-party imports in
    (an interpreter or a virtual environment); ``types_warning_rules`` are the ty rules it
    reports as warnings.
    """

    model_config = ConfigDict(frozen=True)

    rules: set[Rule] = Field(default_factory=lambda: {Rule.ALL})
    strict: bool = False
    error_class: str = "ModelOnexError"
    log_function: str = "emit_log_event"
    hoist_imports: HoistImports = "none"
    types_python: str = Field(default_factory=lambda: sys.executable)
    types_warning_rules: frozenset[str] = DEFAULT_TYPES_WARNING_RULES

    @classmethod
    def from_settings(
        cls, settings: Settings, *, rules: set[Rule] | None = None, strict: bool = False
    ) -> ValidateOptions:
        """The options the settings configure, for ``rules`` (default: all)."""
        configured: dict[str, object] = {}
        if settings.types_python:
            configured["types_python"] = settings.types_python
        if settings.types_warning_rules is not None:
            configured["types_warning_rules"] = frozenset(settings.types_warning_rules)
        return cls(
            rules=rules or {Rule.ALL},
            strict=strict,
            error_class=settings.error_class,
            log_function=settings.log_function,
            hoist_imports=settings.hoist_imports,
            **configured,
        )

    def inject_options(self) -> InjectOptions:
        return InjectOptions(
            hoist_imports=self.hoist_imports,
            error_class=self.error_class,
            log_function=self.log_function,
        )

    def selected(self) -> frozenset[Rule]:
        """The concrete rules to run (``all`` expanded)."""
        if Rule.ALL in self.rules:
            return CONCRETE_RULES
        return frozenset(self.rules)


def parse_rules(values: list[str]) -> set[Rule]:
    """Rule names from the command line: repeated and/or comma-separated.

    Raises ``ValueError`` naming the first unknown rule.
    """
    rules: set[Rule] = set()
    for value in values:
        for name in value.split(","):
            name = name.strip().lower().replace("-", "_")
            if not name:
                continue
            try:
                rules.add(Rule(name))
            except ValueError:
                known = ", ".join(rule.value for rule in Rule)
                raise ValueError(f"unknown rule {name!r} (known: {known})") from None
    return rules or {Rule.ALL}
