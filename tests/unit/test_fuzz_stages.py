"""Fuzzing the entry points bad input reaches: the decoder, each stage's runner, the stages.

Whatever the bytes, the decoder raises only ``DecodeError``; a stage's runner returns its
output record or a ``failed`` record, each with a metrics event, and never an internal
error; the pure stages raise only their ``StageError`` subclasses.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.catalogue import STAGE_OUTPUTS, STAGE_ROUTED_OUTPUTS, STAGES
from pipeline.client import build_request
from pipeline.errors import StageError
from pipeline.processors import build_processor
from pipeline.records import (
    CodeGenerated,
    CodeInjected,
    CodeValidated,
    CodeVerified,
    DecodeError,
    FileStored,
    GenerationRequest,
    MetricsEvent,
    Record,
    RequestFailed,
    StubsExtracted,
    decode,
    encode,
)
from pipeline.settings import Settings
from pipeline.stages.extract import ExtractError, ExtractOptions, extract_stubs
from pipeline.stages.inject import InjectError, inject_bodies
from pipeline.stages.validate import ValidateError, ValidateOptions, validate_bodies
from pipeline.workers.runner import Outgoing, StageRunner, shown_key
from tests.fixtures import EXAMPLES

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

MODULES = sorted(EXAMPLES.glob("*.py"))
EXAMPLE_SOURCES = [module.read_text(encoding="utf-8") for module in MODULES]
EXAMPLE_LINES = sorted({line for source in EXAMPLE_SOURCES for line in source.splitlines()})
EXAMPLE_NAMES = sorted(
    {name for module in MODULES for name in build_request(module).bodies}
    | {"Inventory", "missing", "Inventory.add_itme"}
)

OUTPUT_MODELS: dict[str, type[Record]] = {
    "stubs": StubsExtracted,
    "generated": CodeGenerated,
    "validated": CodeValidated,
    "injected": CodeInjected,
    "verified": CodeVerified,
    "stored": FileStored,
    "repairs": StubsExtracted,
}
INPUT_MODELS: dict[str, type[Record]] = {
    "extract": GenerationRequest,
    "generate": StubsExtracted,
    "validate": CodeGenerated,
    "inject": CodeValidated,
    "verify": CodeInjected,
    "store": CodeVerified,
}
ROUTED = {stage: set(topics) for stage, topics in STAGE_ROUTED_OUTPUTS.items()}

# -- strategies ------------------------------------------------------------------------------

# Strings a mutation likes to put in a record: names, paths, generators, odd characters.
INTERESTING = st.sampled_from(
    [
        "",
        " ",
        "..",
        "../x.py",
        "/abs.py",
        "a/b.py",
        "x\x00y",
        "\ud800",
        "é",
        "openai",
        "provided",
        "pass",
        "return (",
        "...",
        "raise NotImplementedError",
        "ellipsis",
        "comment:",
        "raise:",
        "0" * 300,
        *EXAMPLE_NAMES,
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    INTERESTING,
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=12), INTERESTING), children, max_size=4),
    ),
    max_leaves=20,
)


def code_text() -> st.SearchStrategy[str]:
    """Python-looking text: lines of the example modules, reindented, cut and mixed."""
    line = st.one_of(
        st.sampled_from(EXAMPLE_LINES),
        st.text(max_size=20),
        st.sampled_from(["    ", "\t", "\\", "(", ")", ":", "'''", '"', "#", "\r", "\x0c"]),
    )
    indented = st.tuples(st.sampled_from(["", "    ", "        ", "  ", "\t"]), line).map(
        lambda parts: parts[0] + parts[1].lstrip()
    )
    return st.lists(st.one_of(line, indented), max_size=25).map("\n".join)


def sources() -> st.SearchStrategy[str]:
    """Example modules cut anywhere, code-like fragments and arbitrary text."""
    whole = st.sampled_from(EXAMPLE_SOURCES)
    cut = st.tuples(whole, st.integers(0, 10_000), st.integers(0, 10_000)).map(
        lambda t: t[0][: min(t[1], t[2])] + t[0][max(t[1], t[2]) :]
    )
    return st.one_of(whole, cut, code_text(), st.text(max_size=200))


def paths_in(document: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside a JSON document."""
    yield prefix
    if isinstance(document, dict):
        for key, value in document.items():
            yield from paths_in(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from paths_in(value, (*prefix, index))


def mutate_text(data: st.DataObject, text: str) -> str:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 40)))
    inserted = data.draw(st.one_of(st.text(max_size=10), INTERESTING, code_text()))
    return text[:start] + inserted + text[end:]


