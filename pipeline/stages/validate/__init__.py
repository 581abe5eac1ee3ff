"""The validate stage: static checks of generated code.

Generated code is never imported or executed: the checks read its text and
syntax tree (bandit runs in process on the tree; ruff, a separate binary,
reads the text from stdin; ty, a language server, gets it as an open document).

Rules: ``syntax`` (SYN*), ``type_hints`` (TH*), ``security`` (bandit test
ids, B*), ``imports`` (ruff F-codes, IMP001), ``house_rules`` (HR*) and
``types`` (ty's rules, TY-*); ``all`` selects them all. Lines are 1-based,
columns 0-based. ``strict`` turns every warning into an error.

* :func:`validate_source` checks a whole file (the ``codegen validate``
  command);
* :func:`validate_bodies` checks generated bodies after injecting them into
  their module, keeping the findings that fall inside a body.
"""

from pipeline.models.findings import Finding, Severity, ValidationReport
from pipeline.stages.validate.errors import TypeCheckFailed, ValidateError
from pipeline.stages.validate.options import Rule, ValidateOptions, parse_rules
from pipeline.stages.validate.validator import validate_bodies, validate_source

__all__ = [
    "Finding",
    "Rule",
    "Severity",
    "TypeCheckFailed",
    "ValidateError",
    "ValidateOptions",
    "ValidationReport",
    "parse_rules",
    "validate_bodies",
    "validate_source",
]
