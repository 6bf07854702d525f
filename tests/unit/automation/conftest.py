"""A fake GitHub API on 127.0.0.1 (scripted answers, requests recorded) and a small repo."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tta_dev.testing._support import unavailable

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


# -- a small uv workspace in a git repository --------------------------------------------

ROOT_TOML = """\
[project]
name = "root"
version = "0"
requires-python = ">=3.11"

[tool.uv.workspace]
members = ["packages/*"]

[tool.tta-dev.routing.labels]
docs = ["docs/**", "*.md"]
core = ["packages/core/**"]

[tool.tta-dev.routing.sessions]
lint = ["**"]
unit = ["packages/**/*.py"]
"""


def member_toml(name: str, deps: list[str], description: str = "x") -> str:
    sources = "".join(f"{d} = {{ workspace = true }}\n" for d in deps)
    return (
        f'[project]\nname = "{name}"\nversion = "1.0"\ndescription = "{description}"\n'
        f'requires-python = ">=3.11"\ndependencies = {deps!r}\n'.replace("'", '"')
        + (f"\n[tool.uv.sources]\n{sources}" if sources else "")
    )


def run(cwd: Path, *args: str) -> str:
    return subprocess.run(
        args, cwd=cwd, check=True, capture_output=True, text=True, timeout=120
    ).stdout


def commit(repo: Path, message: str = "change") -> str:
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-q", "-m", message)
    return run(repo, "git", "rev-parse", "HEAD").strip()


@pytest.fixture
def pr_repo(tmp_path: Path) -> Path:
    """root (virtual-ish) + packages/core + packages/app (depends on core), locked, committed."""
    if shutil.which("uv") is None or shutil.which("git") is None:
        unavailable("needs uv and git on PATH: pip install uv; apt-get install git")
    repo = tmp_path / "repo"
    (repo / "packages" / "core" / "src" / "core").mkdir(parents=True)
    (repo / "packages" / "app" / "src" / "app").mkdir(parents=True)
    (repo / "pyproject.toml").write_text(ROOT_TOML)
    (repo / "packages" / "core" / "pyproject.toml").write_text(member_toml("core", []))
    (repo / "packages" / "app" / "pyproject.toml").write_text(member_toml("app", ["core"]))
    (repo / "packages" / "core" / "src" / "core" / "__init__.py").write_text("A = 1\n")
    (repo / "packages" / "app" / "src" / "app" / "__init__.py").write_text("B = 1\n")
    (repo / ".github").mkdir()
    (repo / ".github" / "CODEOWNERS").write_text(
        "* @lead\n/packages/core/ @alice @octo/core-team\n/docs/ docs@example.com\n"
    )
    run(repo, "uv", "lock", "--offline", "--quiet")
    run(repo, "git", "init", "-q", "-b", "main")
    run(repo, "git", "config", "user.email", "t@example.com")
    run(repo, "git", "config", "user.name", "t")
    run(repo, "git", "config", "commit.gpgsign", "false")
    commit(repo, "base")
    return repo
