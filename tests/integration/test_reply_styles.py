"""Replies in the styles real servers and models answer in, through the whole pipeline: real
broker, every stage worker its own OS process, the scripted OpenAI-compatible server.

Every request ends ``stored`` with a correct file or ``failed`` with a clear reason, never
``stored`` with wrong code.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.client import PipelineClient
from pipeline.records import FileStored, GenerationRequest, RequestFailed
from pipeline.settings import Settings
from pipeline.stages.inject import inject_bodies
from pipeline.workers.supervisor import Supervisor
from tests.integration.test_generation import (
    STAGE_WORKERS,
    gather_results,
    openai_settings,
    prepared,
    request_for,
)
from tests.support import llm_server as llm
from tests.support.llm_server import LLMServer, Received, Reply, fenced

pytestmark = pytest.mark.integration

GOOD = 'return "-".join(text.lower().split())'
WRONG = "def {name}(text: str) -> str:\n    return text"
WORDS = "return self.value.lower().split()"

FUNCTION = '''\
"""Slugs, answered {name}."""


def {name}(text: str) -> str:
    """Lower-case ``text`` and join its words with dashes."""
    ...
'''

TEXT = '''\
"""Text."""


class Text:
    """Some text."""

    def __init__(self, value: str) -> None:
        self.value = value

    def words(self) -> list[str]:
        """The words, lower-cased."""
        ...
'''

WITH_HELPER_METHOD = (
    "```python\nclass Text:\n"
    "    def words(self) -> list[str]:\n        return self._split(self.value.lower())\n\n"
    "    def _split(self, text: str) -> list[str]:\n        return text.split()\n```"
)
WITH_MODULE_HELPER = (
    "```python\nimport re\n\n"
    '_SEPARATORS = re.compile(r"[^a-z0-9]+")\n\n\n'
    "def _words(text: str) -> list[str]:\n"
    "    return [w for w in _SEPARATORS.split(text.lower()) if w]\n\n\n"
    "def module_helper(text: str) -> str:\n"
    '    return "-".join(_words(text))\n```'
)


def styles() -> dict[str, list[Reply]]:
    """The replies each stub gets, in order; then the good body."""
    return {
        "cut_then_good": [llm.cut("words = text.lower().split()")],
        "always_cut": [llm.cut("words = text.lower().split()")] * 5,
        "lone_think": [llm.lone_think(GOOD, draft=WRONG.format(name="lone_think"))],
        "reasoning_field": [llm.with_reasoning_field(GOOD, WRONG.format(name="reasoning_field"))],
        "reasoning_only": [llm.completion("", reasoning=f"```python\n{GOOD}\n```")],
        "parts": [llm.content_parts(GOOD, draft=WRONG.format(name="parts"))],
        "stream": [llm.event_stream(GOOD)],
        "refused_then_good": [llm.refusal("I can't help with that.")],
        "empty_then_good": [llm.empty()],
        "no_code_then_good": [llm.completion("You could split the text and join it.")],
        "module_helper": [llm.completion(WITH_MODULE_HELPER)],
        "Text.words": [llm.completion(WITH_HELPER_METHOD)],
    }


class StyledModel:
    """Answers each stub with its scripted replies first, then with its good body."""

    def __init__(self) -> None:
        self.queued = styles()
        self.served: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, request: Received) -> Reply:
        name = request.stub_name or ""
        with self._lock:
            self.served[name] = self.served.get(name, 0) + 1
            queued = self.queued.get(name)
            if queued:
                return queued.pop(0)
        return fenced(WORDS if name == "Text.words" else GOOD)


@pytest.fixture
def styled_server() -> Iterator[tuple[StyledModel, LLMServer]]:
    model = StyledModel()
    server = LLMServer(default=model)
    server.start_in_thread()
    yield model, server
    server.stop_in_thread()


def run(path: Path, expression: str) -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)
    return eval(expression, namespace)


async def test_every_reply_style_ends_stored_right_or_failed_clearly(
    settings_factory: Callable[..., Settings],
    workers_factory: Callable[..., Supervisor],
    client_factory: Callable[[Settings], Awaitable[PipelineClient]],
    styled_server: tuple[StyledModel, LLMServer],
) -> None:
    model, server = styled_server
    settings = await prepared(openai_settings(settings_factory, server, openai_retry_attempts=3))
    client = await client_factory(settings)
    workers = workers_factory(settings, STAGE_WORKERS)

    names = [name for name in styles() if name != "Text.words"]
    requests: dict[str, GenerationRequest] = {
        name: request_for(FUNCTION.format(name=name), f"styles/{name}.py") for name in names
    }
    requests["Text.words"] = request_for(TEXT, "styles/text.py")
    for request in requests.values():
        await client.submit(request)
    results = await gather_results(client, list(requests.values()))
    outcome = {name: results[request.request_id] for name, request in requests.items()}

    # cut at every attempt: failed by generate, with the reason, after max_attempts
    failure = outcome.pop("always_cut")
    assert isinstance(failure, RequestFailed), failure
    assert (failure.stage, failure.error_code, failure.attempts) == (
        "generate",
        "REPLY_UNUSABLE",
        3,
    )
    assert "token limit" in failure.message
    assert {f["code"] for f in failure.details["findings"]} == {"RPL002"}
    assert model.served["always_cut"] == 3
    assert not (settings.store_root / "styles/always_cut.py").exists()

    for name, result in outcome.items():
        assert isinstance(result, FileStored), (name, result)
        written = Path(result.artifact.path)
        source = requests[name].source
        if name == "module_helper":  # the helpers came into the body
            assert "def _words(text: str) -> list[str]:" in written.read_text(encoding="utf-8")
            assert run(written, "module_helper('Hello, big World!')") == "hello-big-world"
        elif name == "Text.words":
            expected = inject_bodies(source, {name: WORDS}).source
            assert written.read_text(encoding="utf-8") == expected
            assert run(written, "Text('A b').words()") == ["a", "b"]
        else:
            expected = inject_bodies(source, {name: GOOD}).source
            assert written.read_text(encoding="utf-8") == expected, name
            assert run(written, f"{name}('A  B c')") == "a-b-c"

    # asked again through the repair loop, once, with a note on what was wrong
    for name in ("cut_then_good", "refused_then_good", "no_code_then_good", "Text.words"):
        assert model.served[name] == 2, name
    prompts = {r.stub_name: r.user_prompt for r in server.completion_requests}
    assert "This is attempt 2" in prompts["refused_then_good"]
    assert "I can't help with that." in prompts["refused_then_good"]
    assert "RPL004" in prompts["Text.words"] and "`Text._split`" in prompts["Text.words"]
    # retried by the client, not the loop
    assert model.served["empty_then_good"] == 2
    assert model.served["reasoning_only"] == 2
    for name in ("lone_think", "reasoning_field", "parts", "stream", "module_helper"):
        assert model.served[name] == 1, name
    assert not workers.exited(), "no worker died"
