"""The verify stage: run a request's tests against its filled module in a sandbox.

``verify_module`` lays the module, its tests and support files out in a fresh directory
(``workspace``), runs the test command under bubblewrap with resource limits (``bwrap``,
``runner``, ``cgroup``) and turns what pytest reported through the plugin in ``plugin/`` into
findings of rule ``tests``, each tied to the generated body its traceback went through when
one did (``report``). Nothing here imports Kafka.
"""

from pipeline.stages.verify.errors import VerifyError
from pipeline.stages.verify.options import DEFAULT_TEST_COMMAND, Limits, SandboxOptions
from pipeline.stages.verify.verifier import VerifyTask, task_key, verify_module

__all__ = [
    "DEFAULT_TEST_COMMAND",
    "Limits",
    "SandboxOptions",
    "VerifyError",
    "VerifyTask",
    "task_key",
    "verify_module",
]
