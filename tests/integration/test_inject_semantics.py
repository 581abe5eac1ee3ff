"""On a real broker: the inject worker gets the configured error class with its import path and
imports it; a property's getter and setter are both filled; local imports stay; the stored
file extracts no stub."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from pipeline.client import PipelineClient
from pipeline.records import FileStored, GenerationRequest
from pipeline.settings import Settings
from pipeline.stages.extract import extract_stubs
from pipeline.workers.supervisor import Supervisor

pytestmark = pytest.mark.integration

SOURCE = dedent(
    '''\
    """Stock."""

    from typing import Any


    class Stock:
        @property
        def count(self) -> int:
            """How many."""
            # IMPLEMENTATION REQUIRED

        @count.setter
        def count(self, value: int) -> None:
            raise NotImplementedError

        def dump(self) -> str:
            """As JSON."""

            # IMPLEMENTATION REQUIRED
    '''
)
ACME = {
    "acme/__init__.py": "",
    "acme/errors.py": "class ModelOnexError(Exception):\n    pass\n",
}
BODIES = {
    "Stock.count": "return self._count\n",
    "Stock.count.setter": (
        'if value < 0:\n    raise ModelOnexError("a negative count")\nself._count = value\n'
    ),
    "Stock.dump": "import json\n\nreturn json.dumps({'count': self.count})\n",
}
EXPECTED = dedent(
    '''\
    """Stock."""

    from typing import Any
    from acme.errors import ModelOnexError


    class Stock:
        @property
        def count(self) -> int:
            """How many."""
            return self._count

        @count.setter
        def count(self, value: int) -> None:
            if value < 0:
                raise ModelOnexError("a negative count")
            self._count = value

        def dump(self) -> str:
            """As JSON."""

            import json

            return json.dumps({'count': self.count})
    '''
)


async def test_the_stored_file_imports_the_error_class_and_fills_every_accessor(
    pipeline_settings: Settings,
    workers_factory: Callable[..., Supervisor],
    client_factory: Callable[[Settings], Any],
) -> None:
    client: PipelineClient = await client_factory(pipeline_settings)
    workers = workers_factory(
        pipeline_settings, env={"CODEGEN_ERROR_CLASS": "acme.errors:ModelOnexError"}
    )
    request = GenerationRequest(
        source=SOURCE,
        output_path="stock.py",
        bodies=BODIES,
        generator="provided",
        # The verify stage imports the filled module: the configured class must exist.
        support_files=ACME,
    )
    await client.submit(request)
    [result] = [r async for r in client.results([request.request_id], timeout=240.0)]
    assert isinstance(result, FileStored), result
    stored = Path(result.artifact.path).read_text(encoding="utf-8")
    assert stored == EXPECTED
    assert extract_stubs(stored).stubs == []
    assert result.filled == list(BODIES)
    assert not workers.exited()
