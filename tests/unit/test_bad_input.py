"""Bad requests end as a clear ``failed`` record from the right stage, never as a crash.

Every stage is driven through ``StageRunner.handle`` with its real processor, as a worker
drives it, so what is asserted here is the exact record a worker would publish.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipeline.catalogue import STAGE_OUTPUTS, STAGES
from pipeline.client import build_request
from pipeline.processors import build_processor
from pipeline.records import (
    CodeGenerated,
    CodeValidated,
    CodeVerified,
    FileStored,
    GenerationRequest,
    MetricsEvent,
    RequestFailed,
    StubsExtracted,
    decode,
    encode,
)
from pipeline.settings import Settings
from pipeline.workers.runner import MAX_DEAD_LETTER_PAYLOAD, RECORD_SIZE_FACTOR, StageRunner
from tests.fixtures import EXAMPLES

ORIGIN = "topic[0]@7"


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "store_root": tmp_path / "store",
        "state_dir": tmp_path / "state",
        "processing_retries": 1,
        "openai_base_url": "http://127.0.0.1:9/v1",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


def good_request(request_id: str = "good-1", output_path: str = "ok/inventory.py") -> Any:
    request = build_request(EXAMPLES / "inventory.py", output_path=output_path)
    return request.model_copy(update={"request_id": request_id})


async def run(stage: str, settings: Settings, value: bytes | None, key: bytes | None = None) -> Any:
    """The records ``stage`` produces for one message: (topic, key, value) triples."""
    runner = StageRunner(build_processor(stage, settings), settings)
    return await runner.handle(key, value, ORIGIN)


async def records_up_to(stage: str, settings: Settings, request: GenerationRequest) -> bytes:
    """The good input record of ``stage`` for ``request``, made by the stages before it."""
    value = encode(request)
    for current in STAGES[: STAGES.index(stage)]:
        out = await run(current, settings, value, request.request_id.encode())
        assert out[0].topic != "failed", decode(RequestFailed, out[0].value)
        value = out[0].value
    return value


def failed_of(out: Any, stage: str, code: str) -> RequestFailed:
    """The failed record of a stage's output, after checking the envelope around it."""
    assert [o.topic for o in out] == ["failed", "metrics"]
    failed = decode(RequestFailed, out[0].value)
    assert out[0].key == failed.request_id.encode()
    assert (failed.stage, failed.error_code) == (stage, code), failed.message
    assert failed.message.strip()
    metrics = decode(MetricsEvent, out[1].value)
    assert (metrics.stage, metrics.outcome, metrics.error_code) == (stage, "failed", code)
    assert metrics.request_id == failed.request_id
    return failed


# -- records that cannot be decoded, at every stage ------------------------------------------

UNDECODABLE: list[tuple[str, bytes, str, str]] = [
    # (case, payload, code, text the message must contain)
    ("not-json", b"this is not json {", "NOT_JSON", "not JSON"),
    ("not-utf8", b'{"source": "\xff\xfe"}', "NOT_UTF8", "not UTF-8"),
    ("wrong-schema", b"[1, 2, 3]", "SCHEMA_MISMATCH", "does not match"),
    ("missing-fields", b'{"request_id": "r"}', "SCHEMA_MISMATCH", "Field required"),
    ("wrong-type", b'{"request_id": ["not", "a", "string"]}', "SCHEMA_MISMATCH", "request_id"),
]


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize(
    ("case", "payload", "code", "says"), UNDECODABLE, ids=[c[0] for c in UNDECODABLE]
)
async def test_undecodable_records_fail_at_every_stage_keeping_the_payload(
    settings: Settings, stage: str, case: str, payload: bytes, code: str, says: str
) -> None:
    out = await run(stage, settings, payload, f"bad-{case}".encode())
    failed = failed_of(out, stage, code)
    assert failed.request_id == f"bad-{case}"
    assert failed.message.startswith(f"{stage}: ")
    assert says in failed.message
    assert failed.details == {"origin": ORIGIN, "bytes": len(payload)}
    if failed.payload_encoding == "base64":
        assert base64.b64decode(failed.payload or "") == payload
    else:
        assert failed.payload_encoding == "utf-8"
        assert failed.payload == payload.decode()
    assert (failed.payload_encoding == "base64") == (code == "NOT_UTF8")


async def test_a_request_missing_its_fields_names_them(settings: Settings) -> None:
    out = await run("extract", settings, b'{"request_id": "r", "bodies": {}}', b"r")
    failed = failed_of(out, "extract", "SCHEMA_MISMATCH")
    assert "GenerationRequest" in failed.message
    assert "source: Field required" in failed.message
    assert "output_path: Field required" in failed.message


