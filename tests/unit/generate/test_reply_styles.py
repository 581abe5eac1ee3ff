"""The openai generator against replies in the styles real servers and models answer in.

Never a body from a cut reply; the answer apart from the reasoning; content parts; an event
stream; malformed and empty answers retried; helpers carried into the body or refused with
a finding; unusable replies reported per stub, the good bodies kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pipeline.models import Finding
from pipeline.stages.extract import extract_stubs
from pipeline.stages.generate import GenerateError, GenerationTask
from pipeline.stages.inject import inject_bodies
from tests.support.llm_fixtures import LLMServerFactory
from tests.support.llm_server import (
    Received,
    Reply,
    completion,
    content_parts,
    cut,
    empty,
    event_stream,
    fenced,
    lone_think,
    refusal,
    with_reasoning_field,
)

from .helpers import generator, task

GOOD = 'return "-".join(text.lower().split())'
# A draft that defines the function: a whole def beats a bare body when both are offered.
DRAFT = "def slugify(text: str) -> str:\n    return text"


def by_stub(replies: dict[str, Reply]) -> Callable[[Received], Reply]:
    def respond(request: Received) -> Reply:
        return replies.get(request.stub_name or "", fenced("return 1"))

    return respond


async def body_of(llm_server: LLMServerFactory, *replies: Reply, **overrides: Any) -> str:
    """The body generated for ``slugify`` when the server answers ``replies`` in order."""
    server = await llm_server()
    server.enqueue(*replies)
    gen = generator(server, **overrides)
    try:
        [body] = await gen.generate(task(only=["slugify"]))
    finally:
        await gen.aclose()
    return body.code


async def findings_of(
    llm_server: LLMServerFactory, generation: GenerationTask, *replies: Reply
) -> tuple[GenerateError, list[Finding]]:
    """The error generating raises, and the findings it carries for the repair loop."""
    server = await llm_server(default=replies[-1])
    server.enqueue(*replies)
    gen = generator(server)
    try:
        with pytest.raises(GenerateError) as caught:
            await gen.generate(generation)
    finally:
        await gen.aclose()
    return caught.value, list(getattr(caught.value, "findings", []))


# ---------------------------------------------------------------- cut replies


@pytest.mark.parametrize(
    "reply",
    [cut(GOOD), completion(f"```python\n{GOOD}\n```", finish_reason="length")],
    ids=["open-fence", "closed-fence"],
)
async def test_a_cut_reply_is_never_a_body_even_when_it_parses(
    llm_server: LLMServerFactory, reply: Reply
) -> None:
    _, findings = await findings_of(llm_server, task(only=["slugify"]), reply)
    assert [(f.qualified_name, f.rule, f.code) for f in findings] == [
        ("slugify", "reply", "RPL002")
    ]
    assert "token limit" in findings[0].message
    assert "CODEGEN_OPENAI_MAX_TOKENS" in findings[0].message


# ---------------------------------------------------------------- reasoning


async def test_a_lone_closing_think_ends_the_reasoning(llm_server: LLMServerFactory) -> None:
    assert await body_of(llm_server, lone_think(GOOD, draft=DRAFT)) == GOOD


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
async def test_code_only_in_the_reasoning_field_is_not_the_answer(
    llm_server: LLMServerFactory, field: str
) -> None:
    """The answer is empty (the code is in the reasoning): asked again, the next one is used."""
    thinking = completion("", **{field: f"```python\n{DRAFT}\n```"})
    assert await body_of(llm_server, thinking, fenced(GOOD)) == GOOD


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
async def test_the_reasoning_field_is_kept_apart(llm_server: LLMServerFactory, field: str) -> None:
    assert await body_of(llm_server, with_reasoning_field(GOOD, DRAFT, field=field)) == GOOD


async def test_reasoning_parts_are_not_the_answer(llm_server: LLMServerFactory) -> None:
    assert await body_of(llm_server, content_parts(GOOD, draft=DRAFT)) == GOOD


async def test_text_parts_without_a_type_are_joined(llm_server: LLMServerFactory) -> None:
    parts = [{"text": "```python\nreturn "}, "text.lower()\n```"]
    assert await body_of(llm_server, completion(parts)) == "return text.lower()"  # type: ignore[list-item]


# ---------------------------------------------------------------- event streams


async def test_an_event_stream_body_is_read(llm_server: LLMServerFactory) -> None:
    assert await body_of(llm_server, event_stream(GOOD)) == GOOD


async def test_an_event_stream_without_done_is_read(llm_server: LLMServerFactory) -> None:
    reply = event_stream(GOOD, done=False, headers={"Content-Type": "text/plain"})
    assert await body_of(llm_server, reply) == GOOD


async def test_a_cut_event_stream_is_a_cut_reply(llm_server: LLMServerFactory) -> None:
    reply = event_stream(GOOD, finish_reason="length")
    _, findings = await findings_of(llm_server, task(only=["slugify"]), reply)
    assert [f.code for f in findings] == ["RPL002"]


async def test_a_stream_that_stops_early_is_asked_again(llm_server: LLMServerFactory) -> None:
    text = event_stream(GOOD).body
    broken = Reply(body=text[: len(text) // 2], headers={"Content-Type": "text/event-stream"})
    assert await body_of(llm_server, broken, fenced(GOOD)) == GOOD


# ---------------------------------------------------------------- empty and malformed


@pytest.mark.parametrize(
    "bad",
    [
        empty(),
        completion(None),
        completion("<think>only thinking</think>\n"),
        Reply(body="<html>Bad gateway</html>", headers={"Content-Type": "text/html"}),
        Reply(body={"id": "x", "choices": []}),
    ],
    ids=["empty", "null", "only-think", "not-json", "no-choice"],
)
async def test_a_malformed_or_empty_answer_is_retried(
    llm_server: LLMServerFactory, bad: Reply
) -> None:
    assert await body_of(llm_server, bad, fenced(GOOD)) == GOOD


async def test_retries_of_an_empty_answer_are_bounded(llm_server: LLMServerFactory) -> None:
    server = await llm_server(default=empty())
    gen = generator(server, openai_retry_attempts=3)
    with pytest.raises(GenerateError) as caught:
        await gen.generate(task(only=["slugify"]))
    await gen.aclose()
    assert len(server.requests) == 3
    assert [f.code for f in getattr(caught.value, "findings", [])] == ["RPL001"]


# ---------------------------------------------------------------- refusals


async def test_a_refusal_is_a_finding(llm_server: LLMServerFactory) -> None:
    _, findings = await findings_of(llm_server, task(only=["slugify"]), refusal("No can do."))
    assert [(f.qualified_name, f.code) for f in findings] == [("slugify", "RPL003")]
    assert "No can do." in findings[0].message


async def test_the_content_filter_is_a_refusal(llm_server: LLMServerFactory) -> None:
    reply = completion("", finish_reason="content_filter")
    _, findings = await findings_of(llm_server, task(only=["slugify"]), reply)
    assert [f.code for f in findings] == ["RPL003"]


async def test_a_reply_without_code_is_a_finding_and_the_other_stubs_are_kept(
    llm_server: LLMServerFactory,
) -> None:
    replies = by_stub(
        {
            "Cart.total": fenced("return Decimal(0)", prompt_tokens=7),
            "Cart.checkout": completion("I would need to know the gateway's API first."),
            "slugify": fenced(GOOD),
        }
    )
    server = await llm_server(default=replies)
    gen = generator(server)
    with pytest.raises(GenerateError) as caught:
        await gen.generate(task())
    await gen.aclose()
    error = caught.value
    assert [(f.qualified_name, f.code) for f in getattr(error, "findings", [])] == [
        ("Cart.checkout", "RPL001")
    ]
    assert "gateway's API" in error.findings[0].message  # type: ignore[attr-defined]
    kept = getattr(error, "bodies", [])
    assert [(b.qualified_name, b.code) for b in kept] == [
        ("Cart.total", "return Decimal(0)"),
        ("slugify", GOOD),
    ]
    assert error.details["prompt_tokens"] == 7 + 10 + 10  # every call is accounted for


# ---------------------------------------------------------------- helpers

MODULE = '''\
"""Words."""

import re


class Text:
    """Some text."""

    def __init__(self, value: str) -> None:
        self.value = value

    def words(self) -> list[str]:
        """The words, lower-cased."""
        ...

    def size(self) -> int:
        return len(self.value)


def slugify(text: str) -> str:
    """Lower-case ``text`` and join its words with dashes."""
    ...
'''


def module_task(stub: str) -> GenerationTask:
    return GenerationTask(extraction=extract_stubs(MODULE), source=MODULE, only=[stub])


async def filled_module(llm_server: LLMServerFactory, stub: str, reply: str) -> tuple[str, str]:
    """The body generated for ``stub`` of ``MODULE`` when every answer is ``reply``, and the
    module with it injected."""
    server = await llm_server(default=completion(reply))
    gen = generator(server)
    try:
        [body] = await gen.generate(module_task(stub))
    finally:
        await gen.aclose()
    return body.code, inject_bodies(MODULE, {stub: body.code}).source


async def module_findings(llm_server: LLMServerFactory, stub: str, reply: str) -> list[Finding]:
    """The findings when every answer for ``stub`` of ``MODULE`` is ``reply``."""
    _, findings = await findings_of(llm_server, module_task(stub), completion(reply))
    return findings


def run(module: str, expression: str) -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(module, "<generated>", "exec"), namespace)
    return eval(expression, namespace)


async def test_module_level_helpers_beside_the_def_are_carried_into_the_body(
    llm_server: LLMServerFactory,
) -> None:
    reply = (
        "Here you go:\n```python\nimport re\n\n"
        '_SEPARATORS = re.compile(r"[^a-z0-9]+")\n\n\n'
        "def _words(text: str) -> list[str]:\n"
        "    return [w for w in _SEPARATORS.split(text.lower()) if w]\n\n\n"
        "def unused_example() -> None:\n    pass\n\n\n"
        "def slugify(text: str) -> str:\n"
        '    """Lower-case the text."""\n'
        '    return "-".join(_words(text))\n\n\n'
        'print(slugify("Hello, World"))\n```'
    )
    code, filled = await filled_module(llm_server, "slugify", reply)
    assert "def _words(text: str) -> list[str]:" in code
    assert "_SEPARATORS = re.compile" in code
    assert "unused_example" not in code and "print" not in code
    assert run(filled, "slugify('Hello, big  World!')") == "hello-big-world"


async def test_a_new_method_in_a_re_emitted_class_is_a_finding(
    llm_server: LLMServerFactory,
) -> None:
    reply = (
        "```python\nclass Text:\n"
        "    def __init__(self, value: str) -> None:\n        self.value = value\n\n"
        "    def words(self) -> list[str]:\n        return self._split(self.value.lower())\n\n"
        "    def _split(self, text: str) -> list[str]:\n        return text.split()\n\n"
        "    def size(self) -> int:\n        ...\n```"
    )
    findings = await module_findings(llm_server, "Text.words", reply)
    [finding] = findings
    assert (finding.qualified_name, finding.rule, finding.code) == ("Text.words", "reply", "RPL004")
    assert "`Text._split`" in finding.message
    assert "nested function" in finding.message


async def test_a_changed_existing_member_is_a_finding(llm_server: LLMServerFactory) -> None:
    reply = (
        "```python\nclass Text:\n"
        "    def __init__(self, value: str) -> None:\n"
        "        self.value = value\n        self.cache = value.lower().split()\n\n"
        "    def words(self) -> list[str]:\n        return self.cache\n```"
    )
    findings = await module_findings(llm_server, "Text.words", reply)
    assert [(f.code, "`Text.__init__`" in f.message) for f in findings] == [("RPL005", True)]


async def test_a_re_emitted_class_with_its_members_unchanged_gives_the_method(
    llm_server: LLMServerFactory,
) -> None:
    reply = (
        "```python\nimport re\n\n\nclass Text:\n"
        '    """Some text."""\n\n'
        "    def __init__(self, value: str) -> None:\n"
        "        # the same code, another layout\n        self.value = (value)\n\n"
        "    def words(self) -> list[str]:\n"
        "        return self.value.lower().split()\n\n"
        "    def size(self) -> int:\n        ...  # unchanged\n```"
    )
    _, filled = await filled_module(llm_server, "Text.words", reply)
    assert run(filled, "Text('A b').words()") == ["a", "b"]
    assert run(filled, "Text('A b').size()") == 3


async def test_an_event_stream_with_comments_and_no_content_type(
    llm_server: LLMServerFactory,
) -> None:
    text = ": keep-alive\n\n" + event_stream(GOOD).body
    reply = Reply(body=text, headers={"Content-Type": "application/json"})
    assert await body_of(llm_server, reply) == GOOD


async def test_a_helper_named_like_a_parameter_is_not_carried_in(
    llm_server: LLMServerFactory,
) -> None:
    """The def's ``text`` is its parameter: the module-level ``text`` beside it is not its."""
    reply = (
        '```python\ntext = "an example"\n\n\n'
        "def slugify(text: str) -> str:\n"
        '    return "-".join(text.lower().split())\n\n\n'
        "print(slugify(text))\n```"
    )
    _, filled = await filled_module(llm_server, "slugify", reply)
    assert "an example" not in filled
    assert run(filled, "slugify('A b')") == "a-b"


