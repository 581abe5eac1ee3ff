"""Option objects built from the settings: each field takes its setting, none is dropped."""

from __future__ import annotations

import dataclasses
import sys

import pytest

from pipeline.settings import Settings, options_from
from pipeline.stages.generate.openai import OpenAIConfig
from pipeline.stages.verify import Limits

MIB = 1024**2


def test_every_openai_option_is_a_setting_and_takes_it() -> None:
    names = [option.name for option in dataclasses.fields(OpenAIConfig)]
    assert all(f"openai_{name}" in Settings.model_fields for name in names)
    settings = Settings(
        _env_file=None,
        openai_model="m",
        openai_retry_max_wait=7.0,
        openai_breaker_hold=9.0,
        openai_prices={"m": (1.0, 2.0)},
    )
    config = OpenAIConfig.from_settings(settings)
    for name in names:
        assert getattr(config, name) == getattr(settings, f"openai_{name}"), name


def test_the_sandbox_takes_every_verify_limit() -> None:
    settings = Settings(
        _env_file=None,
        verify_timeout=5.0,
        verify_cpu_seconds=6,
        verify_memory_bytes=128 * MIB,
        verify_max_processes=8,
        verify_max_file_bytes=4096,
        verify_max_output_bytes=2048,
        verify_tmp_bytes=2 * MIB,
        verify_bwrap="/usr/bin/bwrap",
        verify_allow_unsandboxed=True,
    )
    sandbox = settings.sandbox_options()
    limits = sandbox.limits
    assert (limits.wall_seconds, limits.cpu_seconds, limits.memory_bytes) == (5.0, 6, 128 * MIB)
    assert (limits.processes, limits.file_bytes, limits.output_bytes) == (8, 4096, 2048)
    assert limits.tmp_bytes == 2 * MIB
    assert (sandbox.python, sandbox.bwrap) == (sys.executable, "/usr/bin/bwrap")
    assert sandbox.allow_unsandboxed
    assert settings.sandbox_options().limits.open_files == Limits().open_files, "no setting"


def test_a_renamed_option_must_name_a_setting() -> None:
    with pytest.raises(ValueError, match="no setting verify_walltime"):
        options_from(
            Settings(_env_file=None), Limits, "verify_", renamed={"wall_seconds": "walltime"}
        )