def mutated(data: st.DataObject, document: Any) -> Any:
    """``document`` with one to three changes.

    Most change a string in place (the source, a body, a name, a path), which keeps the record
    valid and takes the stage's logic somewhere new; the others replace, remove or add values
    of any type, which mostly make the record invalid.
    """
    document = json.loads(json.dumps(document))
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [path for path in paths_in(document) if path]
        if not paths:
            return data.draw(JSON_VALUES)
        strings = [path for path in paths if isinstance(_at(document, path), str)]
        if strings and data.draw(st.integers(0, 9)) < 7:
            path = data.draw(st.sampled_from(strings))
            parent, key = _at(document, path[:-1]), path[-1]
            edit = data.draw(st.booleans())
            parent[key] = mutate_text(data, parent[key]) if edit else data.draw(INTERESTING)
            continue
        path = data.draw(st.sampled_from(paths))
        parent, key = _at(document, path[:-1]), path[-1]
        value = parent[key]
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete":
            del parent[key]
        elif action == "add" and isinstance(value, dict):
            value[data.draw(st.one_of(INTERESTING, st.text(max_size=8)))] = data.draw(JSON_VALUES)
        elif action == "add" and isinstance(value, list):
            value.append(data.draw(JSON_VALUES))
        else:
            parent[key] = data.draw(JSON_VALUES)
    return document