async def test_a_helper_method_written_beside_the_method_is_a_finding(
    llm_server: LLMServerFactory,
) -> None:
    reply = (
        "```python\ndef words(self) -> list[str]:\n"
        "    return self._split(self.value.lower())\n\n\n"
        "def _split(self, text: str) -> list[str]:\n    return text.split()\n```"
    )
    findings = await module_findings(llm_server, "Text.words", reply)
    assert [(f.code, "`Text._split`" in f.message) for f in findings] == [("RPL004", True)]


PROPERTY_MODULE = """\
class Box:
    def __init__(self) -> None:
        self._size = 0

    @property
    def size(self) -> int:
        return self._size

    @size.setter
    def size(self, value: int) -> None:
        raise NotImplementedError
"""


async def test_a_whole_def_reply_for_a_setter_is_unwrapped(llm_server: LLMServerFactory) -> None:
    server = await llm_server()
    server.enqueue(fenced("def size(self, value: int) -> None:\n    self._size = value"))
    gen = generator(server)
    extraction = extract_stubs(PROPERTY_MODULE)
    assert [stub.qualified_name for stub in extraction.stubs] == ["Box.size.setter"]
    try:
        [body] = await gen.generate(GenerationTask(extraction=extraction, source=PROPERTY_MODULE))
    finally:
        await gen.aclose()
    filled = inject_bodies(PROPERTY_MODULE, {body.qualified_name: body.code}).source
    assert filled == PROPERTY_MODULE.replace("raise NotImplementedError", "self._size = value")
