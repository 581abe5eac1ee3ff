"""Take the code out of a model's reply. Pure: text in, code out.

Models wrap code in many ways. Handled here:

* fences: ```` ```python ````, ```` ```py ````, bare ```` ``` ````, ``~~~``, longer fences,
  a fence left open (the reply was cut);
* prose before, between and after fences, and replies with no fence at all;
* several fences: the one that defines the function wins, then the longest one that parses
  (fences tagged with another language, e.g. ``bash`` or ``json``, are used last);
* a whole ``def``/``async def`` of the function instead of a body: returned as a whole def
  (the inject stage keeps the original signature); when the def comes with other top-level
  code (an example call, a ``__main__`` block) or inside its class, only the def is kept;
* indentation: common indentation is removed, tabs expanded when needed, a first line that
  lost its indentation is re-indented;
* reasoning models' ``<think>...</think>`` sections are dropped, and so is everything before a
  lone closing ``</think>`` (R1-style templates put the opening tag in the prompt, so the text
  starts with the reasoning and the answer follows the closing tag): see ``split_reasoning``.

A reply without usable code raises ``ReplyProblem`` with code ``NO_CODE_IN_REPLY``; a reply
cut at the token limit (``finish_reason: "length"``) raises ``REPLY_CUT`` whatever its text,
because a prefix that happens to parse is not the answer.
"""

from __future__ import annotations

import ast
import re
import textwrap
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.stages.generate.problems import (
    NO_CODE_IN_REPLY,
    NO_CODE_RULE_CODE,
    REPLY_CUT,
    ReplyProblem,
)
from pipeline.stages.syntax_tree import parse_or_none

__all__ = ["NO_CODE_IN_REPLY", "ExtractedCode", "extract_code", "split_reasoning"]

PYTHON_TAGS = frozenset({"", "python", "python3", "py", "py3", "ipython", "pycon", "sage"})
"""Fence info strings taken as Python (``pycon`` prompts are stripped)."""

