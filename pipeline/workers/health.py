"""A worker's HTTP endpoints on ``CODEGEN_PROMETHEUS_PORT``: ``/metrics``, ``/healthz`` (the
process answers) and ``/readyz`` (it can do its work), for probes and compose healthchecks."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from pipeline.broker.probe import probe
from pipeline.settings import Settings

BROKER_CHECK_SECONDS = 5.0
"""How long one answer about the broker is reused: probes of every few seconds open no more
connections than this."""


class Readiness:
    """Ready: the app joined its group (with partitions or, idle, with none), is not
    rebalancing, and the cluster answers a metadata request with the worker's settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app: faust.App | None = None
        self.joined = False
        self._broker: tuple[float, str | None] = (0.0, None)
        self._lock = threading.Lock()

    def watch(self, app: faust.App) -> None:
        self.app = app

        async def assigned(sender: Any, assigned: Any = None, **kwargs: Any) -> None:
            self.joined = True

        app.on_partitions_assigned.connect(assigned)  # type: ignore[arg-type]

    def problem(self) -> str | None:
        if self.app is None or not self.joined:
            return "not yet in its consumer group"
        if self.app.rebalancing:
            return "its consumer group is rebalancing"
        return self.broker_problem()

    def broker_problem(self) -> str | None:
        with self._lock:
            checked_at, problem = self._broker
            if time.monotonic() - checked_at > BROKER_CHECK_SECONDS:
                found = probe(self.settings, timeout=2.0)
                problem = None if found.ok else (found.problem or "the cluster does not answer")
                self._broker = (time.monotonic(), problem)
            return problem


def serve(host: str, port: int, readiness: Readiness | None = None) -> ThreadingHTTPServer:
    """Serve the endpoints from a daemon thread on ``host:port``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self.reply(200, generate_latest(), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                self.reply(200, b"ok\n")
            elif path == "/readyz":
                problem = readiness.problem() if readiness else None
                if problem is None:
                    self.reply(200, b"ready\n")
                else:
                    self.reply(503, f"not ready: {problem}\n".encode())
            else:
                self.reply(404, b"not found: /metrics, /healthz, /readyz\n")

        def reply(self, code: int, body: bytes, content_type: str = "text/plain") -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Probes come every few seconds: no access log."""

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server
