"""The topic catalogue and the JSON Schemas in topics/ agree with the models."""

from __future__ import annotations

from pathlib import Path

from pipeline.catalogue import (
    STAGE_INPUTS,
    STAGE_OUTPUTS,
    TOPICS,
    catalogue_document,
    rendered_files,
)

TOPICS_DIR = Path(__file__).resolve().parents[2] / "topics"

REQUIRED = {
    "requests",
    "stubs",
    "generated",
    "validated",
    "injected",
    "verified",
    "stored",
    "failed",
    "metrics",
    "intents",
}


def test_every_topic_of_the_chain_is_in_the_catalogue() -> None:
    assert TOPICS.keys() >= REQUIRED
    assert set(STAGE_INPUTS.values()) | set(STAGE_OUTPUTS.values()) <= TOPICS.keys()


def test_stage_topics_chain_from_requests_to_stored() -> None:
    topic, chain = "requests", ["requests"]
    by_input = {v: k for k, v in STAGE_INPUTS.items()}
    while topic in by_input:
        topic = STAGE_OUTPUTS[by_input[topic]]
        chain.append(topic)
    assert chain == [
        "requests",
        "stubs",
        "generated",
        "validated",
        "injected",
        "verified",
        "stored",
    ]


def test_names_take_the_configured_prefix() -> None:
    document = catalogue_document("acme.")
    assert all(t["name"].startswith("acme.") for t in document["topics"])


def test_topics_directory_matches_the_models() -> None:
    """Run `codegen topics export` when this fails after changing a record."""
    for relative, expected in rendered_files().items():
        path = TOPICS_DIR / relative
        assert path.exists(), f"{relative} is missing: run `codegen topics export`"
        assert path.read_text(encoding="utf-8") == expected, (
            f"{relative} drifted from the models: run `codegen topics export`"
        )
    schemas = {p.name for p in (TOPICS_DIR / "schemas").glob("*.json")}
    assert schemas == {Path(r).name for r in rendered_files() if r.startswith("schemas/")}