def _at(document: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        document = document[step]
    return document


def as_bytes(document: Any) -> bytes:
    return json.dumps(document).encode()


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def fuzz_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("fuzz")
    return Settings(
        store_root=root / "store",
        state_dir=root / "state",
        processing_retries=1,
        max_source_bytes=64 * 1024,
        # a closed port: a record that asks for the openai generator fails fast
        openai_base_url="http://127.0.0.1:9/v1",
        openai_retry_attempts=1,
        openai_timeout=2.0,
    )


@pytest.fixture(scope="module")
def runners(
    loop: asyncio.AbstractEventLoop, fuzz_settings: Settings
) -> Iterator[dict[str, StageRunner]]:
    built = {
        stage: StageRunner(build_processor(stage, fuzz_settings), fuzz_settings) for stage in STAGES
    }
    yield built
    for runner in built.values():
        loop.run_until_complete(runner.processor.aclose())


@pytest.fixture(scope="module")
def valid_records(
    loop: asyncio.AbstractEventLoop, runners: dict[str, StageRunner]
) -> dict[str, list[Any]]:
    """For each stage, the JSON documents of good input records (from the examples)."""
    records: dict[str, list[Any]] = {stage: [] for stage in STAGES}
    for index, module in enumerate(MODULES):
        request = build_request(module, output_path=f"seed/{index}/{module.name}")
        # The bodies that pass at once: a repair's detour is not what is fuzzed here.
        request = request.model_copy(
            update={"bodies": request.bodies_for(1 + len(request.later_bodies)), "later_bodies": []}
        )
        value = encode(request)
        for stage in STAGES:
            records[stage].append(json.loads(value))
            out = loop.run_until_complete(runners[stage].handle(b"seed", value, "seed"))
            assert out[0].topic == STAGE_OUTPUTS[stage], out[0].value
            value = out[0].value
    return records


def check_outputs(stage: str, out: list[Outgoing]) -> None:
    """The stage's output or a failed record, then the metrics event; no internal error."""
    assert len(out) == 2, out
    first, metrics = out
    assert metrics.topic == "metrics"
    event = decode(MetricsEvent, metrics.value)
    assert event.stage == stage
    assert metrics.key == first.key
    if first.key != event.request_id.encode():  # a key that cannot be an id: kept as sent
        assert first.topic == "failed" and event.request_id == shown_key(first.key)
    if first.topic == "failed":
        failed = decode(RequestFailed, first.value)
        assert failed.stage == stage
        assert failed.error_code != "INTERNAL_ERROR", failed.message
        assert failed.message.strip()
        assert event.outcome == "failed" and event.error_code == failed.error_code
    else:
        assert first.topic in {STAGE_OUTPUTS[stage], *ROUTED.get(stage, ())}, first.topic
        decode(OUTPUT_MODELS[first.topic], first.value)
        assert event.outcome in ("ok", "retry")


# -- the decoder -----------------------------------------------------------------------------


def decodes_or_refuses(model: type[Record], data: bytes) -> None:
    try:
        record = decode(model, data, max_bytes=4096)
    except DecodeError as error:
        assert error.code in {
            "NOT_JSON",
            "NOT_UTF8",
            "SCHEMA_MISMATCH",
            "RECORD_TOO_LARGE",
        }, error.code
        assert error.message
    else:
        assert isinstance(record, model)


@FUZZ
@given(model=st.sampled_from(list(INPUT_MODELS.values())), data=st.binary(max_size=300))
def test_decoding_arbitrary_bytes_raises_only_decode_error(
    model: type[Record], data: bytes
) -> None:
    decodes_or_refuses(model, data)


@FUZZ
@given(model=st.sampled_from(list(INPUT_MODELS.values())), document=JSON_VALUES)
def test_decoding_arbitrary_json_raises_only_decode_error(
    model: type[Record], document: Any
) -> None:
    decodes_or_refuses(model, as_bytes(document))
    decodes_or_refuses(model, json.dumps(document, ensure_ascii=False).encode("utf-8", "replace"))


@FUZZ
@given(data=st.data())
def test_decoding_mutated_requests_raises_only_decode_error(data: st.DataObject) -> None:
    module = data.draw(st.sampled_from(MODULES))
    document = json.loads(encode(build_request(module)))
    decodes_or_refuses(GenerationRequest, as_bytes(mutated(data, document)))


def test_decoding_none_is_an_empty_record() -> None:
    with pytest.raises(DecodeError) as caught:
        decode(GenerationRequest, None)
    assert caught.value.code == "EMPTY_RECORD"


# -- each stage's entry ----------------------------------------------------------------------

KEYS = st.one_of(st.none(), st.binary(max_size=12), st.sampled_from([b"fuzz", b"\xff", b" "]))


@pytest.mark.parametrize("stage", STAGES)
@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(key=KEYS, value=st.one_of(st.none(), st.binary(max_size=200)))
def test_a_stage_turns_arbitrary_bytes_into_a_failed_record(
    loop: asyncio.AbstractEventLoop,
    runners: dict[str, StageRunner],
    stage: str,
    key: bytes | None,
    value: bytes | None,
) -> None:
    out = loop.run_until_complete(runners[stage].handle(key, value, "fuzz[0]@0"))
    check_outputs(stage, out)
    assert out[0].topic == "failed"


@pytest.mark.parametrize(
    ("stage", "examples"),
    [
        ("extract", 300),
        ("generate", 200),
        ("validate", 100),
        ("inject", 200),
        ("verify", 25),  # a sandboxed run each
        ("store", 150),
    ],
)
def test_a_stage_handles_mutated_records_of_its_input(
    loop: asyncio.AbstractEventLoop,
    runners: dict[str, StageRunner],
    valid_records: dict[str, list[Any]],
    stage: str,
    examples: int,
) -> None:
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data(), key=KEYS)
    def check(data: st.DataObject, key: bytes | None) -> None:
        document = mutated(data, data.draw(st.sampled_from(valid_records[stage])))
        out = loop.run_until_complete(runners[stage].handle(key, as_bytes(document), "fuzz"))
        check_outputs(stage, out)

    check()


