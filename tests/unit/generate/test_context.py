"""The module context of the prompts: what a body needs, within the budget, shared by stubs."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.models import ExtractionResult, GeneratedBody
from pipeline.processors.stages import GenerateProcessor
from pipeline.records import GenerationRequest, StubsExtracted
from pipeline.settings import Settings
from pipeline.stages.extract import extract_stubs
from pipeline.stages.generate import GenerationTask, Generator
from pipeline.stages.generate.context import (
    ModuleContext,
    build_module_context,
)
from pipeline.stages.generate.prompts import HouseRules, build_messages, module_section
from tests.support.llm_fixtures import LLMServerFactory

from .helpers import SOURCE, generator

LEXER = '''\
"""A small lexer."""

import re
from collections import deque
from dataclasses import dataclass, field
from typing import NamedTuple

from pydantic import BaseModel

WHITESPACE = " \\t\\n"
MAX_DEPTH: int = 8
_TABLE = {"alpha": 1, "beta": 2, "gamma": 3, "delta": 4, "epsilon": 5, "zeta": 6, "eta": 7}
_word = re.compile(r"\\w+")


def is_word(text: str) -> bool:
    """True when ``text`` is one word.

    More details that are not shown.
    """
    return bool(_word.fullmatch(text))


@dataclass(frozen=True)
class Token:
    """One token."""

    kind: str
    text: str = ""
    tags: list[str] = field(default_factory=list)


class Span(NamedTuple):
    start: int
    end: int


class Options(BaseModel):
    strict: bool = False


class Reader:
    """Reads characters."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def peek(self) -> str:
        """The next character."""
        return self.text[self.position]


class Lexer(Reader):
    """Splits a text into tokens."""

    quotes = "'\\""

    def __init__(self, text: str, posix: bool = False) -> None:
        super().__init__(text)
        self.state = " "
        self.pushback = deque()
        if posix:
            self.escape = "\\\\"

    def reset(self) -> None:
        self.token = ""
        self.lineno = 1

    def read_token(self) -> Token:
        """Read one token."""
        raise NotImplementedError

    def push(self, token: Token) -> None:
        """Push a token back."""
        # IMPLEMENTATION REQUIRED
        pass


def tokens(text: str) -> list[Token]:
    """Every token of ``text``."""
    raise NotImplementedError
