"""A fake Prometheus on 127.0.0.1 that answers with raw bytes: well, badly, slowly or never.

Bounded: every connection handler stops when the server closes (``stop``), when the
client hangs up, or after ``MAX_DRIP_BYTES``; ``close()`` joins every thread it started.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from typing import Any

Respond = Callable[[socket.socket, threading.Event], None]

#: A dripping answer stops after this many bytes even if nobody cuts it off.
MAX_DRIP_BYTES = 200
#: Seconds between two dripped bytes (well below any per-read timeout the client sets).
DRIP_INTERVAL = 0.2


class FakePrometheus:
    """Serves ``respond(connection, stop)`` to every connection; records request heads."""

    def __init__(self, respond: Respond) -> None:
        self.respond = respond
        self.requests: list[bytes] = []
        self.stop = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.1)
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)
        self._accept.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.getsockname()[1]}"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._handle, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _handle(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(5)
            head = b""
            try:
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    chunk = connection.recv(4096)
                    if not chunk:
                        return
                    head += chunk
                self.requests.append(head)
                self.respond(connection, self.stop)
            except OSError:
                return  # the client hung up (as it should when it gives up)

    def close(self) -> None:
        self.stop.set()
        self._accept.join(5)
        self._server.close()
        for thread in self._threads:
            thread.join(5)

    def __enter__(self) -> FakePrometheus:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def answer(body: bytes | str, status: str = "200 OK", headers: str = "") -> Respond:
    """A complete HTTP/1.1 answer with ``body``."""
    data = body.encode() if isinstance(body, str) else body

    def respond(connection: socket.socket, _stop: threading.Event) -> None:
        connection.sendall(
            f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{headers}"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
            + data
        )

    return respond


def vector(*series: dict[str, Any]) -> Respond:
    """A successful instant-vector answer."""
    return answer(
        json.dumps({"status": "success", "data": {"resultType": "vector", "result": list(series)}})
    )


def raw(data: bytes) -> Respond:
    """Exactly ``data``, then close."""

    def respond(connection: socket.socket, _stop: threading.Event) -> None:
        connection.sendall(data)

    return respond


def drip(prefix: bytes = b"") -> Respond:
    """``prefix`` at once, then one byte every DRIP_INTERVAL seconds (at most MAX_DRIP_BYTES)."""

    def respond(connection: socket.socket, stop: threading.Event) -> None:
        connection.sendall(prefix)
        for _ in range(MAX_DRIP_BYTES):
            if stop.wait(DRIP_INTERVAL):
                return
            connection.sendall(b" ")

    return respond


def silent() -> Respond:
    """Accept, read the request, never answer (until the server closes)."""

    def respond(_connection: socket.socket, stop: threading.Event) -> None:
        stop.wait(60)

    return respond