async def test_a_field_of_the_wrong_type_is_named(settings: Settings) -> None:
    payload = json.dumps({"source": "x = 1\n", "output_path": "x.py", "bodies": ["x"]}).encode()
    failed = failed_of(await run("extract", settings, payload, b"r"), "extract", "SCHEMA_MISMATCH")
    assert failed.message.endswith("GenerationRequest: bodies: Input should be an object")


async def test_an_unknown_generator_is_a_schema_mismatch(settings: Settings) -> None:
    payload = json.dumps({"source": "x = 1\n", "output_path": "x.py", "generator": "gpt"})
    failed = failed_of(
        await run("extract", settings, payload.encode(), b"r"), "extract", "SCHEMA_MISMATCH"
    )
    assert "generator" in failed.message and "'provided' or 'openai'" in failed.message


async def test_a_tombstone_is_an_empty_record(settings: Settings) -> None:
    failed = failed_of(await run("store", settings, None, b"gone"), "store", "EMPTY_RECORD")
    assert failed.payload is None and "tombstone" in failed.message


async def test_without_a_key_the_failed_record_is_named_after_the_origin(
    settings: Settings,
) -> None:
    failed = failed_of(await run("extract", settings, b"nope", None), "extract", "NOT_JSON")
    assert failed.request_id == f"undecodable:{ORIGIN}"


# -- size limits -----------------------------------------------------------------------------


def test_the_source_limit_defaults_to_one_mebibyte_and_is_configurable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CODEGEN_MAX_SOURCE_BYTES", raising=False)
    assert Settings().max_source_bytes == 1024 * 1024
    monkeypatch.setenv("CODEGEN_MAX_SOURCE_BYTES", "4096")
    assert Settings().max_source_bytes == 4096


async def test_a_source_over_the_default_limit_is_source_too_large(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    source = "x = 1\n" + "#" * (1024 * 1024)
    request = GenerationRequest(request_id="big", source=source, output_path="big.py")
    failed = failed_of(
        await run("extract", settings, encode(request)), "extract", "SOURCE_TOO_LARGE"
    )
    size = len(source.encode())
    assert failed.message == (
        f"the source is {size} bytes, over the limit of 1048576 (CODEGEN_MAX_SOURCE_BYTES)"
    )
    assert failed.payload is None  # the request decoded; it is on `requests` already
    assert failed.request_id == "big"


async def test_the_source_limit_counts_utf8_bytes(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, max_source_bytes=200)
    fits = GenerationRequest(request_id="fits", source="#" * 200, output_path="a.py")
    wide = GenerationRequest(request_id="wide", source="# " + "é" * 100, output_path="a.py")
    assert (await run("extract", settings, encode(fits)))[0].topic == "stubs"
    failed = failed_of(await run("extract", settings, encode(wide)), "extract", "SOURCE_TOO_LARGE")
    assert "202 bytes, over the limit of 200" in failed.message


async def test_the_source_limit_counts_the_tests_too(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, max_source_bytes=200)
    request = GenerationRequest(
        request_id="tested",
        source="#" * 100,
        output_path="a.py",
        tests={"tests/test_a.py": "#" * 60},
        support_files={"b.py": "#" * 60},
    )
    failed = failed_of(
        await run("extract", settings, encode(request)), "extract", "SOURCE_TOO_LARGE"
    )
    assert "the source and its tests are 220 bytes, over the limit of 200" in failed.message


async def test_a_record_far_over_the_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, max_source_bytes=1000)
    limit = 1000 * RECORD_SIZE_FACTOR
    request = GenerationRequest(request_id="huge", source="#" * (2 * limit), output_path="h.py")
    payload = encode(request)
    failed = failed_of(
        await run("extract", settings, payload, b"huge"), "extract", "RECORD_TOO_LARGE"
    )
    assert failed.message == (
        f"extract: the record is {len(payload)} bytes, over the limit of {limit}"
    )
    assert failed.payload == payload.decode()
    assert failed.details["bytes"] == len(payload)


