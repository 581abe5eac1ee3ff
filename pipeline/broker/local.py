"""A real Apache Kafka broker or cluster (KRaft mode) on loopback, from Maven Central jars."""

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
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pipeline.broker.connection import aiokafka_options
from pipeline.broker.probe import brokers_seen
from pipeline.settings import Settings

POM = "pom.xml"
LOG4J = "log4j2.properties"


class BrokerError(RuntimeError):
    """The local broker cannot be set up or started; the message says what to do."""


@dataclass(frozen=True)
class NodeStatus:
    node_id: int
    running: bool
    pid: int | None
    bootstrap: str


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    pid: int | None
    bootstrap: str
    directory: Path
    nodes: tuple[NodeStatus, ...] = ()


@dataclass(frozen=True)
class ClientListener:
    """How clients reach the local broker: a protocol, SCRAM users made at format time (and
    PLAIN users, with PLAIN enabled beside SCRAM) and, for TLS, a PKCS12 keystore holding the
    broker's key and certificate."""

    protocol: str = "PLAINTEXT"
    scram_users: tuple[tuple[str, str], ...] = ()
    mechanism: str = "SCRAM-SHA-512"
    plain_users: tuple[tuple[str, str], ...] = ()
    keystore: Path | None = None
    keystore_password: str = ""
    truststore: Path | None = None
    cafile: Path | None = None
    client_auth: bool = False  # mutual TLS: clients must show a certificate the CA signed
    client_cert: tuple[Path, Path] | None = None  # certificate and key the probe shows

    @property
    def name(self) -> str:
        return self.protocol

    def settings(self) -> dict[str, Any]:
        """The ``Settings`` fields of a client of this listener (its first SCRAM user)."""
        fields: dict[str, Any] = {"security_protocol": self.protocol}
        if self.protocol.startswith("SASL_"):
            user, password = self.scram_users[0]
            fields.update(sasl_mechanism=self.mechanism, sasl_username=user, sasl_password=password)
        if self.protocol.endswith("SSL"):
            fields["ssl_cafile"] = self.cafile
        if self.client_cert is not None:
            fields["ssl_certfile"], fields["ssl_keyfile"] = self.client_cert
        return fields

    def properties(self) -> list[str]:
        lines: list[str] = []
        if self.protocol.startswith("SASL_"):
            user, password = self.scram_users[0]
            prefix = f"listener.name.{self.name.lower()}"
            enabled = f"{self.mechanism},PLAIN" if self.plain_users else self.mechanism
            lines += [
                f"sasl.enabled.mechanisms={enabled}",
                f"sasl.mechanism.inter.broker.protocol={self.mechanism}",
                f"{prefix}.{self.mechanism.lower()}.sasl.jaas.config="
                "org.apache.kafka.common.security.scram.ScramLoginModule required "
                f'username="{user}" password="{password}";',
            ]
            if self.plain_users:
                accounts = " ".join(f'user_{name}="{secret}"' for name, secret in self.plain_users)
                lines.append(
                    f"{prefix}.plain.sasl.jaas.config="
                    "org.apache.kafka.common.security.plain.PlainLoginModule required "
                    f"{accounts};"
                )
        if self.protocol.endswith("SSL") and self.keystore is not None:
            lines += [
                "ssl.keystore.type=PKCS12",
                f"ssl.keystore.location={self.keystore}",
                f"ssl.keystore.password={self.keystore_password}",
                "ssl.truststore.type=PKCS12",
                f"ssl.truststore.location={self.truststore or self.keystore}",
                f"ssl.truststore.password={self.keystore_password}",
            ]
            if self.client_auth:
                lines.append("ssl.client.auth=required")
        return lines

    def format_arguments(self) -> list[str]:
        arguments: list[str] = []
        for user, password in self.scram_users:
            arguments += ["--add-scram", f"{self.mechanism}=[name={user},password={password}]"]
        return arguments


@dataclass(frozen=True)
class Node:
    """One combined broker and controller of the local cluster, with its own folder."""

    node_id: int
    port: int
    controller_port: int
    directory: Path

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def logs(self) -> Path:
        return self.directory / "logs"

    @property
    def pid_file(self) -> Path:
        return self.directory / "broker.pid"

    def live_pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def status(self) -> NodeStatus:
        pid = self.live_pid()
        return NodeStatus(self.node_id, pid is not None, pid, self.bootstrap)


def node_ports(port: int, controller_port: int, nodes: int) -> list[tuple[int, int]]:
    """Node ``i`` (from 0) listens on ``port + 2i`` and ``controller_port + 2i``."""
    return [(port + 2 * i, controller_port + 2 * i) for i in range(nodes)]


def formatted_nodes(directory: Path) -> int | None:
    """How many nodes were formatted in ``directory`` (None: none yet)."""
    if (directory / "data" / "meta.properties").exists():
        return 1
    nodes = len(list(directory.glob("node-*/data/meta.properties")))
    return nodes or None


