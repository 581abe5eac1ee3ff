"""The README's security section shows exactly the configurations the secured tests run
through every worker (each block names its test id in brackets)."""

from __future__ import annotations

import re

from tests.integration.test_secured import SECURED_BROKERS
from tests.support.readme import shell_examples

_CONFIGURATION = re.compile(r"^# .*\[([a-z0-9-]+)\]", re.MULTILINE)


def test_each_configuration_of_the_readme_is_one_the_workers_are_tested_with() -> None:
    (block,) = shell_examples("CODEGEN_SECURITY_PROTOCOL=SASL_SSL")
    assert _CONFIGURATION.findall(block) == list(SECURED_BROKERS)


def test_each_configuration_names_its_protocol_and_what_it_needs() -> None:
    (block,) = shell_examples("CODEGEN_SECURITY_PROTOCOL=SASL_SSL")
    for configuration in re.split(r"\n\n", block.strip()):
        variables = dict(
            line.split("#")[0].strip().split("=", 1)
            for line in configuration.splitlines()
            if line.startswith("CODEGEN_")
        )
        protocol = variables["CODEGEN_SECURITY_PROTOCOL"]
        assert "CODEGEN_BOOTSTRAP_SERVERS" in variables, configuration
        if protocol.startswith("SASL_"):
            assert {"CODEGEN_SASL_MECHANISM", "CODEGEN_SASL_USERNAME"} <= set(variables)
        if protocol.endswith("SSL"):
            assert "CODEGEN_SSL_CAFILE" in variables, configuration
