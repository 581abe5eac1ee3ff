"""Wire records: plain JSON round trips and clear decode errors."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.records import (
    SCHEMA_VERSION,
    DecodeError,
    FileStored,
    GenerationRequest,
    RequestFailed,
    decode,
    encode,
)


def test_a_request_is_plain_json_with_the_common_fields() -> None:
    request = GenerationRequest(
        source="def f(): ...\n", output_path="f.py", bodies={"f": "return 1"}
    )
    document = json.loads(encode(request))
    assert document["request_id"] == request.request_id
    assert document["schema_version"] == SCHEMA_VERSION
    assert {"submitted_at", "produced_at", "source", "output_path", "bodies"} <= document.keys()
    assert decode(GenerationRequest, encode(request)) == request


def test_a_hand_written_request_needs_only_source_and_output_path() -> None:
    request = decode(GenerationRequest, b'{"source": "x = 1\\n", "output_path": "x.py"}')
    assert request.generator == "provided"
    assert request.request_id
    assert request.submitted_at.tzinfo is not None


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    request = decode(
        GenerationRequest, b'{"source": "", "output_path": "x.py", "added_in_v2": true}'
    )
    assert request.output_path == "x.py"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (None, "EMPTY_RECORD"),
        (b"\xff\xfe", "NOT_UTF8"),
        (b"{not json", "NOT_JSON"),
        (b"[]", "SCHEMA_MISMATCH"),
        (b'{"source": "x"}', "SCHEMA_MISMATCH"),
        (b'{"source": 1, "output_path": "x.py"}', "SCHEMA_MISMATCH"),
    ],
)
def test_decode_errors_have_a_code_and_a_message(payload: bytes | None, code: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decode(GenerationRequest, payload)
    assert caught.value.code == code
    assert caught.value.message


def test_a_missing_field_is_named_in_the_message() -> None:
    with pytest.raises(DecodeError, match="output_path"):
        decode(GenerationRequest, b'{"source": "x"}')


def test_records_over_the_size_limit_are_refused() -> None:
    with pytest.raises(DecodeError) as caught:
        decode(GenerationRequest, b"x" * 101, max_bytes=100)
    assert caught.value.code == "RECORD_TOO_LARGE"


@given(st.binary(max_size=300))
def test_the_decoder_never_raises_anything_but_decode_error(payload: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode(GenerationRequest, payload)


@given(st.text(max_size=200), st.dictionaries(st.text(max_size=20), st.text(max_size=50)))
def test_requests_round_trip(source: str, bodies: dict[str, str]) -> None:
    request = GenerationRequest(source=source, output_path="m.py", bodies=bodies)
    assert decode(GenerationRequest, encode(request)) == request


def test_terminal_records_round_trip() -> None:
    failed = RequestFailed(
        request_id="r",
        submitted_at="2026-01-01T00:00:00Z",
        stage="extract",
        error_code="X",
        message="m",
    )
    assert decode(RequestFailed, encode(failed)) == failed
    stored = FileStored.model_validate(
        {
            "request_id": "r",
            "submitted_at": "2026-01-01T00:00:00Z",
            "output_path": "a.py",
            "source": "x",
            "sha256": "0",
            "artifact": {"path": "/x/a.py", "relative_path": "a.py", "bytes": 1, "sha256": "0"},
            "filled": ["f"],
        }
    )
    assert decode(FileStored, encode(stored)) == stored
