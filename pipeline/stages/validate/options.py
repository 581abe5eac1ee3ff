"""What to check: the rule names and the options of one validation."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from pipeline.stages.inject.options import HoistImports, InjectOptions


class Rule(StrEnum):
    """A family of checks; ``all`` selects every family."""

    SYNTAX = "syntax"
    TYPE_HINTS = "type_hints"
    SECURITY = "security"
    IMPORTS = "imports"
    HOUSE_RULES = "house_rules"
    ALL = "all"


CONCRETE_RULES: frozenset[Rule] = frozenset(Rule) - {Rule.ALL}


class ValidateOptions(BaseModel):
    """Options of one validation.

    ``strict`` turns every warning into an error. ``error_class`` and
    ``log_function`` configure the house rules (defaults match the settings):
    ``package.module:Name`` or a bare ``Name``; the rules use the bare name.
    They and ``hoist_imports`` also shape the module the bodies are checked
    in, as the inject stage will write it.
    """

    model_config = ConfigDict(frozen=True)

    rules: set[Rule] = Field(default_factory=lambda: {Rule.ALL})
    strict: bool = False
    error_class: str = "ModelOnexError"
    log_function: str = "emit_log_event"
    hoist_imports: HoistImports = "none"

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
