"""A fake GitHub API on 127.0.0.1: scripted answers, every request recorded exactly."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

TOKEN = "ghs_TESTTOKENdoNotLeak1234567890"


@dataclass(frozen=True)
class Seen:
    method: str
    path: str  # with the query
    headers: dict[str, str]
    body: Any


@dataclass
class Answer:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class FakeGitHub:
    """Answers queued per ``(method, path)``; an unscripted request gets 404."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.answers: dict[tuple[str, str], list[Answer]] = {}
        self.url = ""

    def on(self, method: str, path: str, *answers: Answer) -> None:
        self.answers.setdefault((method, path), []).extend(answers)

    def answer(self, method: str, path: str) -> Answer:
        queue = self.answers.get((method, path))
        if not queue:
            return Answer(404, {"message": "Not Found"})
        return queue.pop(0) if len(queue) > 1 else queue[0]


def _handler(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            fake.seen.append(
                Seen(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    json.loads(raw) if raw else None,
                )
            )
            answer = fake.answer(self.command, self.path)
            data = json.dumps(answer.body).encode() if answer.body is not None else b""
            self.send_response(answer.status)
            for key, value in answer.headers.items():
                self.send_header(key, value.replace("{url}", fake.url))
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_DELETE = _any

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
