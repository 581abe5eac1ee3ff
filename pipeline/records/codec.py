"""Plain JSON encoding, no envelope: any Kafka client can read and write these records."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class DecodeError(ValueError):
    """The bytes are not a valid record; ``code`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def encode(record: BaseModel) -> bytes:
    return record.model_dump_json().encode("utf-8")


def decode(model: type[M], data: bytes | None, *, max_bytes: int | None = None) -> M:
    if data is None:
        raise DecodeError("EMPTY_RECORD", "the record has no value (tombstone)")
    if max_bytes is not None and len(data) > max_bytes:
        raise DecodeError(
            "RECORD_TOO_LARGE", f"the record is {len(data)} bytes, over the limit of {max_bytes}"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError("NOT_UTF8", f"the record is not UTF-8: {exc}") from None
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        if any(err["type"] == "json_invalid" for err in exc.errors()):
            raise DecodeError(
                "NOT_JSON", f"the record is not JSON: {exc.errors()[0]['msg']}"
            ) from None
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors()[:5]
        )
        raise DecodeError(
            "SCHEMA_MISMATCH", f"the record does not match {model.__name__}: {problems}"
        ) from None
