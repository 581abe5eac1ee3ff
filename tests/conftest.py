from tests.fixtures import (  # noqa: F401
    client_factory,
    kafka_bootstrap,
    pipeline_settings,
    settings_factory,
    workers_factory,
)