'''


def _extraction(source: str = LEXER) -> ExtractionResult:
    return extract_stubs(source)


def _outline() -> ModuleContext:
    """The whole outline: a budget just below the module's size."""
    context = build_module_context(LEXER, _extraction(), budget=len(LEXER) - 200)
    assert context.view == "outline" and context.dropped_lines == 0
    return context


def test_the_stubs_are_those_of_the_example() -> None:
    names = [stub.qualified_name for stub in _extraction().stubs]
    assert names == ["Lexer.read_token", "Lexer.push", "tokens"]


def test_the_attributes_init_sets_are_shown_with_their_values() -> None:
    code = _outline().code
    assert "self.state = ' '" in code
    assert "self.pushback = deque()" in code
    assert "self.escape = '\\\\'" in code  # set in a block of __init__


def test_attributes_set_by_other_methods_are_named() -> None:
    assert "# set by other methods: self.token, self.lineno" in _outline().code


def test_the_attributes_of_a_base_class_in_the_module_are_shown() -> None:
    code = _outline().code
    assert "class Reader:" in code
    assert "self.position = 0" in code


def test_class_fields_and_class_decorators_are_shown() -> None:
    code = _outline().code
    assert "@dataclass(frozen=True)\nclass Token:" in code
    assert "    kind: str\n    text: str = ''\n    tags: list[str] = field(" in code
    assert "class Span(NamedTuple):\n    start: int\n    end: int" in code
    assert "class Options(BaseModel):\n    strict: bool = False" in code
    assert "    quotes = '\\'\"'" in code


def test_the_module_level_names_are_shown() -> None:
    code = _outline().code
    assert 'def is_word(text: str) -> bool:\n    """True when ``text`` is one word."""' in code
    assert "More details" not in code  # only the first docstring line
    assert "WHITESPACE = ' \\t\\n'" in code
    assert "MAX_DEPTH: int = 8" in code
    assert "_TABLE = ..." in code  # a long value is left out
    assert "_word = re.compile('\\\\w+')" in code
    assert "def tokens(text: str) -> list[Token]:" in code


def test_the_imports_are_shown() -> None:
    code = _outline().code
    for line in ("import re", "from collections import deque", "from pydantic import BaseModel"):
        assert line in code


def test_bodies_are_left_out_of_the_outline() -> None:
    code = _outline().code
    assert "_word.fullmatch" not in code
    assert "return self.text[self.position]" not in code


def test_a_module_that_fits_is_shown_whole_with_the_stub_bodies_elided() -> None:
    context = build_module_context(LEXER, _extraction(), budget=100_000)
    assert context.view == "module"
    assert "return self.text[self.position]" in context.code  # other bodies are kept
    assert "raise NotImplementedError" not in context.code
    assert "IMPLEMENTATION REQUIRED" not in context.code
    assert '        """Read one token."""\n        ...\n' in context.code
    assert context.shown_classes == {"Lexer"}


@pytest.mark.parametrize("budget", [0, 100, 300, 600, 900, 1200, 1500, 1800])
def test_the_budget_is_respected(budget: int) -> None:
    context = build_module_context(LEXER, _extraction(), budget=budget)
    assert len(context.code) <= budget


def test_the_least_useful_lines_go_first() -> None:
    full = _outline().code
    context = build_module_context(LEXER, _extraction(), budget=len(full) - 40)
    assert context.dropped_lines > 0
    # the docstrings of classes without stubs go first; the stubbed class keeps everything
    assert '"""One token."""' not in context.code
    assert '"""Reads characters."""' in context.code  # a base of the stubbed class
    assert "self.pushback = deque()" in context.code
    assert "Lexer" in context.shown_classes


def test_imports_and_names_outlast_the_members() -> None:
    context = build_module_context(LEXER, _extraction(), budget=400)
    assert "import re" in context.code and "from pydantic import BaseModel" in context.code
    assert "self.pushback" not in context.code
    assert "Lexer" not in context.shown_classes


def test_the_context_is_deterministic() -> None:
    for budget in (500, 1500, 100_000):
        first = build_module_context(LEXER, _extraction(), budget=budget)
        assert build_module_context(LEXER, _extraction(), budget=budget) == first


def test_the_shared_part_is_byte_identical_across_the_stubs() -> None:
    extraction = _extraction()
    for budget in (800, 100_000):
        context = build_module_context(LEXER, extraction, budget=budget)
        prompts = [build_messages(s, context, HouseRules()) for s in extraction.stubs]
        systems = {system.content for system, _user in prompts}
        assert len(systems) == 1
        shared = module_section(context)
        assert all(user.content.startswith(shared) for _system, user in prompts)
        assert all(f"`{s.qualified_name}`" not in shared for s in extraction.stubs)
        users = [user.content for _system, user in prompts]
        assert len(set(users)) == len(users)


def test_a_class_shown_in_the_context_is_not_repeated_for_its_methods() -> None:
    extraction = _extraction()
    stub = extraction.stubs[0]
    shown = build_module_context(LEXER, extraction, budget=100_000)
    _system, user = build_messages(stub, shown, HouseRules())
    assert "The class in outline" not in user.content
    assert "The other methods of the class" not in user.content


def test_a_class_that_does_not_fit_gets_its_own_outline_in_its_stubs_part() -> None:
    extraction = _extraction()
    stub = extraction.stubs[0]
    context = build_module_context(LEXER, extraction, budget=400)
    assert "Lexer" not in context.shown_classes
    own = context.class_outline("Lexer")
    assert own is not None and len(own) <= 200
    assert own.startswith("class Lexer(Reader):")
    assert "    def __init__(self, text: str, posix: bool=False) -> None:" in own
    _system, user = build_messages(stub, context, HouseRules())
    shared, _, own_part = user.content.partition("Write the body of")
    assert "self.state = ' '" in own_part and "self.state" not in shared
    assert context.class_outline("Reader") is None  # no stub of its own


def test_without_an_outline_the_class_gets_its_sibling_signatures() -> None:
    extraction = _extraction()
    stub = extraction.stubs[0]
    _system, user = build_messages(stub, extraction.imports, HouseRules())
    assert "The other methods of the class" in user.content
    assert "def reset(self) -> None:" in user.content


def test_a_source_that_does_not_parse_falls_back_to_the_imports() -> None:
    context = build_module_context("def broken(:\n", _extraction(), budget=1000)
    assert context.view == "imports"
    assert "from collections import deque" in context.code


def test_the_cached_context_is_the_built_one() -> None:
    extraction = _extraction()
    built = build_module_context(LEXER, extraction, budget=700)
    assert build_module_context(LEXER, extraction, budget=700, cached=True) == built
    assert build_module_context(None, extraction, cached=True).view == "imports"


# ---------------------------------------------------------------- in the generator


async def test_the_generator_builds_the_context_from_the_source_once_per_request(
    llm_server: LLMServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Any] = []

    def counting(*args: Any, **kwargs: Any) -> ModuleContext:
        calls.append(args)
        return build_module_context(*args, **kwargs)

    monkeypatch.setattr("pipeline.stages.generate.openai.build_module_context", counting)
    server = await llm_server()
    gen = generator(server)
    task = GenerationTask(extraction=extract_stubs(SOURCE), source=SOURCE)
    await gen.generate(task)
    await gen.aclose()
    assert len(calls) == 1
    users = [request.user_prompt for request in server.requests]
    assert len(users) == 3
    shared = users[0][: users[0].index("Write the body of")]
    assert "self.items[sku] = self.items.get(sku, 0) + quantity" in shared
    assert all(user.startswith(shared) for user in users)


FALLBACKS = '''\
try:
    import zlib
    crc32 = zlib.crc32
