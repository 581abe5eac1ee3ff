"""The system prompt's rules agree with the validator: what it calls rejected is an error."""

from __future__ import annotations

import pytest

from pipeline.models import Finding, Severity
from pipeline.stages.generate.prompts import (
    PREFERENCES_ENFORCED,
    PREFERENCES_REPORTED,
    RULES,
    HouseRules,
    PromptRule,
    system_prompt,
)
from pipeline.stages.validate import ValidateOptions, validate_bodies

MODULE = '''\
class Parser:
    def parse(self, text: str) -> int:
        """Parse ``text``."""
        raise NotImplementedError
'''

BREAKING = {
    "SYN": "return text +",
    "F821": "return undefined_name",
    "B": "return eval(text)",
    "TY-": "return self.missing_attribute",
    "HR001": "raise ValueError(text)",
    "HR002": "print(text)\nreturn 1",
    "TH001": "def helper(value):\n    return 1\nreturn helper(text)",
    "HR004": "raise NotImplementedError",
    "F401": "import os\nreturn 1",
}
"""A body breaking each rule, by the rule's first code."""


def _findings(rule: PromptRule, *, strict: bool) -> list[Finding]:
    options = ValidateOptions(strict=strict)
    report = validate_bodies(MODULE, {"Parser.parse": BREAKING[rule.codes[0]]}, options)
    return [f for f in report.findings if f.code.startswith(rule.codes)]


def test_every_rule_has_a_breaking_example() -> None:
    assert {rule.codes[0] for rule in RULES} == set(BREAKING)


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.codes[0])
def test_the_validator_rejects_exactly_the_rules_said_to_be_rejected(rule: PromptRule) -> None:
    findings = _findings(rule, strict=False)
    assert findings, f"the validator reports nothing for {rule.codes}"
    expected = Severity.ERROR if rule.rejected else Severity.WARNING
    assert {f.severity for f in findings} == {expected}


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.codes[0])
def test_in_strict_mode_every_rule_rejects(rule: PromptRule) -> None:
    assert {f.severity for f in _findings(rule, strict=True)} == {Severity.ERROR}


@pytest.mark.parametrize("strict", [False, True])
def test_the_prompt_puts_each_rule_under_the_right_heading(strict: bool) -> None:
    text = system_prompt(HouseRules(), strict=strict)
    rejected, _, rest = text.partition("House preferences")
    preferences, _, _always = rest.partition("Always:")
    assert rejected.startswith("You are") and "The code is rejected when:" in rejected
    status = PREFERENCES_ENFORCED if strict else PREFERENCES_REPORTED
    assert preferences.startswith(f" ({status}):")
    for rule in RULES:
        shown = rule.text.format(
            error_class="ModelOnexError",
            log_function="emit_log_event",
            error_import="",
            log_import="",
        )
        assert shown in (rejected if rule.rejected else preferences)


def test_only_errors_are_called_rejected() -> None:
    text = system_prompt(HouseRules())
    assert text.count("rejected") == 2  # the heading, and "not rejected" for preferences
    assert "the code is not rejected for them" in text


def test_the_prompt_shows_the_bare_name_and_that_the_import_is_automatic() -> None:
    text = system_prompt(HouseRules("omnibase.errors:ModelOnexError", "omnibase.log:emit"))
    assert "Raise `ModelOnexError` instead" in text
    assert "`ModelOnexError` is imported from `omnibase.errors` automatically" in text
    assert "Log through `emit(...)` instead (`emit` is imported from `omnibase.log`" in text
    assert "omnibase.errors:" not in text


def test_a_plain_name_gets_no_import_note() -> None:
    text = system_prompt(HouseRules("AppError", "log_it"))
    assert "Raise `AppError` instead" in text and "automatically" not in text


@pytest.mark.parametrize(
    "body",
    [
        "return eval(text)",
        "exec(text)\nreturn 1",
        "import pickle\nreturn pickle.loads(text.encode())",
        "import yaml\nreturn yaml.load(text)",
        "import requests\nreturn requests.get(text).status_code",
    ],
)
def test_the_security_examples_the_prompt_gives_are_errors(body: str) -> None:
    report = validate_bodies(MODULE, {"Parser.parse": body}, ValidateOptions())
    assert any(f.code.startswith("B") and f.severity is Severity.ERROR for f in report.findings)
