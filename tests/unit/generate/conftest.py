"""The scripted LLM server fixture, for this directory's tests."""

from tests.support.llm_fixtures import llm_server  # noqa: F401
