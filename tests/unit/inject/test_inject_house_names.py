"""The configured error class and log function come with their import path; inject imports
them for a body that uses them, once, after the module's other imports. Before/after pairs."""

from __future__ import annotations

from textwrap import dedent

import pytest
from pydantic import ValidationError

from pipeline.processors.registry import build_processor
from pipeline.processors.stages import InjectProcessor
from pipeline.settings import Settings
from pipeline.stages.generate import OpenAIGenerator
from pipeline.stages.generate.prompts import system_prompt
from pipeline.stages.inject import InjectOptions, inject_bodies, inject_whole_module
from pipeline.stages.inject.options import split_import_path

RULES = InjectOptions(
    error_class="acme.errors:ModelOnexError", log_function="acme.logging:emit_log_event"
)
BEFORE = '''\
    """Stock."""

    import os
    from typing import Any


    class Stock:
        def take(self, count: int) -> None:
            """Take some."""
            raise NotImplementedError

        def put(self, count: int) -> None:
            raise NotImplementedError
'''


def _inject(before: str, bodies: dict[str, str], options: InjectOptions = RULES) -> str:
    source = dedent(before)
    result = inject_bodies(source, bodies, options)
    whole = inject_whole_module(source, bodies, options)
    assert (whole.source, whole.added_imports) == (result.source, result.added_imports)
    return result.source


def test_the_error_class_is_imported_once_after_the_other_imports() -> None:
    after = '''\
        """Stock."""

        import os
        from typing import Any
        from acme.errors import ModelOnexError


        class Stock:
            def take(self, count: int) -> None:
                """Take some."""
                if count < 0:
                    raise ModelOnexError("negative count")

            def put(self, count: int) -> None:
                raise ModelOnexError("closed")
    '''
    bodies = {
        "Stock.take": 'if count < 0:\n    raise ModelOnexError("negative count")\n',
        "Stock.put": 'raise ModelOnexError("closed")\n',
    }
    assert _inject(BEFORE, bodies) == dedent(after)


def test_the_log_function_is_imported_when_a_body_calls_it() -> None:
    result = _inject(BEFORE, {"Stock.put": 'emit_log_event("put", count=count)\n'})
    assert "from acme.logging import emit_log_event\n" in result
    assert "ModelOnexError" not in result


def test_nothing_is_imported_for_a_body_that_does_not_use_the_names() -> None:
    bodies = {"Stock.put": "self.count = count  # ModelOnexError is only named here\n"}
    assert "import ModelOnexError" not in _inject(BEFORE, bodies)


def test_nothing_is_imported_when_the_module_binds_the_name() -> None:
    for binding in ("from acme import ModelOnexError", "class ModelOnexError(Exception): ..."):
        before = dedent(BEFORE).replace("from typing import Any\n", f"{binding}\n")
        result = _inject(before, {"Stock.put": 'raise ModelOnexError("closed")\n'})
        assert result.count("ModelOnexError") == 2


def test_nothing_is_imported_when_the_body_binds_the_name_itself() -> None:
    body = 'from acme.errors import ModelOnexError\nraise ModelOnexError("closed")\n'
    assert _inject(BEFORE, {"Stock.put": body}).count("import ModelOnexError") == 1


def test_a_bare_name_is_in_scope_already() -> None:
    bare = InjectOptions(error_class="ModelOnexError")
    body = 'raise ModelOnexError("closed")\n'
    assert "import ModelOnexError" not in _inject(BEFORE, {"Stock.put": body}, bare)


def test_an_import_path_must_be_absolute_and_name_one_name() -> None:
    assert split_import_path("acme.errors:ModelOnexError") == ("acme.errors", "ModelOnexError")
    assert split_import_path("ModelOnexError") == ("", "ModelOnexError")
    for wrong in (".errors:ModelOnexError", "acme.errors:Model.Error", "acme errors:X", "a:"):
        with pytest.raises(ValidationError):
            InjectOptions(error_class=wrong)


def test_the_inject_worker_takes_the_names_and_the_hoisting_from_the_settings() -> None:
    settings = Settings(
        error_class="acme.errors:ModelOnexError",
        log_function="acme.log:emit",
        hoist_imports="stdlib",
    )
    processor = build_processor("inject", settings)
    assert isinstance(processor, InjectProcessor)
    assert processor.options == InjectOptions(
        error_class="acme.errors:ModelOnexError",
        log_function="acme.log:emit",
        hoist_imports="stdlib",
    )


async def test_the_prompt_names_the_bare_class_inject_will_import() -> None:
    settings = Settings(
        error_class="acme.errors:ModelOnexError",
        log_function="acme.log:emit_log_event",
        openai_base_url="http://127.0.0.1:9/v1",
    )
    generator = OpenAIGenerator.from_settings(settings)
    try:
        text = system_prompt(generator.rules)
        assert "Raise `ModelOnexError` instead" in text
        assert "`ModelOnexError` is imported from `acme.errors` automatically" in text
        assert "Log through `emit_log_event(...)`" in text and "acme.errors:" not in text
    finally:
        await generator.aclose()