MAX_UNFENCED_TRIM = 15
"""Lines tried off each end of an unfenced reply when looking for code among prose."""

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]{0,3})(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")
_THINK = re.compile(r"<think(?:ing)?>(.*?)(?:</think(?:ing)?>|\Z)", re.DOTALL | re.IGNORECASE)
_THINK_OPEN = re.compile(r"<think(?:ing)?>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think(?:ing)?>", re.IGNORECASE)
_PROMPT_PREFIX = re.compile(r"^(>>>|\.\.\.)( |$)")


@dataclass(frozen=True)
class ExtractedCode:
    """Code taken from a reply: a bare body, or (``whole_def``) a whole def of the function."""

    code: str
    whole_def: bool
    fenced: bool
    parses: bool = True
    context: str | None = None
    """For a whole def that came with other code (helpers beside it, its class around it):
    the whole code the def was taken from, so that nothing in it is dropped unseen."""


@dataclass(frozen=True)
class _Block:
    text: str
    info: str
    closed: bool
    order: int

    @property
    def python(self) -> bool:
        return self.info in PYTHON_TAGS


def extract_code(
    reply: str | None, function_name: str, *, finish_reason: str | None = None
) -> ExtractedCode:
    """The code of the reply for the function ``function_name`` (its last dotted part)."""
    if finish_reason == "length":
        raise ReplyProblem(
            "the reply was cut at the token limit (finish_reason: length), so its code is "
            "incomplete even where it parses: answer with the body only, shorter "
            "(or raise CODEGEN_OPENAI_MAX_TOKENS)",
            code=REPLY_CUT,
            finding_code="RPL002",
            finish_reason=finish_reason,
        )
    name = function_name.rsplit(".", 1)[-1]
    text, _ = split_reasoning((reply or "").replace("\r\n", "\n").replace("\r", "\n"))
    if not text.strip():
        raise _no_code("the reply is empty", finish_reason)
    blocks = list(_fenced_blocks(text))
    if blocks:
        found = _best_block(blocks, name)
        if found is not None:
            return found
        broken = _unparsable_answer(blocks, finish_reason)
        if broken is not None:
            return broken
        reason = f"none of the {len(blocks)} code block(s) of the reply parses as Python"
        raise _no_code(reason, finish_reason, reply=text)
    found = _from_unfenced(text, name)
    if found is not None:
        return found
    raise _no_code("the reply has no code block and no Python code", finish_reason, reply=text)


def split_reasoning(text: str) -> tuple[str, str]:
    """(answer, reasoning): ``<think>`` sections and a leading reasoning ended by a lone
    ``</think>`` go to the reasoning; an unclosed ``<think>`` runs to the end."""
    reasoning: list[str] = []
    closing = _THINK_CLOSE.search(text)
    if closing is not None and _THINK_OPEN.search(text, 0, closing.start()) is None:
        reasoning.append(text[: closing.start()])
        text = text[closing.end() :]

    def take(match: re.Match[str]) -> str:
        reasoning.append(match.group(1))
        return ""

    answer = _THINK.sub(take, text)
    return answer, "\n".join(part.strip() for part in reasoning if part.strip())


def _unparsable_answer(blocks: list[_Block], finish_reason: str | None) -> ExtractedCode | None:
    """A closed Python fence whose code does not parse is still the model's answer.

    The validator reports its syntax error, and the repair loop sends that back to the model.
    """
    candidates = [
        b for b in blocks if b.python and b.closed and b.text.strip() and not _parses(b.text)
    ]
    if not candidates:
        return None
    block = max(candidates, key=lambda b: (len(b.text), -b.order))
    code = textwrap.dedent(block.text).strip("\n") + "\n"
    whole_def = re.match(r"\s*(async\s+)?def\s", code) is not None
    return ExtractedCode(code, whole_def, fenced=True, parses=False)


def _parses(text: str) -> bool:
    code = textwrap.dedent(text)
    wrapped = "async def _():\n" + textwrap.indent(code, "    ", lambda _: True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for candidate in (code, wrapped):
            try:
                ast.parse(candidate)
            except (SyntaxError, ValueError):
                continue
            return True
    return False


def _no_code(reason: str, finish_reason: str | None, *, reply: str = "") -> ReplyProblem:
    if finish_reason == "content_filter":
        reason += " (the reply was stopped by the provider's content filter)"
    excerpt = " ".join(reply.split())[:200]
    return ReplyProblem(
        f"no usable code in the model's reply: {reason}"
        + (f"; the reply begins: {excerpt!r}" if excerpt else ""),
        code=NO_CODE_IN_REPLY,
        finding_code=NO_CODE_RULE_CODE,
        reason=reason,
        finish_reason=finish_reason,
    )


# ---------------------------------------------------------------- fences


def _fenced_blocks(text: str) -> Iterator[_Block]:
    """Every fenced block, in order; an unclosed fence runs to the end of the reply."""
    lines = text.split("\n")
    index = 0
    order = 0
    while index < len(lines):
        opening = _FENCE_OPEN.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence = opening["fence"]
        info = opening["info"].strip().split(" ", 1)[0].lower().lstrip(".{").rstrip("}")
        body: list[str] = []
        index += 1
        closed = False
        while index < len(lines):
            stripped = lines[index].strip()
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                closed = True
                index += 1
                break
            body.append(lines[index])
            index += 1
        yield _Block("\n".join(body), info, closed, order)
        order += 1


def _best_block(blocks: list[_Block], name: str) -> ExtractedCode | None:
    """Python blocks first; among them the def of the function, then the longest."""
    python = [b for b in blocks if b.python]
    other = [b for b in blocks if not b.python]
    for group in (python, other):
        found = [
            (code, block) for block in group if (code := _usable(block.text, name)) is not None
        ]
        if not found:
            continue
        defining = [(code, block) for code, block in found if code.whole_def]
        pool = defining or found
        code, _ = max(pool, key=lambda item: (len(item[0].code), -item[1].order))
        return ExtractedCode(code.code, code.whole_def, fenced=True, context=code.context)
    return None


# ---------------------------------------------------------------- no fences


def _from_unfenced(text: str, name: str) -> ExtractedCode | None:
    """The longest run of lines that parses, trimming prose off both ends."""
    lines = text.strip("\n").split("\n")
    def_line = _def_line(lines, name)
    if def_line is not None:
        found = _trim_tail(lines[def_line:], name)
        if found is not None and found.whole_def:
            return found
    limit = min(MAX_UNFENCED_TRIM, len(lines) - 1)
    for total in range(0, 2 * limit + 1):
        for head in range(max(0, total - limit), min(total, limit) + 1):
            tail = total - head
            if head + tail >= len(lines):
                continue
            chunk = lines[head : len(lines) - tail]
            if _looks_like_prose(chunk[0]) or _looks_like_prose(chunk[-1]):
                continue
            usable = _usable("\n".join(chunk), name)
            if usable is not None:
                return ExtractedCode(
                    usable.code, usable.whole_def, fenced=False, context=usable.context
                )
    return None


def _def_line(lines: list[str], name: str) -> int | None:
    pattern = re.compile(rf"^\s*(async\s+)?def\s+{re.escape(name)}\s*\(")
    for index, line in enumerate(lines):
        if pattern.match(line):
            start = index
            while start > 0 and lines[start - 1].lstrip().startswith("@"):
                start -= 1
            return start
    return None


def _trim_tail(lines: list[str], name: str) -> ExtractedCode | None:
    for end in range(len(lines), max(0, len(lines) - MAX_UNFENCED_TRIM * 4), -1):
        found = _usable("\n".join(lines[:end]), name)
        if found is not None:
            return ExtractedCode(found.code, found.whole_def, fenced=False, context=found.context)
    return None


_PROSE = re.compile(r"^[A-Z][a-z']*(\s+[\w'\u2019,()-]+){2,}[.:!?]?$")
_KEYWORD_START = re.compile(
    r"^(return|raise|if|for|while|with|try|import|from|def|async|await|yield|assert|del|"
    r"pass|class|global|nonlocal|match|else|elif|except|finally|lambda|not|print)\b"
)


def _looks_like_prose(line: str) -> bool:
    stripped = line.strip()
    if not stripped:
        return False
    if _KEYWORD_START.match(stripped):
        return False
    return bool(_PROSE.match(stripped))


# ---------------------------------------------------------------- parsing


@dataclass(frozen=True)
class _Code:
    code: str
    whole_def: bool
    context: str | None = None


def _usable(raw: str, name: str) -> _Code | None:
    """The normalised code if it parses and does something; whole defs are recognised."""
    for candidate in _normalisations(raw):
        tree = parse_or_none(candidate)
        if tree is not None:
            function = _find_def(tree, name)
            if function is not None:
                if _does_something(function.body):
                    return _whole_def(tree, function, candidate)
                continue  # a def of the function that is still a stub
        body = _parse_body(candidate)
        if body is not None and _does_something(body):
            return _Code(candidate, whole_def=False)
    return None


def _normalisations(raw: str) -> Iterator[str]:
    """The code as written, then repaired ways of reading its indentation."""
    text = _strip_console_prompts(raw)
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        return
    base = textwrap.dedent("\n".join(lines))
    yield base
    if "\t" in base:
        yield textwrap.dedent(base.expandtabs(4))
    # The first line lost its indentation (e.g. it followed the fence on the same line).
    rest = [line for line in lines[1:] if line.strip()]
    if rest and not lines[0][:1].isspace():
        indent = min(len(line) - len(line.lstrip()) for line in rest)
        if indent:
            yield textwrap.dedent("\n".join([" " * indent + lines[0], *lines[1:]]))


def _strip_console_prompts(text: str) -> str:
    lines = text.split("\n")
    if not any(line.startswith(">>> ") for line in lines):
        return text
    kept = [_PROMPT_PREFIX.sub("", line) for line in lines if _PROMPT_PREFIX.match(line)]
    return "\n".join(kept)


def _parse_body(code: str) -> list[ast.stmt] | None:
    """The statements of ``code`` read as the body of an async function."""
    tree = parse_or_none("async def __body__():\n" + textwrap.indent(code, "    ", lambda _: True))
    if tree is None or not tree.body:
        return None
    function = tree.body[0]
    assert isinstance(function, ast.AsyncFunctionDef)
    return function.body


def _find_def(tree: ast.Module, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The one def of ``name`` at the top level, else the one in a top-level class."""
    defs = [n for n in tree.body if _is_def(n, name)]
    if not defs:
        defs = [
            member
            for node in tree.body
            if isinstance(node, ast.ClassDef)
            for member in node.body
            if _is_def(member, name)
        ]
    if len(defs) != 1:
        return None
    function = defs[0]
    assert isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
    return function


def _whole_def(
    tree: ast.Module, function: ast.FunctionDef | ast.AsyncFunctionDef, code: str
) -> _Code:
    """The def with the imports written before it; any other code is left to ``extras``
    (it is in ``context``)."""
    imports = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    rest = [n for n in tree.body if n is not function and n not in imports]
    if not rest and all(i.lineno < function.lineno for i in imports):
        return _Code(code, whole_def=True)
    lines = code.split("\n")
    first = min([d.lineno for d in function.decorator_list] + [function.lineno])
    end = function.end_lineno or function.lineno
    pieces = [
        "\n".join(lines[i.lineno - 1 : i.end_lineno or i.lineno])
        for i in imports
        if i.lineno < first
    ]
    pieces.append(textwrap.dedent("\n".join(lines[first - 1 : end])))
    return _Code("\n".join(pieces), whole_def=True, context=code)


def _is_def(node: ast.stmt, name: str) -> bool:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name


_DEFINES_ONLY = (
    ast.Pass,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Import,
    ast.ImportFrom,
)


def _does_something(body: list[ast.stmt]) -> bool:
    """False for placeholders: only ``pass``, ``...``, strings and bare names; and for code
    that only defines or imports things (a def of another function is not this one's body)."""
    for statement in body:
        if isinstance(statement, _DEFINES_ONLY):
            continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant | ast.Name):
            continue
        if _raises_not_implemented(statement):
            continue
        return True
    return False


def _raises_not_implemented(statement: ast.stmt) -> bool:
    if not isinstance(statement, ast.Raise) or statement.exc is None:
        return False
    exc = statement.exc.func if isinstance(statement.exc, ast.Call) else statement.exc
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"