async def test_the_dead_letter_payload_of_a_huge_record_is_clipped(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    payload = b"[" + b"0," * (3 * 1024 * 1024) + b"0]"  # 6 MiB, over 4 x 1 MiB
    failed = failed_of(
        await run("generate", settings, payload, b"h"), "generate", "RECORD_TOO_LARGE"
    )
    assert failed.payload == payload[:MAX_DEAD_LETTER_PAYLOAD].decode()
    assert failed.details["bytes"] == len(payload)


# -- the extract stage -----------------------------------------------------------------------


async def test_source_that_does_not_parse_names_line_and_column(settings: Settings) -> None:
    source = "class Broken:\n    def method(self) -> None:\n        return (\n"
    request = GenerationRequest(request_id="syntax", source=source, output_path="pkg/broken.py")
    failed = failed_of(
        await run("extract", settings, encode(request)), "extract", "SOURCE_SYNTAX_ERROR"
    )
    assert failed.message.startswith("cannot parse pkg/broken.py: line 3, column 16: ")
    assert "'(' was never closed" in failed.message
    assert (failed.details["line"], failed.details["column"]) == (3, 16)
    assert failed.details["path"] == "pkg/broken.py"


async def test_source_with_a_nul_byte_is_a_syntax_error(settings: Settings) -> None:
    request = GenerationRequest(request_id="nul", source="x = 1\x00\n", output_path="n.py")
    failed = failed_of(
        await run("extract", settings, encode(request)), "extract", "SOURCE_SYNTAX_ERROR"
    )
    assert "null bytes" in failed.message


async def test_a_malformed_stub_marker_is_reported(settings: Settings) -> None:
    request = GenerationRequest(
        request_id="m", source="x = 1\n", output_path="m.py", stub_markers=["bogus:thing"]
    )
    failed = failed_of(await run("extract", settings, encode(request)), "extract", "INVALID_MARKER")
    assert "bogus" in failed.message


@pytest.mark.parametrize(
    "output_path",
    ["../escape.py", "a/../../escape.py", "/etc/escape.py", "..\\escape.py", "ok/..", "x/../.."],
)
async def test_output_paths_leaving_the_root_are_refused_by_extract(
    settings: Settings, output_path: str
) -> None:
    request = good_request("leave", output_path=output_path)
    failed = failed_of(
        await run("extract", settings, encode(request)), "extract", "PATH_OUTSIDE_ROOT"
    )
    assert repr(output_path) in failed.message
    assert "relative to the store root" in failed.message


# -- the generate stage ----------------------------------------------------------------------


async def test_a_body_for_an_unknown_name_suggests_the_closest_stub(settings: Settings) -> None:
    request = good_request("typo")
    bodies = dict(request.bodies)
    bodies["Inventory.add_itme"] = bodies.pop("Inventory.add_item")
    request = request.model_copy(update={"bodies": bodies})
    value = await records_up_to("generate", settings, request)
    failed = failed_of(await run("generate", settings, value), "generate", "UNKNOWN_BODY_NAME")
    assert "Inventory.add_itme (did you mean Inventory.add_item?)" in failed.message
    assert "stubs: Inventory.add_item, " in failed.message
    assert failed.details["unknown"] == ["Inventory.add_itme"]


async def test_a_missing_body_names_the_stub(settings: Settings) -> None:
    request = good_request("missing")
    bodies = dict(request.bodies)
    del bodies["Inventory.total_value"]
    request = request.model_copy(update={"bodies": bodies})
    value = await records_up_to("generate", settings, request)
    failed = failed_of(await run("generate", settings, value), "generate", "MISSING_BODY")
    assert "no body was supplied for 1 stub(s): Inventory.total_value" in failed.message
    assert "add them to the request's bodies" in failed.message
    assert failed.details["missing"] == ["Inventory.total_value"]


async def test_bodies_for_a_module_without_stubs(settings: Settings) -> None:
    request = GenerationRequest(
        request_id="nostubs", source="x = 1\n", output_path="x.py", bodies={"f": "return 1"}
    )
    value = await records_up_to("generate", settings, request)
    failed = failed_of(await run("generate", settings, value), "generate", "UNKNOWN_BODY_NAME")
    assert "(stubs: none)" in failed.message


# -- the validate and inject stages on hand-made records ---------------------------------------


async def test_validate_refuses_a_body_for_a_name_the_module_lacks(settings: Settings) -> None:
    value = await records_up_to("validate", settings, good_request("v"))
    generated = decode(CodeGenerated, value)
    body = generated.bodies[0].model_copy(update={"qualified_name": "Nowhere.method"})
    tampered = generated.model_copy(update={"bodies": [body]})
    failed = failed_of(
        await run("validate", settings, encode(tampered)), "validate", "NAME_NOT_FOUND"
    )
    assert "Nowhere.method" in failed.message


async def test_inject_refuses_a_body_that_does_not_parse(settings: Settings) -> None:
    value = await records_up_to("inject", settings, good_request("i"))
    validated = decode(CodeValidated, value)
    body = validated.bodies[0].model_copy(update={"code": "return (\n"})
    tampered = validated.model_copy(update={"bodies": [body]})
    failed = failed_of(
        await run("inject", settings, encode(tampered)), "inject", "BODY_SYNTAX_ERROR"
    )
    assert body.qualified_name in failed.message


DEEP_BODY = "return " + " and ".join(["item"] * 8000) + "\n"  # flat for CPython, not for libcst


async def test_a_deeply_nested_body_is_sent_back_for_repair(settings: Settings) -> None:
    """It used to kill the validate worker: libcst's parser overflowed the C stack."""
    request = good_request("deep")
    request = request.model_copy(
        update={"bodies": {**request.bodies, "Inventory.total_value": DEEP_BODY}}
    )
    out = await run("validate", settings, await records_up_to("validate", settings, request))
    assert [o.topic for o in out] == ["repairs", "metrics"]
    repair = decode(StubsExtracted, out[0].value)
    [finding] = repair.findings
    assert (finding.qualified_name, finding.code) == ("Inventory.total_value", "SYN001")
    assert "nests over 200 levels deep" in finding.message


async def test_inject_refuses_a_deeply_nested_body(settings: Settings) -> None:
    value = await records_up_to("inject", settings, good_request("deep-inject"))
    validated = decode(CodeValidated, value)
    body = validated.bodies[0].model_copy(update={"code": DEEP_BODY})
    tampered = validated.model_copy(update={"bodies": [body]})
    failed = failed_of(
        await run("inject", settings, encode(tampered)), "inject", "BODY_SYNTAX_ERROR"
    )
    assert "nests over 200 levels deep" in failed.message


# -- the store stage -------------------------------------------------------------------------


async def injected_for(settings: Settings, output_path: str) -> CodeVerified:
    value = await records_up_to("store", settings, good_request("s"))
    injected = decode(CodeVerified, value)
    request = injected.request.model_copy(update={"output_path": output_path})
    return injected.model_copy(update={"request": request})


async def test_a_symlink_in_the_root_pointing_outside_is_refused_by_store(
    settings: Settings, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    settings.store_root.mkdir(parents=True)
    (settings.store_root / "escape").symlink_to(outside, target_is_directory=True)
    request = good_request("link", output_path="escape/inventory.py")

    # extract cannot know about the link: it lets the request through
    value = await records_up_to("store", settings, request)
    failed = failed_of(await run("store", settings, value), "store", "PATH_OUTSIDE_ROOT")
    assert "'escape/inventory.py' resolves to" in failed.message
    assert "outside the store root" in failed.message
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("output_path", ["../escape.py", "a/../../escape.py"])
async def test_store_refuses_dot_dot_paths_it_is_handed_directly(
    settings: Settings, tmp_path: Path, output_path: str
) -> None:
    injected = await injected_for(settings, output_path)
    failed = failed_of(await run("store", settings, encode(injected)), "store", "PATH_OUTSIDE_ROOT")
    assert "climbs out of the store root" in failed.message
    assert not (tmp_path / "escape.py").exists()


async def test_store_refuses_an_absolute_path_outside_the_root(
    settings: Settings, tmp_path: Path
) -> None:
    target = tmp_path / "elsewhere" / "escape.py"
    injected = await injected_for(settings, str(target))
    failed = failed_of(await run("store", settings, encode(injected)), "store", "PATH_OUTSIDE_ROOT")
    assert "outside the store root" in failed.message
    assert not target.exists()


# -- the stage goes on -----------------------------------------------------------------------

BAD_REQUESTS: list[Callable[[], bytes]] = [
    lambda: b"garbage",
    lambda: b"\x80\x81",
    lambda: b'{"source": 3}',
    lambda: encode(GenerationRequest(source="def f(:\n", output_path="x.py")),
    lambda: encode(good_request("up", output_path="../up.py")),
]


async def test_each_stage_keeps_working_after_bad_records(settings: Settings) -> None:
    runners = {stage: StageRunner(build_processor(stage, settings), settings) for stage in STAGES}
    for number in range(2):
        for bad in BAD_REQUESTS:
            for stage in STAGES:
                out = await runners[stage].handle(b"bad", bad(), ORIGIN)
                assert out[0].topic == "failed"
        request = good_request(f"after-{number}", output_path=f"after/{number}.py")
        value = encode(request)
        for stage in STAGES:
            out = await runners[stage].handle(request.request_id.encode(), value, ORIGIN)
            assert out[0].topic == STAGE_OUTPUTS[stage]
            value = out[0].value
        stored = decode(FileStored, value)
        assert Path(stored.artifact.path) == (settings.store_root / f"after/{number}.py").resolve()
