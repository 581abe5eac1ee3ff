"""Generated code and tests that try to get out of the sandbox: each attempt ends as a clear
finding, nothing outside the work directory changes, and no process outlives the run."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.verify.helpers import SMALL_LIMITS, codes, processes_with, run_module

ATTACK_TEST = """
from attack import attack

def test_attack():
    attack()
"""


def listening_socket(host: str) -> Iterator[socket.socket]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind((host, 0))
    server.listen(8)
    server.setblocking(False)
    try:
        yield server
    finally:
        server.close()


def accepted_any(server: socket.socket) -> bool:
    try:
        connection, _ = server.accept()
    except BlockingIOError:
        return False
    connection.close()
    return True


@pytest.fixture
def loopback_listener() -> Iterator[socket.socket]:
    """Stands for the broker on 127.0.0.1."""
    yield from listening_socket("127.0.0.1")


def own_address() -> str:
    """This machine's address on its default route (a UDP connect sends nothing)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))
        return str(probe.getsockname()[0])
    except OSError:
        return "127.0.0.1"
    finally:
        probe.close()


def test_no_connection_to_the_broker_on_loopback(loopback_listener: socket.socket) -> None:
    port = loopback_listener.getsockname()[1]
    with socket.create_connection(("127.0.0.1", port), timeout=2):  # reachable from outside
        pass
    assert accepted_any(loopback_listener)
    report = run_module(
        f"""
        import socket

        def attack():
            socket.create_connection(("127.0.0.1", {port}), timeout=2).sendall(b"hello")
        """,
        ATTACK_TEST,
    )
    assert codes(report) == ["TEST_FAILED"]
    assert "ConnectionRefusedError" in report.findings[0].message
    assert report.findings[0].qualified_name == "attack"
    assert not accepted_any(loopback_listener), "the sandbox reached the host's loopback"


def test_no_connection_to_another_address() -> None:
    address = own_address()
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("0.0.0.0", 0))
    server.listen(8)
    server.setblocking(False)
    port = server.getsockname()[1]
    try:
        report = run_module(
            f"""
            import socket

            def attack():
                socket.create_connection(("{address}", {port}), timeout=2)
            """,
            ATTACK_TEST,
        )
        assert codes(report) == ["TEST_FAILED"]
        message = report.findings[0].message
        expected = "Network is unreachable" if address != "127.0.0.1" else "ConnectionRefused"
        assert expected in message, message
        assert not accepted_any(server)
    finally:
        server.close()


def test_files_outside_the_work_directory_cannot_be_read(tmp_path: Path) -> None:
    secret = f"sk-secret-{uuid.uuid4().hex}"
    env_file = tmp_path / ".env"
    env_file.write_text(f"CODEGEN_OPENAI_API_KEY={secret}\n")
    stored = tmp_path / "store" / "inventory.py"
    stored.parent.mkdir()
    stored.write_text(f"KEY = {secret!r}\n")
    worker_env = Path.cwd() / ".env"
    report = run_module(
        f"""
        def attack():
            refused = []
            paths = [{str(env_file)!r}, {str(stored)!r}, "/etc/shadow", {str(worker_env)!r}]
            for path in paths:
                try:
                    print(open(path).read())
                except OSError as error:
                    refused.append(type(error).__name__)
                else:
                    raise AssertionError("read " + path)
            assert len(refused) == 4, refused
            import os
            assert not os.path.exists({str(tmp_path)!r}), "the test's own folder is visible"
        """,
        ATTACK_TEST,
    )
    assert report.passed, report.findings
    assert secret not in report.model_dump_json()


