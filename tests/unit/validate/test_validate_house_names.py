"""The validator checks a body in the module inject will write: with the configured names'
imports, without a relative import the module does not have."""

from __future__ import annotations

from textwrap import dedent

from pipeline.models.findings import Severity
from pipeline.stages.validate import ValidateOptions, validate_bodies
from pipeline.stages.validate.options import CONCRETE_RULES, Rule

MODULE = dedent(
    '''\
    """Stock."""

    from .models import Item


    class Stock:
        def take(self, count: int) -> Item:
            """Take some."""
            raise NotImplementedError
    '''
)
# The types rule reports an undefined name too (its own test covers that).
STATIC = CONCRETE_RULES - {Rule.TYPES}
WITH_PATH = ValidateOptions(rules=set(STATIC), error_class="acme.errors:ModelOnexError")
BARE = ValidateOptions(rules=set(STATIC))


def _codes(body: str, options: ValidateOptions) -> dict[str, Severity]:
    report = validate_bodies(MODULE, {"Stock.take": body}, options)
    return {finding.code: finding.severity for finding in report.findings}


def test_a_body_raising_the_configured_class_is_not_an_undefined_name() -> None:
    body = 'raise ModelOnexError("empty")\n'
    assert _codes(body, WITH_PATH) == {}
    assert _codes(body, BARE) == {"F821": Severity.ERROR}  # a bare name: in scope?


def test_the_house_rules_name_the_bare_class() -> None:
    report = validate_bodies(MODULE, {"Stock.take": 'raise ValueError("empty")\n'}, WITH_PATH)
    [finding] = [f for f in report.findings if f.code == "HR001"]
    assert "raise ModelOnexError instead" in finding.message
    assert finding.suggestion == 'raise ModelOnexError("empty")'


def test_a_relative_import_the_module_does_not_have_is_an_error() -> None:
    body = 'from .errors import ModelOnexError\nraise ModelOnexError("empty")\n'
    assert _codes(body, BARE) == {"IMP002": Severity.ERROR}


def test_a_relative_import_of_a_module_the_file_imports_is_fine() -> None:
    body = "from .models import make_item\nreturn make_item(count)\n"
    assert _codes(body, BARE) == {}
