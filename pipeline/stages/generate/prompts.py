"""The prompt templates of the LLM generators, in one place.

Change a template → bump ``PROMPT_VERSION``: it is recorded on every generated body, so
results can be compared across prompt changes.

A prompt is two chat messages: a system message with the rules and the answer format, and a
user message that starts with the module's context (see ``context``: the same text for every
stub of the module, so that servers with prefix caching reuse it) and ends with the stub's own
part (its class, signature, docstring and, on a repair attempt, the previous code and what the
validator found in it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pipeline.models import Finding, Stub
from pipeline.stages.generate.context import ModuleContext, context_from_imports
from pipeline.stages.inject.options import split_import_path

PROMPT_VERSION = "2026-12.1"

MAX_PREVIOUS_CODE_CHARS = 12_000
"""A previous attempt longer than this is cut (the prompt must stay bounded)."""

MAX_FINDINGS = 30
"""At most this many findings are listed in a repair prompt."""

SYSTEM_TEMPLATE = """\
You are a senior Python engineer. You write the body of one Python function whose \
signature and docstring are given, so that it does what the docstring says. The module it \
belongs to comes first, then the function.

The code is rejected when:
{rejected}

House preferences ({preference_status}):
{preferences}

Always:
- Keep the given signature: do not rename the function or change its parameters.
- Write complete, working code: no placeholders, no `pass`, no `...`, no TODOs.
- Use what the module defines (its attributes, helpers and constants) and prefer the \
standard library and the names the module already imports; put any extra import you need \
at the top of the body.

