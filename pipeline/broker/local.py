"""A real single-node Apache Kafka broker (KRaft mode) on loopback, from Maven Central jars."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pipeline.broker.probe import broker_answers

POM = "pom.xml"
LOG4J = "log4j2.properties"


class BrokerError(RuntimeError):
    """The local broker cannot be set up or started; the message says what to do."""


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    pid: int | None
    bootstrap: str
    directory: Path


def new_cluster_id() -> str:
    """A random KRaft cluster id, as Kafka's ``Uuid.randomUuid`` makes them: never starting
    with "-" (the storage tool would read ``-t -x...`` as an option and fail)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


class LocalBroker:
    """Lays out ``directory`` as ``libs/`` (jars), ``data/`` (log dirs), ``logs/`` and config."""

    def __init__(
        self,
        directory: Path,
        *,
        port: int = 9092,
        controller_port: int = 9093,
        heap: str = "512m",
        jars_dir: Path | None = None,
    ) -> None:
        self.directory = directory.resolve()
        self.port = port
        self.controller_port = controller_port
        self.heap = heap
        self.libs = (jars_dir or self.directory / "libs").resolve()
        self.data = self.directory / "data"
        self.logs = self.directory / "logs"
        self.pid_file = self.directory / "broker.pid"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    # -- jars ---------------------------------------------------------------------------

    def ensure_jars(self) -> None:
        """Fetch the broker's jars once; fetch again only when the pom changes."""
        pom_text = resources.files("pipeline.broker").joinpath(POM).read_text("utf-8")
        digest = hashlib.sha256(pom_text.encode()).hexdigest()
        stamp = self.libs / ".pom.sha256"
        if stamp.exists() and stamp.read_text().strip() == digest:
            return
        mvn = shutil.which("mvn")
        if mvn is None:
            raise BrokerError(
                "Maven (mvn) is needed once to fetch the Kafka jars from Maven Central; "
                "install it (e.g. `apt-get install maven`) or set KAFKA_BOOTSTRAP_SERVERS "
                "to use an existing cluster."
            )
        build = self.libs.parent / ".kafka-build"
        build.mkdir(parents=True, exist_ok=True)
        (build / POM).write_text(pom_text, encoding="utf-8")
        fresh = self.libs.with_name(self.libs.name + ".partial")
        shutil.rmtree(fresh, ignore_errors=True)
        result = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(build / POM),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={fresh}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BrokerError(
                "mvn could not fetch the Kafka jars:\n" + (result.stdout + result.stderr)[-3000:]
            )
        (fresh / ".pom.sha256").write_text(digest)
        shutil.rmtree(self.libs, ignore_errors=True)
        fresh.rename(self.libs)

    # -- lifecycle ----------------------------------------------------------------------

    def status(self) -> BrokerStatus:
        pid = self._live_pid()
        return BrokerStatus(pid is not None, pid, self.bootstrap, self.directory)

    def start(self, *, timeout: float = 90.0) -> BrokerStatus:
        """Start the broker unless it runs; return once it answers metadata requests."""
        if self._live_pid() is not None:
            self._wait_until_ready(timeout, None)
            return self.status()
        java = self._java()
        for port in (self.port, self.controller_port):
            if not _port_free(port):
                raise BrokerError(
                    f"port {port} on 127.0.0.1 is taken by another program; stop it, or "
                    "choose other ports with CODEGEN_BROKER_PORT / CODEGEN_CONTROLLER_PORT, "
                    "or point KAFKA_BOOTSTRAP_SERVERS at the broker that is running there."
                )
        self.ensure_jars()
        self.logs.mkdir(parents=True, exist_ok=True)
        properties = self._write_config()
        if not (self.data / "meta.properties").exists():
            self._format(java, properties)
        stdout = (self.logs / "stdout.log").open("ab")
        process = subprocess.Popen(
            [*self._java_command(java), "kafka.Kafka", str(properties)],
            stdout=stdout,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=self.directory,
        )
        stdout.close()
        self.pid_file.write_text(str(process.pid))
        self._wait_until_ready(timeout, process)
        return self.status()

    def stop(self, *, timeout: float = 30.0) -> bool:
        """Stop the broker (SIGTERM, then SIGKILL); False when it was not running."""
        pid = self._live_pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.2)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True

    # -- helpers ------------------------------------------------------------------------

    def _java(self) -> str:
        java = shutil.which("java")
        if java is None:
            raise BrokerError(
                "Java 17 or newer is needed to run the local Kafka broker; install it "
                "(e.g. `apt-get install openjdk-17-jre-headless`) or set "
                "KAFKA_BOOTSTRAP_SERVERS to use an existing cluster."
            )
        return java

    def _java_command(self, java: str) -> list[str]:
        log4j = self.directory / LOG4J
        log4j.write_text(
            resources.files("pipeline.broker").joinpath(LOG4J).read_text("utf-8"), "utf-8"
        )
        return [
            java,
            f"-Xms{min_heap(self.heap)}",
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={self.logs}",
            f"-Dlog4j2.configurationFile={log4j}",
            "-cp",
            f"{self.libs}/*",
        ]

    def _write_config(self) -> Path:
        properties = self.directory / "server.properties"
        properties.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
                    f"listeners=PLAINTEXT://127.0.0.1:{self.port},"
                    f"CONTROLLER://127.0.0.1:{self.controller_port}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                    "inter.broker.listener.name=PLAINTEXT",
                    f"log.dirs={self.data}",
                    "num.partitions=1",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=8",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "share.coordinator.state.topic.replication.factor=1",
                    "group.initial.rebalance.delay.ms=0",
                    "auto.create.topics.enable=true",
                    "num.network.threads=2",
                    "num.io.threads=4",
                    "",
                ]
            ),
            encoding="utf-8",
        )
        return properties

    def _format(self, java: str, properties: Path) -> None:
        cluster_id = new_cluster_id()
        result = subprocess.run(
            [
                *self._java_command(java),
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(properties),
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd=self.directory,
        )
        if result.returncode != 0:
            raise BrokerError("formatting the broker storage failed:\n" + result.stderr[-3000:])

    def _wait_until_ready(self, timeout: float, process: subprocess.Popen[bytes] | None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise BrokerError(
                    f"the broker exited with code {process.returncode}; last log lines:\n"
                    + self._log_tail()
                )
            if broker_answers(self.bootstrap, timeout=2.0):
                return
            time.sleep(0.3)
        raise BrokerError(f"the broker did not answer within {timeout:.0f} s:\n" + self._log_tail())

    def _log_tail(self) -> str:
        lines: list[str] = []
        for name in ("stdout.log", "server.log"):
            with contextlib.suppress(OSError):
                lines += (self.logs / name).read_text(errors="replace").splitlines()[-15:]
        return "\n".join(lines)

    def _live_pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None


def min_heap(heap: str) -> str:
    return "128m" if heap.endswith("m") and int(heap[:-1]) > 128 else heap


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as gone.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