def new_cluster_id() -> str:
    """A random KRaft cluster id, as Kafka's ``Uuid.randomUuid`` makes them: never starting
    with "-" (the storage tool would read ``-t -x...`` as an option and fail)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


class LocalBroker:
    """A local KRaft cluster of ``nodes`` combined broker+controller nodes on loopback.

    ``directory`` holds ``libs/`` (jars); a single node keeps ``data/`` (log dirs), ``logs/``
    and its config in ``directory`` itself, a cluster keeps them per node in ``node-N/``.
    """

    def __init__(
        self,
        directory: Path,
        *,
        port: int = 9092,
        controller_port: int = 9093,
        heap: str = "512m",
        jars_dir: Path | None = None,
        nodes: int = 1,
        ports: Sequence[tuple[int, int]] | None = None,
        listener: ClientListener | None = None,
    ) -> None:
        self.directory = directory.resolve()
        self.heap = heap
        self.libs = (jars_dir or self.directory / "libs").resolve()
        self.listener = listener or ClientListener()
        pairs = list(ports) if ports is not None else node_ports(port, controller_port, nodes)
        self.nodes = [
            Node(
                i + 1,
                node_port,
                node_controller_port,
                self.directory if len(pairs) == 1 else self.directory / f"node-{i + 1}",
            )
            for i, (node_port, node_controller_port) in enumerate(pairs)
        ]
        self.port, self.controller_port = pairs[0]

    @property
    def bootstrap(self) -> str:
        return ",".join(node.bootstrap for node in self.nodes)

    @property
    def pid_file(self) -> Path:
        return self.nodes[0].pid_file

    @property
    def data(self) -> Path:
        return self.nodes[0].data

    @property
    def logs(self) -> Path:
        return self.nodes[0].logs

    def node(self, node_id: int) -> Node:
        return self.nodes[node_id - 1]

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
        nodes = tuple(node.status() for node in self.nodes)
        return BrokerStatus(
            all(n.running for n in nodes), nodes[0].pid, self.bootstrap, self.directory, nodes
        )

    def start(self, *, timeout: float = 90.0) -> BrokerStatus:
        """Start every node that is not running; return once the whole cluster answers."""
        java = self._java()
        stopped = [node for node in self.nodes if node.live_pid() is None]
        for node in stopped:
            for port in (node.port, node.controller_port):
                if not port_free(port):
                    raise BrokerError(
                        f"port {port} on 127.0.0.1 is taken by another program; stop it, or "
                        "choose other ports with CODEGEN_BROKER_PORT / CODEGEN_CONTROLLER_PORT, "
                        "or point KAFKA_BOOTSTRAP_SERVERS at the broker that is running there."
                    )
        if stopped:
            self.ensure_jars()
        cluster_id = self._cluster_id() or new_cluster_id()
        processes = [self._launch(java, node, cluster_id) for node in stopped]
        self._wait_until_ready(timeout, processes)
        return self.status()

    def start_node(self, node_id: int, *, timeout: float = 90.0) -> None:
        """Start one node again (after ``kill``) and wait until it answers."""
        node = self.node(node_id)
        if node.live_pid() is None:
            process = self._launch(self._java(), node, self._cluster_id() or new_cluster_id())
            self._wait_until_ready(timeout, [process], only=node)

    def kill(self, node_id: int) -> None:
        """SIGKILL one node, as a crash would: no clean shutdown, no leadership hand-over."""
        node = self.node(node_id)
        pid = node.live_pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
        node.pid_file.unlink(missing_ok=True)

    def stop(self, *, timeout: float = 30.0) -> bool:
        """Stop every node (SIGTERM, then SIGKILL); False when none was running."""
        pids = [(node, node.live_pid()) for node in self.nodes]
        running = [(node, pid) for node, pid in pids if pid is not None]
        for _, pid in running:
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for node, pid in running:
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.2)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
            node.pid_file.unlink(missing_ok=True)
        return bool(running)

    # -- helpers ------------------------------------------------------------------------

    def _launch(self, java: str, node: Node, cluster_id: str) -> subprocess.Popen[bytes]:
        node.logs.mkdir(parents=True, exist_ok=True)
        properties = self._write_config(node)
        if not (node.data / "meta.properties").exists():
            self._format(java, node, properties, cluster_id)
        stdout = (node.logs / "stdout.log").open("ab")
        process = subprocess.Popen(
            [*self._java_command(java, node), "kafka.Kafka", str(properties)],
            stdout=stdout,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=node.directory,
        )
        stdout.close()
        node.pid_file.write_text(str(process.pid))
        return process

    def _cluster_id(self) -> str | None:
        """The id the formatted nodes share, so that a node formatted later joins them."""
        for node in self.nodes:
            with contextlib.suppress(OSError):
                for line in (node.data / "meta.properties").read_text().splitlines():
                    if line.startswith("cluster.id="):
                        return line.split("=", 1)[1].strip()
        return None

    def _java(self) -> str:
        java = shutil.which("java")
        if java is None:
            raise BrokerError(
                "Java 17 or newer is needed to run the local Kafka broker; install it "
                "(e.g. `apt-get install openjdk-17-jre-headless`) or set "
                "KAFKA_BOOTSTRAP_SERVERS to use an existing cluster."
            )
        return java

    def _java_command(self, java: str, node: Node) -> list[str]:
        log4j = node.directory / LOG4J
        node.directory.mkdir(parents=True, exist_ok=True)
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
            f"-Dkafka.logs.dir={node.logs}",
            f"-Dlog4j2.configurationFile={log4j}",
            "-cp",
            f"{self.libs}/*",
        ]

    def _write_config(self, node: Node) -> Path:
        replicas = min(len(self.nodes), 3)
        min_isr = 2 if replicas >= 3 else 1
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.nodes)
        name = self.listener.name
        node.directory.mkdir(parents=True, exist_ok=True)
        properties = node.directory / "server.properties"
        properties.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    f"node.id={node.node_id}",
                    f"controller.quorum.voters={voters}",
                    f"listeners={name}://127.0.0.1:{node.port},"
                    f"CONTROLLER://127.0.0.1:{node.controller_port}",
                    f"advertised.listeners={name}://127.0.0.1:{node.port}",
                    "controller.listener.names=CONTROLLER",
                    f"listener.security.protocol.map={name}:{self.listener.protocol},"
                    "CONTROLLER:PLAINTEXT",
                    f"inter.broker.listener.name={name}",
                    *self.listener.properties(),
                    f"log.dirs={node.data}",
                    "num.partitions=1",
                    f"default.replication.factor={replicas}",
                    f"min.insync.replicas={min_isr}",
                    f"offsets.topic.replication.factor={replicas}",
                    "offsets.topic.num.partitions=8",
                    f"transaction.state.log.replication.factor={replicas}",
                    f"transaction.state.log.min.isr={min_isr}",
                    f"share.coordinator.state.topic.replication.factor={replicas}",
                    f"share.coordinator.state.topic.min.isr={min_isr}",
                    "unclean.leader.election.enable=false",
                    # A crashed node is noticed within seconds, its followers leave the ISR
                    # soon after: acks=all sends wait that long, not Kafka's 30 s default.
                    "broker.heartbeat.interval.ms=1000",
                    "broker.session.timeout.ms=6000",
                    "replica.lag.time.max.ms=10000",
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

    def _format(self, java: str, node: Node, properties: Path, cluster_id: str) -> None:
        result = subprocess.run(
            [
                *self._java_command(java, node),
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(properties),
                *self.listener.format_arguments(),
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd=node.directory,
        )
        if result.returncode != 0:
            raise BrokerError(
                "formatting the broker storage failed:\n" + (result.stdout + result.stderr)[-3000:]
            )

    def _wait_until_ready(
        self,
        timeout: float,
        processes: Sequence[subprocess.Popen[bytes]],
        only: Node | None = None,
    ) -> None:
        """Until every node (or ``only``) answers and the cluster counts all its brokers."""
        deadline = time.monotonic() + timeout
        options = self.client_options()
        while time.monotonic() < deadline:
            for process in processes:
                if process.poll() is not None:
                    for node in self.nodes:
                        if node.pid_file.exists() and node.live_pid() is None:
                            node.pid_file.unlink(missing_ok=True)
                    raise BrokerError(
                        f"the broker exited with code {process.returncode}; last log lines:\n"
                        + self._log_tail()
                    )
            targets = [only] if only is not None else self.nodes
            if all(
                brokers_seen(n.bootstrap, options, timeout=2.0) == len(self.nodes) for n in targets
            ):
                return
            time.sleep(0.3)
        raise BrokerError(f"the broker did not answer within {timeout:.0f} s:\n" + self._log_tail())

    def client_options(self) -> dict[str, Any]:
        """Security options for a client of this broker (the readiness probe's)."""
        settings = Settings(
            _env_file=None, bootstrap_servers=self.bootstrap, **self.listener.settings()
        )
        options = aiokafka_options(settings)
        del options["bootstrap_servers"]
        return options

    def _log_tail(self) -> str:
        lines: list[str] = []
        for node in self.nodes:
            for name in ("stdout.log", "server.log"):
                with contextlib.suppress(OSError):
                    tail = (node.logs / name).read_text(errors="replace").splitlines()[-15:]
                    lines += [f"[node {node.node_id}] {line}" for line in tail]
        return "\n".join(lines)


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


def port_free(port: int) -> bool:
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
