"""Reconnecting to a broker that does not answer, less and less often, up to a cap.

aiokafka (0.14) has no reconnect backoff: a request to a node it holds no connection to opens
a new one, and its loops (fetcher, group coordinator, sender, metadata) retry every
``retry_backoff_ms`` (100 ms) — with the broker gone, a worker's clients connect to it tens
of times a second. Kafka's Java client waits ``reconnect.backoff.ms`` after a failed attempt,
twice as long after each further failure up to ``reconnect.backoff.max.ms``, with ±20 %
jitter, and starts again from the bottom once a connection succeeds.

``ReconnectBackoff`` does the same for one aiokafka client, around ``AIOKafkaClient._get_conn``
(where the client opens its connections to nodes; only the bootstrap at start opens others):
while a node's backoff runs, asking for a connection to it answers ``None`` at once, as a
failed attempt does (the caller gets ``NodeNotReadyError`` and retries in its own loop), and
no connection is tried. A connection already open is always handed out.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka.client import ConnectionGroup

MAX_DOUBLINGS = 32
"""Past this many failures the delay is the cap anyway (and 2**n stays a small number)."""


@dataclass(frozen=True)
class ReconnectPolicy:
    """Seconds before the first retry after a failed connection and the most between two."""

    initial: float
    maximum: float
    jitter: float = 0.2

    def delay(self, failures: int, draw: float) -> float:
        """The wait after ``failures`` failures in a row; ``draw`` in [0, 1) sets the jitter.
        Never above ``maximum``."""
        base = min(self.maximum, self.initial * 2.0 ** (min(failures, MAX_DOUBLINGS) - 1))
        return min(self.maximum, base * (1 + self.jitter * (2 * draw - 1)))


@dataclass
class _Node:
    failures: int = 0
    retry_at: float = 0.0


@dataclass
class ReconnectBackoff:
    """One client's connection attempts per node, held back after failures (see the module
    docstring)."""

    policy: ReconnectPolicy
    clock: Callable[[], float] = time.monotonic
    draw: Callable[[], float] = random.random
    _nodes: dict[Any, _Node] = field(default_factory=dict)
    _connecting: dict[Any, asyncio.Lock] = field(default_factory=dict)

    def waiting(self, node_id: Any) -> bool:
        node = self._nodes.get(node_id)
        return node is not None and self.clock() < node.retry_at

    def record(self, node_id: Any, *, connected: bool) -> None:
        if connected:
            self._nodes.pop(node_id, None)
            return
        node = self._nodes.setdefault(node_id, _Node())
        node.failures += 1
        node.retry_at = self.clock() + self.policy.delay(node.failures, self.draw())

    def install(self, client: Any) -> None:
        """Make ``client`` (an ``aiokafka.AIOKafkaClient``) connect through this backoff."""
        upstream = client._get_conn

        def already_open(node_id: Any, options: dict[str, Any]) -> Any:
            conn = client._conns.get((node_id, options.get("group", ConnectionGroup.DEFAULT)))
            return conn if conn is not None and conn.connected() else None

        async def get_conn(node_id: Any, **options: Any) -> Any:
            conn = already_open(node_id, options)
            if conn is not None:
                return conn
            # One attempt at a time per node: who waited for it sees its outcome, not a new
            # attempt; a node slow to answer does not hold back the others.
            async with self._connecting.setdefault(node_id, asyncio.Lock()):
                conn = already_open(node_id, options)
                if conn is not None or self.waiting(node_id):
                    return conn
                conn = await upstream(node_id, **options)
                self.record(node_id, connected=conn is not None)
                return conn

        client._get_conn = get_conn


def use_reconnect_backoff(client: Any, policy: ReconnectPolicy | None) -> None:
    """Give an aiokafka client (``AIOKafkaClient``) a reconnect backoff of its own."""
    if policy is not None and policy.maximum > 0:
        ReconnectBackoff(policy).install(client)