except ImportError:
    zlib = None
    crc32 = None
    HAVE_ZLIB = False


class Reader:
    def read(self):
        """Read."""
        raise NotImplementedError

    def size(self):
        return len(self.buffer) + self.offset
'''


def test_an_alternative_branch_shows_only_what_it_binds_anew() -> None:
    extraction = extract_stubs(FALLBACKS)
    code = build_module_context(FALLBACKS, extraction, budget=200).code
    assert "import zlib\ncrc32 = zlib.crc32\nHAVE_ZLIB = False" in code
    assert "zlib = None" not in code


def test_attributes_the_methods_read_but_nothing_sets_are_named() -> None:
    # e.g. set by a stubbed __init__, or by a base class outside the module
    extraction = extract_stubs(FALLBACKS)
    code = build_module_context(FALLBACKS, extraction, budget=200).code
    assert "# read by its methods, not set in this class: self.buffer, self.offset" in code


class _Capturing(Generator):
    name = "openai"

    def __init__(self) -> None:
        self.tasks: list[GenerationTask] = []

    async def generate(self, task: GenerationTask) -> list[GeneratedBody]:
        self.tasks.append(task)
        return []


async def test_the_generate_stage_hands_the_source_and_strictness_to_the_generator() -> None:
    capturing = _Capturing()
    processor = GenerateProcessor(Settings(_env_file=None), generators={"openai": capturing})
    request = GenerationRequest(
        source=LEXER, output_path="lexer.py", generator="openai", strict=True
    )
    record = StubsExtracted(
        request_id=request.request_id,
        submitted_at=request.submitted_at,
        request=request,
        extraction=_extraction(),
    )
    await processor.process(record)
    [task] = capturing.tasks
    assert task.source == LEXER and task.strict


async def test_a_strict_request_is_told_that_preferences_are_enforced(
    llm_server: LLMServerFactory,
) -> None:
    server = await llm_server()
    gen = generator(server)
    await gen.generate(
        GenerationTask(extraction=extract_stubs(SOURCE), strict=True, only=["slugify"])
    )
    await gen.aclose()
    [request] = server.requests
    assert "strict mode: the code is rejected when it breaks one" in request.system_prompt


async def test_a_large_module_gets_its_context_too(llm_server: LLMServerFactory) -> None:
    from pipeline.stages.generate.context import CONTEXT_INLINE_LIMIT_CHARS

    padding = "# a long comment line to make the module large\n" * (
        CONTEXT_INLINE_LIMIT_CHARS // 40
    )
    source = SOURCE + padding
    assert len(source) > CONTEXT_INLINE_LIMIT_CHARS  # built in a thread
    server = await llm_server()
    gen = generator(server)
    await gen.generate(GenerationTask(extraction=extract_stubs(source), source=source))
    await gen.aclose()
    assert len(server.requests) == 3
    for request in server.requests:
        assert "An outline of the module" in request.user_prompt
        assert "def slugify(text: str) -> str:" in request.user_prompt
