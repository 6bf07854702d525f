"""Find or start the real services that integration checks need (Redis, Prometheus).

Each service is resolved in a fixed order, the same on a laptop, here and in CI:

1. a URL from the environment (``REDIS_URL``, ``PROMETHEUS_URL``), as GitHub Actions
   service containers or an already running server provide;
2. a local binary (``redis-server``, ``prometheus``) started on a free loopback port for
   this run and always stopped afterwards;
3. ``docker compose -f docker-compose.test.yml up -d --wait`` when a Docker engine answers.

When none works, :class:`ServiceUnavailableError` says how to provide the service.
Readiness is awaited with a bounded timeout, never an open-ended loop.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tta_dev.errors import TtaDevError

__all__ = [
    "SERVICES",
    "ServiceEndpoint",
    "ServiceSpec",
    "ServiceUnavailableError",
    "find_free_port",
    "prometheus_ready",
    "provide_services",
    "redis_ready",
    "redis_server_argv",
    "wait_until",
]

How = Literal["environment", "local-binary", "docker-compose"]


class ServiceUnavailableError(TtaDevError, RuntimeError):
    """A service could not be found or started by any of the supported ways."""


@dataclass(frozen=True)
class ServiceEndpoint:
    """A service that is reachable now, and how it was provided."""

    name: str
    url: str
    how: How
    detail: str = ""

    def describe(self) -> str:
        extra = f" ({self.detail})" if self.detail else ""
        return f"{self.name}: {self.url} via {self.how}{extra}"


@dataclass(frozen=True)
class ServiceSpec:
    """How to find, probe and start one kind of service."""

    name: str
    env_var: str
    binary: str
    compose_service: str
    compose_port: int
    scheme: str
    ready: Callable[[str], bool]
    apt_package: str


def find_free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_until(
    probe: Callable[[], bool],
    *,
    timeout: float,
    interval: float = 0.1,
    alive: Callable[[], bool] | None = None,
) -> bool:
    """Poll ``probe`` until it returns true or ``timeout`` seconds pass.

    ``alive`` lets the caller stop early when the process being waited for has died.
    """
    deadline = time.monotonic() + timeout
    while True:
        if probe():
            return True
        if alive is not None and not alive():
            return False
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def _host_port(url: str, default_port: int) -> tuple[str, int]:
    parsed = urllib.parse.urlsplit(url)
    return parsed.hostname or "127.0.0.1", parsed.port or default_port


def redis_ready(url: str, timeout: float = 1.0) -> bool:
    """True when a Redis server answers PING at ``url`` (an auth error also proves it is up)."""
    host, port = _host_port(url, 6379)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
    except OSError:
        return False
    return reply.startswith((b"+PONG", b"-NOAUTH", b"-WRONGPASS"))


def prometheus_ready(url: str, timeout: float = 1.0) -> bool:
    """True when Prometheus at ``url`` reports ready on ``/-/ready``."""
    import urllib.error
    import urllib.request  # lazily: the noxfile imports this module on every nox call

    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/-/ready", timeout=timeout) as resp:  # noqa: S310 - URL built from a checked http(s) base
            return 200 <= int(resp.status) < 300
    except (OSError, urllib.error.URLError, ValueError):
        return False


SERVICES: Mapping[str, ServiceSpec] = {
    "redis": ServiceSpec(
        name="redis",
        env_var="REDIS_URL",
        binary="redis-server",
        compose_service="redis",
        compose_port=16379,
        scheme="redis",
        ready=redis_ready,
        apt_package="redis-server",
    ),
    "prometheus": ServiceSpec(
        name="prometheus",
        env_var="PROMETHEUS_URL",
        binary="prometheus",
        compose_service="prometheus",
        compose_port=19090,
        scheme="http",
        ready=prometheus_ready,
        apt_package="prometheus",
    ),
}


def _how_to_provide(spec: ServiceSpec) -> str:
    return (
        f"{spec.name} is not available. Provide it one of three ways: "
        f"set {spec.env_var} to a running server; "
        f"or install the '{spec.binary}' binary (e.g. 'apt-get install -y {spec.apt_package}'); "
        f"or run a Docker engine so 'docker compose -f docker-compose.test.yml' can start it."
    )


@dataclass
class _Started:
    process: subprocess.Popen[bytes]
    log_path: Path
    workdir: Path


@dataclass
class _Runtime:
    """Everything started for one ``provide_services`` block, torn down in reverse."""

    started: list[_Started] = field(default_factory=lambda: list[_Started]())
    compose_up: bool = False


def _prometheus_config(path: Path, self_port: int, scrape_targets: Sequence[str]) -> None:
    lines = [
        "global:",
        "  scrape_interval: 1s",
        "  evaluation_interval: 1s",
        "scrape_configs:",
        "  - job_name: prometheus",
        "    static_configs:",
        f"      - targets: ['127.0.0.1:{self_port}']",
    ]
    if scrape_targets:
        targets = ", ".join(f"'{t}'" for t in scrape_targets)
        lines += [
            "  - job_name: tta",
            "    static_configs:",
            f"      - targets: [{targets}]",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def redis_server_argv(binary: str, port: int, workdir: Path) -> list[str]:
    """A throwaway redis-server on loopback: no persistence, files kept in ``workdir``."""
    return [
        binary,
        *("--port", str(port), "--bind", "127.0.0.1"),
        *("--save", "", "--appendonly", "no", "--dir", str(workdir)),
    ]


def _start_local(
    spec: ServiceSpec,
    binary: str,
    scrape_targets: Sequence[str],
    timeout: float,
    runtime: _Runtime,
) -> ServiceEndpoint:
    port = find_free_port()
    workdir = Path(tempfile.mkdtemp(prefix=f"tta-{spec.name}-"))
    if spec.name == "redis":
        argv = redis_server_argv(binary, port, workdir)
    else:
        config = workdir / "prometheus.yml"
        _prometheus_config(config, port, scrape_targets)
        argv = [
            binary,
            f"--config.file={config}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--storage.tsdb.path={workdir / 'data'}",
        ]
    log_path = workdir / "service.log"
    with log_path.open("wb") as log:
        # A new session keeps Ctrl-C in the terminal from reaching the server first:
        # the context manager stops it itself, in order, also on failure.
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    started = _Started(process=process, log_path=log_path, workdir=workdir)
    runtime.started.append(started)
    url = f"{spec.scheme}://127.0.0.1:{port}"
    if not wait_until(
        lambda: spec.ready(url), timeout=timeout, alive=lambda: process.poll() is None
    ):
        tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
        reason = tail[0] if tail else "no output"
        raise ServiceUnavailableError(
            f"{spec.name}: started '{binary}' on port {port} but it was not ready within "
            f"{timeout:.0f}s (last log line: {reason})"
        )
    return ServiceEndpoint(spec.name, url, "local-binary", f"{binary}, pid {process.pid}")


def docker_engine_available(docker: str | None = None) -> bool:
    """True when a Docker engine (not just the client) answers."""
    docker = docker or shutil.which("docker")
    if docker is None:
        return False
    try:
        result = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and bool(result.stdout.strip())


def _stop(runtime: _Runtime, compose_file: Path) -> None:
    for started in reversed(runtime.started):
        proc = started.process
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        shutil.rmtree(started.workdir, ignore_errors=True)
    runtime.started.clear()
    if runtime.compose_up:
        subprocess.run(
            ["docker", "compose", "-f", str(compose_file), "down", "-v"],
            capture_output=True,
            timeout=120,
            check=False,
        )
        runtime.compose_up = False


@contextlib.contextmanager
def _sigterm_as_exit() -> Generator[None]:
    """Turn SIGTERM into SystemExit so started servers are stopped on `kill` too."""

    def handler(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def provide_services(
    names: Sequence[str],
    *,
    environ: Mapping[str, str] | None = None,
    compose_file: Path = Path("docker-compose.test.yml"),
    scrape_targets: Sequence[str] = (),
    timeout: float = 30.0,
    which: Callable[[str], str | None] = shutil.which,
    docker_available: Callable[[], bool] = docker_engine_available,
) -> Generator[dict[str, ServiceEndpoint]]:
    """Yield a reachable endpoint for each named service; stop what was started on exit.

    ``scrape_targets`` are ``host:port`` pairs a locally started Prometheus scrapes.
    """
    env = os.environ if environ is None else environ
    unknown = [n for n in names if n not in SERVICES]
    if unknown:
        raise ValueError(f"unknown service(s): {', '.join(unknown)}; known: {', '.join(SERVICES)}")
    runtime = _Runtime()
    endpoints: dict[str, ServiceEndpoint] = {}
    with _sigterm_as_exit():
        try:
            compose_needed: list[ServiceSpec] = []
            for name in names:
                spec = SERVICES[name]
                url = env.get(spec.env_var, "").strip()
                if url:
                    if not wait_until(lambda u=url, s=spec: s.ready(u), timeout=timeout):
                        raise ServiceUnavailableError(
                            f"{spec.name}: {spec.env_var}={url} is set but nothing answered there "
                            f"within {timeout:.0f}s; start the server or unset {spec.env_var}"
                        )
                    endpoints[name] = ServiceEndpoint(name, url.rstrip("/"), "environment")
                    continue
                binary = which(spec.binary)
                if binary is not None:
                    endpoints[name] = _start_local(spec, binary, scrape_targets, timeout, runtime)
                    continue
                compose_needed.append(spec)
            if compose_needed:
                if not docker_available() or not compose_file.is_file():
                    raise ServiceUnavailableError(
                        " ".join(_how_to_provide(spec) for spec in compose_needed)
                    )
                services = [spec.compose_service for spec in compose_needed]
                runtime.compose_up = True
                result = subprocess.run(
                    ["docker", "compose", "-f", str(compose_file), "up", "-d", "--wait", *services],
                    capture_output=True,
                    text=True,
                    timeout=max(timeout, 120),
                    check=False,
                )
                if result.returncode != 0:
                    last = (result.stderr.strip().splitlines() or ["no output"])[-1]
                    raise ServiceUnavailableError(
                        f"docker compose could not start {services}: {last}"
                    )
                for spec in compose_needed:
                    url = f"{spec.scheme}://127.0.0.1:{spec.compose_port}"
                    if not wait_until(lambda u=url, s=spec: s.ready(u), timeout=timeout):
                        raise ServiceUnavailableError(
                            f"{spec.name}: docker compose started it but {url} was not ready"
                        )
                    endpoints[spec.name] = ServiceEndpoint(
                        spec.name, url, "docker-compose", str(compose_file)
                    )
            yield endpoints
        finally:
            _stop(runtime, compose_file)
