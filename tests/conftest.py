from tests.fixtures import (  # noqa: F401
    client_factory,
    kafka_bootstrap,
    pipeline_settings,
    settings_factory,
    workers_factory,
)
from tests.support.llm_fixtures import llm_server  # noqa: F401
