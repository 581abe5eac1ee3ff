"""The prompt templates of the LLM generators, in one place.

Change a template → bump ``PROMPT_VERSION``: it is recorded on every generated body, so
results can be compared across prompt changes.

A prompt is two chat messages: a system message with the house rules and the answer format,
and a user message with the stub's context (imports, enclosing class, signature, docstring)
and, on a repair attempt, the previous code and what the validator found in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pipeline.models import Finding, Stub

PROMPT_VERSION = "2026-11.1"

MAX_PREVIOUS_CODE_CHARS = 12_000
"""A previous attempt longer than this is cut (the prompt must stay bounded)."""

MAX_FINDINGS = 30
"""At most this many findings are listed in a repair prompt."""

SYSTEM_TEMPLATE = """\
You are a senior Python engineer. You write the body of one Python function whose \
signature and docstring are given, so that it does what the docstring says.

House rules (the code is rejected when it breaks one):
1. Never raise a built-in exception (ValueError, TypeError, RuntimeError, KeyError, \
Exception, NotImplementedError...). Raise `{error_class}` instead, with a clear message. \
A bare `raise` to re-raise a caught exception is fine.
2. Never call print(). Log through `{log_function}(...)` instead.
3. Annotate every parameter and the return type of any function you define inside the \
body (helpers, nested functions).
4. Keep the given signature: do not rename the function or change its parameters.
5. Write complete, working code: no placeholders, no `pass`, no `...`, no TODOs.
6. Prefer the standard library and the names the module already imports; put any \
extra import you need at the top of the body.

Answer with ONLY the body of the function (the statements after the `def` line, without \
the `def` line and without repeating the docstring), in exactly one ```python code \
fence. No explanation before or after the fence."""

USER_TEMPLATE = """\
Write the body of `{qualified_name}`.
{module_section}{class_section}
Signature:
```python
{signature}
```
{docstring_section}{decorator_section}{async_section}{repair_section}"""

MODULE_SECTION = """
The module's imports:
```python
{imports}
```
"""

NO_IMPORTS_SECTION = """
The module has no imports.
"""

CLASS_SECTION = """
It is a method of class `{name}`{bases}.
{class_docstring}{siblings}"""

CLASS_DOCSTRING = """Class docstring:
\"\"\"
{docstring}
\"\"\"
"""

SIBLINGS = """The other methods of the class:
```python
{signatures}
```
"""

DOCSTRING_SECTION = """
Docstring (already in place, do not repeat it):
\"\"\"
{docstring}
\"\"\"
"""

NO_DOCSTRING_SECTION = """
There is no docstring: infer the behaviour from the names and the type hints.
"""

DECORATOR_SECTION = """
Decorators: {decorators}
"""

ASYNC_SECTION = """
It is an `async def`: you may use `await`.
"""

REPAIR_SECTION = """
This is attempt {attempt}. Your previous body was rejected:
```python
{previous_code}
```
The validator found:
{findings}
Fix every finding and answer with the corrected body, in the same format.
"""

NO_PREVIOUS_CODE = "(the previous code is not available)"


@dataclass(frozen=True)
class HouseRules:
    """The conventions the validator enforces, as configured."""

    error_class: str = "ModelOnexError"
    log_function: str = "emit_log_event"


@dataclass(frozen=True)
class ChatMessage:
    role: str
    content: str

    def as_json(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


def system_prompt(rules: HouseRules) -> str:
    return SYSTEM_TEMPLATE.format(error_class=rules.error_class, log_function=rules.log_function)


def user_prompt(
    stub: Stub,
    imports: Sequence[str],
    *,
    attempt: int = 1,
    previous_code: str | None = None,
    findings: Sequence[Finding] = (),
) -> str:
    """The stub's context; a repair section when there are findings or previous code."""
    module_section = (
        MODULE_SECTION.format(imports="\n".join(imports)) if imports else NO_IMPORTS_SECTION
    )
    repair_section = ""
    if findings or previous_code is not None:
        repair_section = REPAIR_SECTION.format(
            attempt=attempt,
            previous_code=_bounded(previous_code) if previous_code else NO_PREVIOUS_CODE,
            findings=format_findings(findings) or "- (no details were reported)",
        )
    return USER_TEMPLATE.format(
        qualified_name=stub.qualified_name,
        module_section=module_section,
        class_section=_class_section(stub),
        signature=stub.signature.strip(),
        docstring_section=(
            DOCSTRING_SECTION.format(docstring=stub.docstring.strip())
            if stub.docstring and stub.docstring.strip()
            else NO_DOCSTRING_SECTION
        ),
        decorator_section=(
            DECORATOR_SECTION.format(decorators=", ".join(f"@{d}" for d in stub.decorators))
            if stub.decorators
            else ""
        ),
        async_section=ASYNC_SECTION if stub.is_async else "",
        repair_section=repair_section,
    )


def build_messages(
    stub: Stub,
    imports: Sequence[str],
    rules: HouseRules,
    *,
    attempt: int = 1,
    previous_code: str | None = None,
    findings: Sequence[Finding] = (),
) -> list[ChatMessage]:
    return [
        ChatMessage("system", system_prompt(rules)),
        ChatMessage(
            "user",
            user_prompt(
                stub, imports, attempt=attempt, previous_code=previous_code, findings=findings
            ),
        ),
    ]


def format_findings(findings: Iterable[Finding]) -> str:
    """One line per finding: ``- [rule CODE] line N: message (suggestion: ...)``."""
    lines = []
    for index, finding in enumerate(findings):
        if index == MAX_FINDINGS:
            lines.append("- (more findings were left out)")
            break
        line = f"- [{finding.rule} {finding.code}] line {finding.line}: {finding.message}"
        if finding.snippet.strip():
            line += f" — in: {finding.snippet.strip()}"
        if finding.suggestion:
            line += f" (suggestion: {finding.suggestion})"
        lines.append(line)
    return "\n".join(lines)


def _class_section(stub: Stub) -> str:
    context = stub.class_context
    if context is None:
        return ""
    bases = f"({', '.join(context.bases)})" if context.bases else ""
    docstring = (
        CLASS_DOCSTRING.format(docstring=context.docstring.strip())
        if context.docstring and context.docstring.strip()
        else ""
    )
    siblings = (
        SIBLINGS.format(signatures="\n".join(s.strip() for s in context.sibling_signatures))
        if context.sibling_signatures
        else ""
    )
    return CLASS_SECTION.format(
        name=context.name, bases=bases, class_docstring=docstring, siblings=siblings
    )


def _bounded(code: str) -> str:
    if len(code) <= MAX_PREVIOUS_CODE_CHARS:
        return code.rstrip()
    return code[:MAX_PREVIOUS_CODE_CHARS].rstrip() + "\n# ... (cut)"
