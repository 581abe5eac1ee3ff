"""A TCP listener that accepts every connection and resets it at once, counting them: a port
where a broker is starting or crashing, seen from a client that tries to connect."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class ResettingListener:
    """Accepts connections on ``port`` (0: a free one) and resets each at once; counts them."""

    def __init__(self, port: int = 0) -> None:
        self.attempts: list[float] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self._sock.listen(128)
        self.port: int = self._sock.getsockname()[1]
        self._sock.settimeout(0.2)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            self.attempts.append(time.monotonic())
            # Linger 0: a reset, and no TIME_WAIT left on the port the broker binds again.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    def close(self) -> None:
        self._stopped.set()
        self._thread.join()
        self._sock.close()


@contextmanager
def resetting_listener(port: int = 0) -> Iterator[ResettingListener]:
    listener = ResettingListener(port)
    try:
        yield listener
    finally:
        listener.close()