# -- the pure stages -------------------------------------------------------------------------


@FUZZ
@given(source=st.one_of(st.text(), sources()), skip_bodiless=st.booleans())
def test_extract_stubs_raises_only_extract_errors(source: str, skip_bodiless: bool) -> None:
    try:
        result = extract_stubs(source, ExtractOptions(skip_bodiless=skip_bodiless), path="f.py")
    except ExtractError as error:
        assert error.code == "SOURCE_SYNTAX_ERROR"
    else:
        assert all(stub.qualified_name for stub in result.stubs)


@FUZZ
@given(markers=st.lists(st.one_of(st.text(max_size=20), INTERESTING), max_size=4))
def test_extract_stub_markers_raise_only_invalid_marker(markers: list[str]) -> None:
    try:
        extract_stubs(EXAMPLE_SOURCES[0], ExtractOptions(markers=markers))
    except ExtractError as error:
        assert error.code == "INVALID_MARKER"


BODIES = st.dictionaries(
    st.one_of(st.sampled_from(EXAMPLE_NAMES), st.text(max_size=15)),
    st.one_of(st.text(max_size=60), code_text(), INTERESTING),
    max_size=4,
)


@FUZZ
@given(source=sources(), bodies=BODIES)
def test_inject_bodies_raises_only_inject_errors(source: str, bodies: dict[str, str]) -> None:
    try:
        result = inject_bodies(source, bodies)
    except InjectError as error:
        assert error.message
    else:
        assert result.filled == list(bodies)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=sources(), bodies=BODIES, strict=st.booleans())
def test_validate_bodies_raises_only_stage_errors(
    source: str, bodies: dict[str, str], strict: bool
) -> None:
    try:
        validate_bodies(source, bodies, ValidateOptions(strict=strict))
    except (InjectError, ValidateError) as error:
        assert isinstance(error, StageError) and error.message


# Deep nesting: libcst's visitors hit the recursion limit some 300 levels deep, its native
# parser overflows the stack (SIGSEGV, the worker dies) some thousands of levels deep, CPython's
# parser gives up at about 3,000, and an `and`/`or` chain is flat for CPython.
NESTINGS: dict[str, Callable[[int], str]] = {
    "and-chain": lambda n: " and ".join(["x"] * n),
    "or-chain": lambda n: " or ".join(["x"] * n),
    "plus-chain": lambda n: "+".join(["1"] * n),
    "attributes": lambda n: "a" + ".b" * n,
    "calls": lambda n: "f" + "()" * n,
    "unary": lambda n: "-" * n + "1",
    "brackets": lambda n: "[" * n + "]" * n,
    "open-brackets": lambda n: "[" * n,
    "and-of-deep": lambda n: " and ".join(["x"] * n) + " and " + "-" * 2900 + "1",
}


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(sorted(NESTINGS)),
    depth=st.sampled_from([250, 1_500, 8_000]),
    where=st.sampled_from(["body", "source"]),
)
def test_deeply_nested_code_is_an_inject_error_not_a_crash(
    kind: str, depth: int, where: str
) -> None:
    expression = NESTINGS[kind](depth)
    source, bodies = EXAMPLE_SOURCES[0], {"Inventory.add_item": f"return {expression}\n"}
    if where == "source":
        source = source.replace("    pass\n", f"    return {expression}\n", 1)
        bodies = {"Inventory.add_item": "return None\n"}
    try:
        inject_bodies(source, bodies)
    except InjectError as error:
        assert error.code in ("BODY_SYNTAX_ERROR", "SOURCE_SYNTAX_ERROR"), error.code
        assert error.message


def test_the_example_records_are_what_the_fuzzers_start_from(
    valid_records: dict[str, list[Any]],
) -> None:
    assert all(len(documents) == len(MODULES) for documents in valid_records.values())
    for stage, documents in valid_records.items():
        for document in documents:
            assert isinstance(decode(INPUT_MODELS[stage], as_bytes(document)), Record)


def test_examples_are_there() -> None:
    assert MODULES and all(Path(module).is_file() for module in MODULES)
