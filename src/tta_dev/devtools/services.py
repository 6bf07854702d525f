"""Find or start the real services that integration checks need (Redis, Prometheus).

Each service is resolved in a fixed order, the same on a laptop, here and in CI:

1. a URL from the environment (``REDIS_URL``, ``PROMETHEUS_URL``), as GitHub Actions
   service containers or an already running server provide;
2. a local binary (``redis-server``, ``prometheus``) started on a free loopback port for
   this run and always stopped afterwards;
3. ``docker compose -f docker-compose.test.yml up -d --wait`` when a Docker engine answers;
4. :func:`provision`: the Debian/Ubuntu package installed with ``apt-get`` where that
   works without a question (root, or passwordless ``sudo``), then started as in 2.
   ``TTA_NO_PROVISION=1`` turns this off.

When none works, :class:`ServiceUnavailableError` says in one line how to provide the
service. Readiness is awaited with a bounded timeout, never an open-ended loop. A URL may
carry a password (``redis://:pw@host``): it is used to connect, and shown only through
:func:`tta_dev._redact.shown_url`.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from tta_dev._redact import redact_urls, shown_url
from tta_dev._signals import sigterm_as_exit, sigterm_held
from tta_dev.errors import TtaDevError

__all__ = [
    "PROVISION_OPT_OUT",
    "SERVICES",
    "TOOLS",
    "CommandRunner",
    "ProvisionResult",
    "ServiceEndpoint",
    "ServiceSpec",
    "ServiceUnavailableError",
    "find_free_port",
    "prometheus_ready",
    "provide_services",
    "provide_tool",
    "provision",
    "redis_ready",
    "redis_server_argv",
    "run_command",
    "wait_until",
]

How = Literal["environment", "local-binary", "docker-compose"]


class ServiceUnavailableError(TtaDevError, RuntimeError):
    """A service could not be found or started by any of the supported ways."""


@dataclass(frozen=True)
class ServiceEndpoint:
    """A service that is reachable now, and how it was provided."""

    name: str
    #: The URL to connect with; it may hold a password, so it stays out of ``repr``.
    url: str = field(repr=False)
    how: How
    detail: str = ""

    @property
    def shown_url(self) -> str:
        """``url`` without userinfo, query and fragment: the form to print."""
        return shown_url(self.url)

    def describe(self) -> str:
        extra = f" ({self.detail})" if self.detail else ""
        return f"{self.name}: {self.shown_url} via {self.how}{extra}"


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
    """True when Prometheus at ``url`` reports ready on ``/-/ready``.

    ``user:password@`` in ``url`` is sent as HTTP basic auth (urllib cannot connect to a
    netloc that holds it); a query (``?token=...``) is kept.
    """
    import base64
    import urllib.error
    import urllib.parse
    import urllib.request  # lazily: the noxfile imports this module on every nox call

    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.netloc.rpartition("@")[2]
        probe = urllib.parse.urlunsplit(
            (parts.scheme, host, parts.path.rstrip("/") + "/-/ready", parts.query, "")
        )
        request = urllib.request.Request(probe)  # noqa: S310 - http(s) base checked by caller
        if parts.username is not None or parts.password is not None:
            user = urllib.parse.unquote(parts.username or "")
            password = urllib.parse.unquote(parts.password or "")
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310
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


def _one_line(text: str, limit: int = 300) -> str:
    """``text`` fit for a one-line message: whitespace folded, URLs redacted, bounded."""
    line = " ".join(redact_urls(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _how_to_provide(spec: ServiceSpec, why_not_installed: str = "") -> str:
    note = f" (not installed automatically: {why_not_installed})" if why_not_installed else ""
    return (
        f"{spec.name} is not available. Provide it one of three ways: "
        f"set {spec.env_var} to a running server; "
        f"or install the '{spec.binary}' binary (e.g. 'apt-get install -y {spec.apt_package}'); "
        f"or run a Docker engine so 'docker compose -f docker-compose.test.yml' can start it"
        f"{note}."
    )


# --- provisioning: install a missing binary where that needs no question --------------

#: Set to ``1`` to never install anything (the resolution then stops at "not available").
PROVISION_OPT_OUT = "TTA_NO_PROVISION"

#: ``runner(argv, env, timeout) -> (exit code, output)``; :func:`run_command` by default.
CommandRunner = Callable[[Sequence[str], Mapping[str, str], float], tuple[int, str]]


def run_command(argv: Sequence[str], env: Mapping[str, str], timeout: float) -> tuple[int, str]:
    """Run ``argv`` without a terminal or input; (exit code, stdout + stderr).

    A program that cannot be started is exit 127, one that runs past ``timeout`` is 124
    (the shell's conventions), each with a one-line reason as output.
    """
    try:
        done = subprocess.run(
            list(argv),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return 124, f"no result within {timeout:.0f}s"
    except OSError as exc:
        return 127, exc.strerror or str(exc)
    return done.returncode, done.stdout + done.stderr


@dataclass(frozen=True)
class ProvisionResult:
    """What :func:`provision` did for one service.

    ``binary`` is the installed program's path when it worked; otherwise ``reason`` says
    in one line why nothing usable was installed. ``commands`` are the commands that ran,
    in order (a privilege check, the install, a package-list update and a second try).
    """

    service: str
    package: str
    binary: str | None = None
    commands: tuple[tuple[str, ...], ...] = ()
    reason: str = ""

    @property
    def installed(self) -> bool:
        return self.binary is not None


def _opted_out(env: Mapping[str, str]) -> bool:
    return env.get(PROVISION_OPT_OUT, "").strip().lower() not in {"", "0", "false", "no", "off"}


def _is_root() -> bool:
    geteuid = getattr(os, "geteuid", None)  # not on Windows
    return geteuid is not None and geteuid() == 0


def _no_log(_message: str) -> None:
    return None


@dataclass(frozen=True)
class Program:
    """A program found on ``PATH`` as ``binary``, installed from the Debian ``apt_package``."""

    name: str
    binary: str
    apt_package: str


class Installable(Protocol):
    """What :func:`provision` needs: a ``ServiceSpec`` or a ``Program``."""

    @property
    def name(self) -> str: ...
    @property
    def binary(self) -> str: ...
    @property
    def apt_package(self) -> str: ...


def provision(
    spec: Installable,
    *,
    environ: Mapping[str, str] | None = None,
    runner: CommandRunner = run_command,
    is_root: bool | None = None,
    log: Callable[[str], None] = _no_log,
    timeout: float = 900.0,
) -> ProvisionResult:
    """Install ``spec``'s Debian/Ubuntu package where that needs nobody to answer anything.

    That is: ``TTA_NO_PROVISION`` is not set, ``apt-get`` is on ``PATH``, and we are root
    or ``sudo -n`` works (passwordless sudo, as on GitHub's runners). The install runs
    with ``DEBIAN_FRONTEND=noninteractive`` and ``--no-install-recommends``; when it fails
    (e.g. no package lists yet on a fresh machine), ``apt-get update`` runs once and the
    install is tried again. ``log`` is told what is installed, before it happens.

    Programs are looked up on ``environ``'s ``PATH``; ``runner`` runs them (tests pass a
    fake). Never raises for a failed install: the result says why.
    """
    env = os.environ if environ is None else environ
    path = env.get("PATH", os.defpath)
    ran: list[tuple[str, ...]] = []

    def result(binary: str | None = None, reason: str = "") -> ProvisionResult:
        return ProvisionResult(spec.name, spec.apt_package, binary, tuple(ran), reason)

    def run(argv: Sequence[str], run_env: Mapping[str, str], limit: float) -> tuple[int, str]:
        ran.append(tuple(argv))
        return runner(argv, run_env, limit)

    if _opted_out(env):
        return result(reason=f"{PROVISION_OPT_OUT}={env[PROVISION_OPT_OUT].strip()} is set")
    apt_get = shutil.which("apt-get", path=path)
    if apt_get is None:
        return result(reason="no apt-get here, the only package manager it knows")
    prefix: tuple[str, ...] = ()
    if not (_is_root() if is_root is None else is_root):
        sudo = shutil.which("sudo", path=path)
        if sudo is None:
            return result(reason="not root and no sudo")
        code, _ = run((sudo, "-n", "true"), env, 30.0)
        if code != 0:
            return result(reason="not root and sudo needs a password")
        # sudo drops most of the environment; `env` sets what apt-get needs on its side.
        prefix = (sudo, "-n", "env", "DEBIAN_FRONTEND=noninteractive")
    apt_env = {**env, "DEBIAN_FRONTEND": "noninteractive"}
    install = (*prefix, apt_get, "install", "-y", "-qq", "--no-install-recommends")
    install += (spec.apt_package,)
    log(
        f"{spec.name}: '{spec.binary}' not found; installing the Debian package "
        f"'{spec.apt_package}': {shlex.join(install)} (set {PROVISION_OPT_OUT}=1 to never do this)"
    )
    code, output = run(install, apt_env, timeout)
    if code != 0:
        update = (*prefix, apt_get, "update", "-qq")
        log(f"{spec.name}: the install failed; updating the package lists and trying again")
        code, output = run(update, apt_env, timeout)
        if code == 0:
            code, output = run(install, apt_env, timeout)
    if code != 0:
        last = (output.strip().splitlines() or ["no output"])[-1]
        return result(reason=f"'{shlex.join(ran[-1])}' failed (exit {code}: {_one_line(last)})")
    binary = shutil.which(spec.binary, path=path)
    if binary is None:
        return result(
            reason=f"'{spec.apt_package}' was installed but '{spec.binary}' is not on PATH"
        )
    log(f"{spec.name}: installed '{spec.apt_package}' ({binary})")
    return result(binary)


#: Programs some tests need that are not services (no URL, nothing to start): the name
#: a caller asks for -> (the binary looked up on PATH, the Debian package that has it).
TOOLS: Mapping[str, Program] = {
    "chromium": Program("chromium", "chromium", "chromium"),
    "graphviz": Program("graphviz", "dot", "graphviz"),
}


def provide_tool(
    name: str,
    *,
    which: Callable[[str], str | None] = shutil.which,
    provisioner: Callable[..., ProvisionResult] = provision,
    log: Callable[[str], None] = _no_log,
) -> ProvisionResult:
    """Find the program ``name`` (see ``TOOLS``), or install it the way services are.

    The same rules as :func:`provision`: apt-get only where no one must answer a question,
    ``TTA_NO_PROVISION=1`` opts out, and the result's ``reason`` says why when nothing is
    installed.
    """
    program = TOOLS[name]
    found = which(program.binary)
    if found is not None:
        return ProvisionResult(name, program.apt_package, found)
    return provisioner(program, log=log)


# --- starting and stopping --------------------------------------------------------------


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


def _last_log_line(log_path: Path) -> str:
    try:
        lines = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "no output"
    return _one_line(lines[-1]) if lines else "no output"


def _start_local(
    spec: ServiceSpec,
    binary: str,
    scrape_targets: Sequence[str],
    timeout: float,
    runtime: _Runtime,
    detail: str = "",
) -> ServiceEndpoint:
    port = find_free_port()
    # A SIGTERM between making the folder (or starting the server) and handing it to the
    # runtime would leave it behind, the server running: the exit waits for the handover.
    with sigterm_held():
        workdir = Path(tempfile.mkdtemp(prefix=f"tta-{spec.name}-"))
        log_path = workdir / "service.log"
        try:
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
            with log_path.open("wb") as log:
                # A new session keeps Ctrl-C in the terminal from reaching the server first:
                # the context manager stops it itself, in order, also on failure.
                process = subprocess.Popen(
                    argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
        except OSError as exc:
            # Missing, not executable, not a program: nothing started, so nothing to stop.
            shutil.rmtree(workdir, ignore_errors=True)
            reason = exc.strerror or type(exc).__name__
            raise ServiceUnavailableError(
                f"{spec.name}: cannot run '{binary}': {reason}; {_how_to_provide(spec)}"
            ) from exc
        # From here the runtime owns the process and its folder: _stop removes both.
        runtime.started.append(_Started(process=process, log_path=log_path, workdir=workdir))
    url = f"{spec.scheme}://127.0.0.1:{port}"
    if not wait_until(
        lambda: spec.ready(url), timeout=timeout, alive=lambda: process.poll() is None
    ):
        code = process.poll()
        last = _last_log_line(log_path)
        if code is not None:
            raise ServiceUnavailableError(
                f"{spec.name}: '{binary}' exited at once (exit code {code}; last log line: {last})"
            )
        raise ServiceUnavailableError(
            f"{spec.name}: started '{binary}' on port {port} but it was not ready within "
            f"{timeout:.0f}s (last log line: {last})"
        )
    described = f"{binary}, pid {process.pid}" + (f", {detail}" if detail else "")
    return ServiceEndpoint(spec.name, url, "local-binary", described)


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


def _compose_up(
    specs: Sequence[ServiceSpec], compose_file: Path, timeout: float, runtime: _Runtime
) -> dict[str, ServiceEndpoint]:
    services = [spec.compose_service for spec in specs]
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
            f"docker compose could not start {services}: {_one_line(last)}"
        )
    endpoints: dict[str, ServiceEndpoint] = {}
    for spec in specs:
        url = f"{spec.scheme}://127.0.0.1:{spec.compose_port}"
        if not wait_until(lambda u=url, s=spec: s.ready(u), timeout=timeout):
            raise ServiceUnavailableError(
                f"{spec.name}: docker compose started it but {url} was not ready"
            )
        endpoints[spec.name] = ServiceEndpoint(spec.name, url, "docker-compose", str(compose_file))
    return endpoints


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
    provisioner: Callable[[ServiceSpec], ProvisionResult] | None = None,
    log: Callable[[str], None] = _no_log,
) -> Generator[dict[str, ServiceEndpoint]]:
    """Yield a reachable endpoint for each named service; stop what was started on exit.

    ``scrape_targets`` are ``host:port`` pairs a locally started Prometheus scrapes.
    ``environ`` is where the service URLs are read (``os.environ`` by default).
    ``provisioner`` installs a binary found nowhere else: :func:`provision` by default
    (reading ``TTA_NO_PROVISION`` and ``PATH`` from ``os.environ``, telling ``log``).
    """
    env = os.environ if environ is None else environ

    def provision_logged(spec: ServiceSpec) -> ProvisionResult:
        return provision(spec, log=log)

    install = provisioner or provision_logged
    unknown = [n for n in names if n not in SERVICES]
    if unknown:
        raise ValueError(f"unknown service(s): {', '.join(unknown)}; known: {', '.join(SERVICES)}")
    runtime = _Runtime()
    endpoints: dict[str, ServiceEndpoint] = {}
    with sigterm_as_exit():
        try:
            missing: list[ServiceSpec] = []
            for name in names:
                spec = SERVICES[name]
                url = env.get(spec.env_var, "").strip()
                if url:
                    if not wait_until(lambda u=url, s=spec: s.ready(u), timeout=timeout):
                        raise ServiceUnavailableError(
                            f"{spec.name}: {spec.env_var}={shown_url(url)} is set but nothing "
                            f"answered there within {timeout:.0f}s; start the server or unset "
                            f"{spec.env_var}"
                        )
                    endpoints[name] = ServiceEndpoint(name, url.rstrip("/"), "environment")
                    continue
                binary = which(spec.binary)
                if binary is not None:
                    endpoints[name] = _start_local(spec, binary, scrape_targets, timeout, runtime)
                    continue
                missing.append(spec)
            if missing and docker_available() and compose_file.is_file():
                endpoints.update(_compose_up(missing, compose_file, timeout, runtime))
            elif missing:
                unavailable: list[str] = []
                for spec in missing:
                    installed = install(spec)
                    if installed.binary is None:
                        unavailable.append(_how_to_provide(spec, installed.reason))
                        continue
                    endpoints[spec.name] = _start_local(
                        spec,
                        installed.binary,
                        scrape_targets,
                        timeout,
                        runtime,
                        detail=f"installed now from the '{installed.package}' package",
                    )
                if unavailable:
                    raise ServiceUnavailableError(" ".join(unavailable))
            yield {name: endpoints[name] for name in names}
        finally:
            _stop(runtime, compose_file)
