"""The prompt templates."""

from __future__ import annotations

import re
from typing import Any

from pipeline.models import Finding, Severity, Stub
from pipeline.stages.generate.prompts import (
    MAX_FINDINGS,
    MAX_PREVIOUS_CODE_CHARS,
    PROMPT_VERSION,
    HouseRules,
    build_messages,
    format_findings,
    user_prompt,
)

from .helpers import extraction


def _stub(name: str) -> Stub:
    return next(s for s in extraction().stubs if s.qualified_name == name)


def _finding(code: str = "HR001", line: int = 3, **kwargs: Any) -> Finding:
    return Finding(
        rule="house_rules",
        code=code,
        severity=Severity.ERROR,
        line=line,
        message=f"message {code}",
        **kwargs,
    )


def test_the_version_is_dated() -> None:
    assert re.fullmatch(r"\d{4}-\d{2}\.\d+", PROMPT_VERSION)


def test_a_function_has_no_class_section() -> None:
    text = user_prompt(_stub("slugify"), ["import re"])
    assert "method of class" not in text
    assert "def slugify(text: str) -> str:" in text
    assert "import re" in text
    assert "Lower-case ``text``" in text


def test_an_async_method() -> None:
    text = user_prompt(_stub("Cart.checkout"), [])
    assert "async def" in text and "await" in text
    assert "The module has no imports." in text


def test_the_house_rules_follow_the_settings() -> None:
    system, user = build_messages(_stub("slugify"), [], HouseRules("AppError", "log_it"))
    assert system.role == "system" and user.role == "user"
    assert "`AppError`" in system.content and "`log_it(...)`" in system.content
    assert "ModelOnexError" not in system.content


def test_braces_in_the_context_are_kept() -> None:
    stub = _stub("slugify").model_copy(update={"docstring": "Return {a} and {{b}}."})
    assert "Return {a} and {{b}}." in user_prompt(stub, ["from x import {y}"])


def test_findings_are_listed_with_their_details() -> None:
    finding = _finding(snippet="print(x)", suggestion="use emit_log_event")
    assert format_findings([finding]) == (
        "- [house_rules HR001] line 3: message HR001 — in: print(x)"
        " (suggestion: use emit_log_event)"
    )


def test_the_findings_are_bounded() -> None:
    text = format_findings([_finding(line=i) for i in range(MAX_FINDINGS + 10)])
    assert text.count("\n") == MAX_FINDINGS
    assert text.endswith("(more findings were left out)")


def test_long_previous_code_is_cut() -> None:
    code = "x = 1\n" * MAX_PREVIOUS_CODE_CHARS
    text = user_prompt(_stub("slugify"), [], attempt=2, previous_code=code, findings=[_finding()])
    assert "# ... (cut)" in text
    assert len(text) < MAX_PREVIOUS_CODE_CHARS + 2000


def test_a_repair_without_previous_code_still_lists_findings() -> None:
    text = user_prompt(_stub("slugify"), [], attempt=3, findings=[_finding("SYN001")])
    assert "attempt 3" in text
    assert "previous code is not available" in text
    assert "SYN001" in text