Answer with ONLY the body of the function (the statements after the `def` line, without \
the `def` line and without repeating the docstring), in exactly one ```python code \
fence. No explanation before or after the fence."""

PREFERENCES_REPORTED = "reported to the reviewers, the code is not rejected for them"
PREFERENCES_ENFORCED = "strict mode: the code is rejected when it breaks one"


@dataclass(frozen=True)
class PromptRule:
    """One rule of the system prompt and the validator's finding codes that enforce it.

    ``rejected`` rules are the validator's errors; the others are its warnings (errors in
    strict mode). A unit test runs the validator on a body breaking each rule to keep the two
    in step.
    """

    codes: tuple[str, ...]
    """Finding codes, or code prefixes (``B`` for every bandit test)."""
    text: str
    rejected: bool


RULES: tuple[PromptRule, ...] = (
    PromptRule(("SYN",), "it does not parse (a syntax error).", rejected=True),
    PromptRule(
        ("F821", "F822", "F823"),
        "it uses a name that is neither defined in the body nor bound in the module.",
        rejected=True,
    ),
    PromptRule(
        ("B",),
        "it has a security issue of medium or high severity (bandit: eval/exec, unsafe "
        "deserialisation with pickle or yaml.load, requests without a timeout...).",
        rejected=True,
    ),
    PromptRule(
        ("TY-",),
        "it fails the type check (ty): an attribute, method or name that does not exist, a "
        "return value of the wrong type, a call with the wrong arguments.",
        rejected=True,
    ),
    PromptRule(
        ("HR001",),
        "Never raise a built-in exception (ValueError, TypeError, RuntimeError, KeyError, "
        "Exception...). Raise `{error_class}` instead, with a clear message{error_import}. "
        "A bare `raise` to re-raise a caught exception is fine.",
        rejected=False,
    ),
    PromptRule(
        ("HR002",),
        "Never call print(). Log through `{log_function}(...)` instead{log_import}.",
        rejected=False,
    ),
    PromptRule(
        ("TH001", "TH002", "HR003"),
        "Annotate every parameter and the return type of any function you define inside the "
        "body (helpers, nested functions).",
        rejected=False,
    ),
    PromptRule(
        ("HR004",),
        "Do not leave `raise NotImplementedError`: implement the function.",
        rejected=False,
    ),
    PromptRule(
        ("F401", "IMP001"),
        "Import only what you use, from modules that are installed.",
        rejected=False,
    ),
)

AUTOMATIC_IMPORT = " (`{name}` is imported from `{module}` automatically: do not import it)"


USER_TEMPLATE = """\
{module_section}
Write the body of `{qualified_name}`.
{class_section}
Signature:
```python
{signature}
```
{docstring_section}{decorator_section}{async_section}{repair_section}"""

MODULE_VIEW_SECTION = """\
The module, the bodies of the functions to write elided:
```python
{code}
```
"""

OUTLINE_SECTION = """\
An outline of the module: signatures and first docstring lines, class fields, the \
attributes `__init__` sets (with their values) and those other methods set; function bodies \
and long values are left out (`...`):
```python
{code}
```
"""

MODULE_SECTION = """\
The module's imports:
```python
{code}
```
"""

NO_IMPORTS_SECTION = """\
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

CLASS_OUTLINE = """The class in outline (the module's outline above could not hold all of it):
```python
{code}
```
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


def system_prompt(rules: HouseRules, *, strict: bool = False) -> str:
    """The rules: what the validator rejects, then its preferences (rejected too if strict)."""
    error_module, error_class = split_import_path(rules.error_class)
    log_module, log_function = split_import_path(rules.log_function)
    values = {
        "error_class": error_class,
        "log_function": log_function,
        "error_import": _automatic_import(error_module, error_class),
        "log_import": _automatic_import(log_module, log_function),
    }
    rejected = [f"- {rule.text.format(**values)}" for rule in RULES if rule.rejected]
    preferences = [
        f"{number}. {rule.text.format(**values)}"
        for number, rule in enumerate((r for r in RULES if not r.rejected), start=1)
    ]
    return SYSTEM_TEMPLATE.format(
        rejected="\n".join(rejected),
        preferences="\n".join(preferences),
        preference_status=PREFERENCES_ENFORCED if strict else PREFERENCES_REPORTED,
    )


def _automatic_import(module: str, name: str) -> str:
    return AUTOMATIC_IMPORT.format(name=name, module=module) if module else ""


def module_section(context: ModuleContext) -> str:
    """The part of the user message every stub of the module shares, byte for byte."""
    if context.view == "module":
        return MODULE_VIEW_SECTION.format(code=context.code)
    if context.view == "outline":
        return OUTLINE_SECTION.format(code=context.code)
    return MODULE_SECTION.format(code=context.code) if context.code else NO_IMPORTS_SECTION


def user_prompt(
    stub: Stub,
    context: ModuleContext | Sequence[str],
    *,
    attempt: int = 1,
    previous_code: str | None = None,
    findings: Sequence[Finding] = (),
) -> str:
    """The module's context first (shared by its stubs), then this stub's part.

    ``context`` may be just the module's import statements.
    """
    if not isinstance(context, ModuleContext):
        context = context_from_imports(context)
    repair_section = ""
    if findings or previous_code is not None:
        repair_section = REPAIR_SECTION.format(
            attempt=attempt,
            previous_code=_bounded(previous_code) if previous_code else NO_PREVIOUS_CODE,
            findings=format_findings(findings) or "- (no details were reported)",
        )
    return USER_TEMPLATE.format(
        module_section=module_section(context),
        qualified_name=stub.qualified_name,
        class_section=_class_section(stub, context),
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
    context: ModuleContext | Sequence[str],
    rules: HouseRules,
    *,
    strict: bool = False,
    attempt: int = 1,
    previous_code: str | None = None,
    findings: Sequence[Finding] = (),
) -> list[ChatMessage]:
    """The system message, then one user message: the module's part first, the stub's last.

    One user message rather than two in a row: some chat templates insist on alternating
    roles. The shared prefix is the same either way.
    """
    return [
        ChatMessage("system", system_prompt(rules, strict=strict)),
        ChatMessage(
            "user",
            user_prompt(
                stub, context, attempt=attempt, previous_code=previous_code, findings=findings
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


def _class_section(stub: Stub, context: ModuleContext) -> str:
    class_context = stub.class_context
    if class_context is None:
        return ""
    bases = f"({', '.join(class_context.bases)})" if class_context.bases else ""
    docstring = siblings = ""
    own_outline = context.class_outline(class_context.qualified_name)
    if own_outline is not None:
        siblings = CLASS_OUTLINE.format(code=own_outline)
    elif class_context.qualified_name not in context.shown_classes:
        if class_context.docstring and class_context.docstring.strip():
            docstring = CLASS_DOCSTRING.format(docstring=class_context.docstring.strip())
        if class_context.sibling_signatures:
            signatures = "\n".join(s.strip() for s in class_context.sibling_signatures)
            siblings = SIBLINGS.format(signatures=signatures)
    return CLASS_SECTION.format(
        name=class_context.name, bases=bases, class_docstring=docstring, siblings=siblings
    )


def _bounded(code: str) -> str:
    if len(code) <= MAX_PREVIOUS_CODE_CHARS:
        return code.rstrip()
    return code[:MAX_PREVIOUS_CODE_CHARS].rstrip() + "\n# ... (cut)"