def test_nothing_outside_the_work_directory_can_be_written(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    (store / "kept.py").write_text("x = 1\n")
    host_tmp = Path("/tmp") / f"codegen-escape-{uuid.uuid4().hex}"
    report = run_module(
        f"""
        import os

        def attack():
            blocked = []
            paths = [{str(store / "kept.py")!r}, {str(store / "new.py")!r}, "/usr/evil", "/evil"]
            for path in paths:
                try:
                    with open(path, "w") as handle:
                        handle.write("evil")
                except OSError as error:
                    blocked.append(type(error).__name__)
            with open({str(host_tmp)!r}, "w") as handle:  # the sandbox's private /tmp
                handle.write("evil")
            with open("inside.txt", "w") as handle:  # the work directory is writable
                handle.write("fine")
            assert len(blocked) == 4, blocked
        """,
        ATTACK_TEST,
    )
    assert report.passed, report.findings
    assert (store / "kept.py").read_text() == "x = 1\n"
    assert sorted(p.name for p in store.iterdir()) == ["kept.py"]
    assert not host_tmp.exists()
    assert not Path("/evil").exists()


def test_the_workers_environment_is_not_visible(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = f"sk-fake-{uuid.uuid4().hex}"
    monkeypatch.setenv("CODEGEN_OPENAI_API_KEY", secret)
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", secret)
    report = run_module(
        """
        import os

        def attack():
            print(dict(os.environ))
            return os.environ["CODEGEN_OPENAI_API_KEY"]
        """,
        ATTACK_TEST,
    )
    assert codes(report) == ["TEST_FAILED"]
    assert "KeyError: 'CODEGEN_OPENAI_API_KEY'" in report.findings[0].message
    assert secret not in report.model_dump_json()


def test_a_fork_bomb_meets_the_process_limit() -> None:
    marker = f"bomb-{uuid.uuid4().hex}"
    report = run_module(
        f"""
        import subprocess

        def attack():
            children = []
            while True:  # each child waits, so they pile up until the limit
                children.append(subprocess.Popen(["sh", "-c", "sleep 30; :", "{marker}"]))
        """,
        ATTACK_TEST,
    )
    assert codes(report) == ["PROCESS_LIMIT"], report.findings
    assert report.seconds < SMALL_LIMITS.wall_seconds
    assert processes_with(marker) == []


def test_a_classic_fork_bomb_is_stopped_and_leaves_nothing() -> None:
    report = run_module(
        """
        import os

        def attack():
            while True:
                try:
                    os.fork()
                except OSError:
                    pass
        """,
        ATTACK_TEST,
        options=_with(wall_seconds=2.0),
    )
    assert codes(report) == ["TIMEOUT"], report.findings
    assert report.seconds < 4.0


def test_allocating_8_gib_meets_the_memory_limit() -> None:
    report = run_module(
        """
        def attack():
            return bytearray(8 * 1024**3)
        """,
        ATTACK_TEST,
    )
    assert codes(report) == ["MEMORY_LIMIT"], report.findings
    assert report.findings[0].qualified_name == "attack"


def test_an_endless_loop_meets_the_wall_time() -> None:
    marker = f"loop-{uuid.uuid4().hex}"
    started = time.monotonic()
    report = run_module(
        f"""
        import time

        def attack():
            while True:
                time.sleep(0.01)  # {marker}
        """,
        ATTACK_TEST,
        options=_with(wall_seconds=1.5),
    )
    assert codes(report) == ["TIMEOUT"]
    assert time.monotonic() - started < 3.0


def test_an_endless_computation_meets_the_cpu_limit() -> None:
    report = run_module(
        """
        def attack():
            while True:
                pass
        """,
        ATTACK_TEST,
        options=_with(cpu_seconds=1, wall_seconds=10.0),
    )
    assert codes(report) == ["CPU_LIMIT"], report.findings
    assert report.seconds < 5.0


def test_writing_a_10_gib_file_meets_the_file_size_limit() -> None:
    report = run_module(
        """
        def attack():
            chunk = b"x" * 1024 * 1024
            with open("big.bin", "wb") as handle:
                for _ in range(10 * 1024):
                    handle.write(chunk)
        """,
        ATTACK_TEST,
    )
    assert codes(report) == ["FILE_SIZE_LIMIT"], report.findings
    assert "File too large" in report.findings[0].message


def test_printing_1_gib_meets_the_output_bound() -> None:
    started = time.monotonic()
    report = run_module(
        """
        import sys

        def attack():
            line = "x" * 1023 + "\\n"
            for _ in range(1024 * 1024):
                sys.stdout.write(line)
        """,
        ATTACK_TEST,
        test_command="python -m pytest -x -q -s",  # not captured by pytest: straight out
    )
    assert codes(report) == ["OUTPUT_LIMIT"]
    assert len(report.output) <= 4000
    assert time.monotonic() - started < SMALL_LIMITS.wall_seconds


def test_a_daemon_does_not_outlive_the_run() -> None:
    marker = f"daemon-{uuid.uuid4().hex}"
    report = run_module(
        f"""
        import os, subprocess, sys

        def attack():
            if os.fork() == 0:  # a double fork, in its own session: a daemon
                os.setsid()
                subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "{marker}"])
                os._exit(0)
        """,
        ATTACK_TEST,
    )
    assert report.passed, report.findings
    assert processes_with(marker) == []


def test_the_code_cannot_signal_processes_outside() -> None:
    bystander = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    try:
        report = run_module(
            f"""
            import os, signal

            def attack():
                os.kill(os.getppid(), signal.SIGKILL)  # the sandbox's init ignores it
                os.kill({bystander.pid}, signal.SIGKILL)  # not in the sandbox's PID namespace
            """,
            ATTACK_TEST,
        )
        assert codes(report) == ["TEST_FAILED"]
        assert "ProcessLookupError" in report.findings[0].message
        assert bystander.poll() is None, "a process outside the sandbox was killed"
        assert os.getppid() > 0
    finally:
        os.killpg(bystander.pid, signal.SIGKILL)
        bystander.wait()


def _with(**changes: float) -> object:
    from dataclasses import replace

    from pipeline.stages.verify import SandboxOptions

    return SandboxOptions(limits=replace(SMALL_LIMITS, **changes))
