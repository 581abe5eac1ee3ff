"""A ``ty server`` kept running, asked for the diagnostics of one module text at a time.

Starting ``ty check`` for every module costs about 50 ms, most of it spent reading and
inferring the standard library's stubs again; a language server keeps them between checks,
so a module of 500 lines takes 10-30 ms. The server speaks the Language Server Protocol on
its stdin and stdout: each check opens the text as an in-memory document (nothing is
written to disk), pulls its diagnostics (``textDocument/diagnostic``) and closes it.

One server per configuration and process, started on first use in its own process group,
with a workspace of its own (a temporary directory holding only its ``ty.toml``). Checks
are serialised on a lock. A server that dies, hangs past the timeout or answers garbage
is killed and :class:`TypeCheckFailed` raised; the next check starts a new one. The
server exits on its own when this process dies (its stdin closes), and at interpreter exit
it is shut down.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess  # nosec B404  # runs the ty binary only, never generated code
import tempfile
import threading
from pathlib import Path
from typing import IO, Any

from pipeline.stages.validate.errors import TypeCheckFailed

MODULE_NAME = "module.py"
"""The in-memory document's name (the module's own could shadow a standard module)."""

_Message = dict[str, Any]


def _write_message(stream: IO[bytes], message: _Message) -> None:
    body = json.dumps(message).encode("utf-8")
    stream.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    stream.flush()


def _read_message(stream: IO[bytes]) -> _Message | None:
    """The next message, or ``None`` at the end of the stream."""
    length = None
    while True:
        line = stream.readline()
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("ascii", "replace").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length is None:
        raise ValueError("a message without Content-Length")
    body = stream.read(length)
    if len(body) < length:
        return None
    message = json.loads(body)
    if not isinstance(message, dict):
        raise ValueError("a message that is not a JSON object")
    return message


class TyServer:
    """One ``ty server`` process; :meth:`diagnostics` is safe to call from any thread."""

    def __init__(self, binary: str, config: str, *, timeout: float) -> None:
        self.binary = binary
        self.config = config
        self.timeout = timeout
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._root: Path | None = None
        self._responses: queue.Queue[_Message | None] = queue.Queue()
        self._next_id = 0
        self._version = 0

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    # -- the one public call ---------------------------------------------------------------

    def diagnostics(self, text: str) -> list[_Message]:
        """ty's LSP diagnostics of ``text`` checked as :data:`MODULE_NAME`."""
        with self._lock:
            try:
                if self._process is None or self._process.poll() is not None:
                    self._start()
                return self._check(text)
            except TypeCheckFailed:
                self._kill()
                raise

    def close(self) -> None:
        """Shut the server down (politely, then by force)."""
        with self._lock:
            process = self._process
            if process is not None and process.poll() is None:
                with contextlib.suppress(TypeCheckFailed, OSError, ValueError):
                    self._request("shutdown", None, timeout=2.0)
                    self._notify("exit", None)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=2.0)
            self._kill()

    # -- the protocol ----------------------------------------------------------------------

    def _start(self) -> None:
        self._kill()
        self._root = Path(tempfile.mkdtemp(prefix="codegen-ty-"))
        (self._root / "ty.toml").write_text(self.config, encoding="utf-8")
        try:
            self._process = subprocess.Popen(  # nosec B603  # fixed argv
                [self.binary, "server"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                cwd=self._root,
                # no user-level ty.toml either
                env={**os.environ, "XDG_CONFIG_HOME": str(self._root)},
                start_new_session=True,
            )
        except OSError as error:
            raise TypeCheckFailed(f"ty server could not start: {error}") from error
        self._responses = queue.Queue()
        threading.Thread(
            target=self._read, args=(self._process.stdout, self._responses), daemon=True
        ).start()
        workspace = self._root.as_uri()
        self._request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": workspace,
                "workspaceFolders": [{"uri": workspace, "name": "codegen"}],
                "capabilities": {"general": {"positionEncodings": ["utf-32"]}},
            },
        )
        self._notify("initialized", {})

    def _check(self, text: str) -> list[_Message]:
        if self._root is None:
            raise TypeCheckFailed("ty server is not running")
        self._version += 1
        document = {"uri": (self._root / MODULE_NAME).as_uri()}
        self._notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    **document,
                    "languageId": "python",
                    "version": self._version,
                    "text": text,
                }
            },
        )
        try:
            result = self._request("textDocument/diagnostic", {"textDocument": document})
        finally:
            if self._process is not None and self._process.poll() is None:
                with contextlib.suppress(TypeCheckFailed):
                    self._notify("textDocument/didClose", {"textDocument": document})
        items = result.get("items") if isinstance(result, dict) else None
        if not isinstance(items, list):
            raise TypeCheckFailed(f"ty server sent an unexpected diagnostic report: {result!r}")
        return [item for item in items if isinstance(item, dict)]

    def _notify(self, method: str, params: Any) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def _request(self, method: str, params: Any, *, timeout: float | None = None) -> Any:
        self._next_id += 1
        number = self._next_id
        self._send({"jsonrpc": "2.0", "id": number, "method": method, "params": params})
        limit = self.timeout if timeout is None else timeout
        while True:
            try:
                message = self._responses.get(timeout=limit)
            except queue.Empty:
                raise TypeCheckFailed(f"ty server did not answer {method} in {limit:g} s") from None
            if message is None:
                raise TypeCheckFailed(f"ty server exited during {method}")
            if message.get("id") != number:
                continue  # the answer to an earlier request that timed out
            if "error" in message:
                raise TypeCheckFailed(f"ty server failed {method}: {message['error']}")
            return message.get("result")

    def _send(self, message: _Message) -> None:
        process = self._process
        if process is None or process.stdin is None:
            raise TypeCheckFailed("ty server is not running")
        try:
            with self._write_lock:
                _write_message(process.stdin, message)
        except (OSError, ValueError) as error:
            raise TypeCheckFailed(f"ty server stopped reading: {error}") from error

    def _read(self, stream: IO[bytes] | None, responses: queue.Queue[_Message | None]) -> None:
        """Reader thread: responses to the queue, requests from the server answered."""
        try:
            while stream is not None and (message := _read_message(stream)) is not None:
                if "method" not in message:
                    responses.put(message)
                elif "id" in message:  # e.g. window/workDoneProgress/create
                    with contextlib.suppress(TypeCheckFailed):
                        self._send({"jsonrpc": "2.0", "id": message["id"], "result": None})
        except (OSError, ValueError):
            pass
        responses.put(None)

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None


_servers: dict[tuple[int, str, str], TyServer] = {}
_servers_lock = threading.Lock()


def server_for(binary: str, config: str, *, timeout: float) -> TyServer:
    """This process's server for ``config`` (a forked child gets its own)."""
    key = (os.getpid(), binary, config)
    with _servers_lock:
        server = _servers.get(key)
        if server is None:
            server = _servers[key] = TyServer(binary, config, timeout=timeout)
        return server


def server_pids() -> list[int]:
    """The process ids of this process's running servers (for measurements)."""
    with _servers_lock:
        servers = [s for key, s in _servers.items() if key[0] == os.getpid()]
    return [pid for server in servers if (pid := server.pid) is not None]


@atexit.register
def close_all() -> None:
    """Stop every server this process started."""
    with _servers_lock:
        servers = [s for key, s in _servers.items() if key[0] == os.getpid()]
        _servers.clear()
    for server in servers:
        server.close()
