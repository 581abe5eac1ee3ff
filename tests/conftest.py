import os

from hypothesis import settings as hypothesis_settings

from tests.fixtures import (  # noqa: F401
    _type_checker_servers,
    client_factory,
    kafka_bootstrap,
    kafka_cluster,
    own_broker,
    pipeline_settings,
    settings_factory,
    workers_factory,
)
from tests.support.llm_fixtures import llm_server  # noqa: F401

# CI replays the same examples every run (a failure there is reproducible), without time
# limits per example on a shared machine; local runs keep exploring new ones.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")
