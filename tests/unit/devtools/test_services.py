from __future__ import annotations

import base64
import http.server
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tta_dev.devtools.services import (
    SERVICES,
    ProvisionResult,
    ServiceSpec,
    ServiceUnavailableError,
    find_free_port,
    prometheus_ready,
    provide_services,
    provision,
    redis_ready,
    run_command,
    wait_until,
)


class _FakeRedis:
    """A loopback TCP server that answers every read with a fixed RESP reply."""

    def __init__(self, reply: bytes = b"+PONG\r\n") -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = int(self.sock.getsockname()[1])
        self.reply = reply
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(64)
                conn.sendall(self.reply)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def fake_redis() -> Iterator[_FakeRedis]:
    server = _FakeRedis()
    yield server
    server.close()


class _Ready(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path.partition("?")[0] == "/-/ready" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def fake_prometheus() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ready)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_free_port_is_bindable() -> None:
    port = find_free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_wait_until_true_after_a_few_polls() -> None:
    calls = iter([False, False, True])
    assert wait_until(lambda: next(calls), timeout=5, interval=0.001)


def test_wait_until_gives_up_after_timeout() -> None:
    assert not wait_until(lambda: False, timeout=0.05, interval=0.01)


def test_wait_until_stops_when_the_process_died() -> None:
    polls: list[int] = []

    def probe() -> bool:
        polls.append(1)
        return False

    assert not wait_until(probe, timeout=30, interval=0.001, alive=lambda: False)
    assert len(polls) == 1


def test_redis_ready_against_a_fake_server(fake_redis: _FakeRedis) -> None:
    assert redis_ready(f"redis://127.0.0.1:{fake_redis.port}")


def test_redis_ready_accepts_auth_error_as_up() -> None:
    server = _FakeRedis(b"-NOAUTH Authentication required.\r\n")
    try:
        assert redis_ready(f"redis://:secret@127.0.0.1:{server.port}/0")
    finally:
        server.close()


def test_redis_not_ready_when_loading() -> None:
    server = _FakeRedis(b"-LOADING Redis is loading the dataset in memory\r\n")
    try:
        assert not redis_ready(f"redis://127.0.0.1:{server.port}")
    finally:
        server.close()


def test_redis_not_ready_on_closed_port() -> None:
    assert not redis_ready(f"redis://127.0.0.1:{find_free_port()}", timeout=0.2)


def test_prometheus_ready(fake_prometheus: str) -> None:
    assert prometheus_ready(fake_prometheus)
    assert prometheus_ready(fake_prometheus + "/")


def test_prometheus_not_ready_on_closed_port() -> None:
    assert not prometheus_ready(f"http://127.0.0.1:{find_free_port()}", timeout=0.2)


def test_environment_url_wins(fake_redis: _FakeRedis, fake_prometheus: str) -> None:
    env = {"REDIS_URL": f"redis://127.0.0.1:{fake_redis.port}", "PROMETHEUS_URL": fake_prometheus}

    def no_binary(name: str) -> str | None:
        raise AssertionError(f"looked for {name} although the environment had a URL")

    with provide_services(["redis", "prometheus"], environ=env, which=no_binary) as found:
        assert found["redis"].how == "environment"
        assert found["redis"].url == env["REDIS_URL"]
        assert found["prometheus"].how == "environment"
        assert "via environment" in found["prometheus"].describe()


def test_environment_url_that_does_not_answer_is_an_error() -> None:
    env = {"REDIS_URL": f"redis://127.0.0.1:{find_free_port()}"}
    with (
        pytest.raises(ServiceUnavailableError, match=r"REDIS_URL=.* is set but nothing answered"),
        provide_services(["redis"], environ=env, timeout=0.3),
    ):
        pass


def test_no_way_to_provide_names_all_three(tmp_path: Path) -> None:
    with (
        pytest.raises(ServiceUnavailableError) as info,
        provide_services(
            ["prometheus"],
            environ={},
            which=lambda _: None,
            docker_available=lambda: False,
            compose_file=tmp_path / "docker-compose.test.yml",
            provisioner=lambda spec: ProvisionResult(
                spec.name, spec.apt_package, reason="TTA_NO_PROVISION=1 is set"
            ),
        ),
    ):
        pass
    message = str(info.value)
    assert "PROMETHEUS_URL" in message
    assert "apt-get install -y prometheus" in message
    assert "docker compose" in message
    assert "(not installed automatically: TTA_NO_PROVISION=1 is set)" in message
    assert "\n" not in message


def test_binary_that_dies_at_start_fails_fast() -> None:
    with (
        pytest.raises(ServiceUnavailableError, match="exited at once"),
        provide_services(["redis"], environ={}, which=lambda _: "/bin/false", timeout=20),
    ):
        pass


def test_unknown_service_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown service"), provide_services(["postgres"]):
        pass


# --- credentials are never shown --------------------------------------------------------

SECRET = "s3cr3t-pw"


def test_endpoint_from_environment_hides_credentials(
    fake_redis: _FakeRedis, fake_prometheus: str
) -> None:
    redis_url = f"redis://:{SECRET}@127.0.0.1:{fake_redis.port}/0"
    prom_url = fake_prometheus.replace("http://", f"http://admin:{SECRET}@") + f"/?token={SECRET}"
    env = {"REDIS_URL": redis_url, "PROMETHEUS_URL": prom_url}
    with provide_services(["redis", "prometheus"], environ=env) as found:
        # The full URL stays usable (the tests must authenticate)...
        assert found["redis"].url == redis_url
        assert SECRET in found["prometheus"].url
        # ...but nothing meant for eyes carries it.
        for endpoint in found.values():
            assert SECRET not in endpoint.describe()
            assert SECRET not in repr(endpoint)
            assert SECRET not in endpoint.shown_url
        assert found["redis"].describe().startswith(f"redis: redis://127.0.0.1:{fake_redis.port}/0")


def test_environment_url_that_does_not_answer_hides_credentials() -> None:
    env = {"REDIS_URL": f"redis://user:{SECRET}@127.0.0.1:{find_free_port()}/0?tok={SECRET}"}
    with (
        pytest.raises(ServiceUnavailableError) as info,
        provide_services(["redis"], environ=env, timeout=0.3),
    ):
        pass
    message = str(info.value)
    assert SECRET not in message
    assert "REDIS_URL=redis://127.0.0.1:" in message
    assert "\n" not in message


# --- a local binary that cannot run -------------------------------------------------------


@pytest.fixture
def own_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tempfile's folder for this test alone, so leaked work folders can be counted."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _not_executable(tmp_path: Path) -> str:
    path = tmp_path / "redis-server"
    path.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    path.chmod(0o644)
    return str(path)


def _no_format(tmp_path: Path) -> str:
    path = tmp_path / "redis-server"
    path.write_bytes(b"\x00\x01not a program")
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda _tmp: "/nonexistent/redis-server", "cannot run"),
        (_not_executable, "cannot run"),
        (_no_format, "cannot run"),
        (lambda _tmp: "/bin/false", "exited at once"),
    ],
    ids=["missing", "not-executable", "not-a-program", "exits-at-once"],
)
def test_binary_that_cannot_run_is_one_line_and_leaves_no_folder(
    make: Callable[[Path], str], expected: str, tmp_path: Path, own_tempdir: Path
) -> None:
    binary = make(tmp_path)
    with (
        pytest.raises(ServiceUnavailableError) as info,
        provide_services(["redis"], environ={}, which=lambda _: binary, timeout=20),
    ):
        pass
    message = str(info.value)
    assert message.startswith("redis: ")
    assert expected in message
    assert binary in message
    assert "\n" not in message
    assert list(own_tempdir.iterdir()) == []


def _fake_redis_server(tmp_path: Path) -> Path:
    """A program that answers PING on the ``--port`` it is given, as redis-server would."""
    script = tmp_path / "fake-redis-server"
    script.write_text(
        "#!" + sys.executable + "\n"
        "import socket, sys\n"
        "port = int(sys.argv[sys.argv.index('--port') + 1])\n"
        "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "s.bind(('127.0.0.1', port)); s.listen()\n"
        "while True:\n"
        "    c, _ = s.accept(); c.recv(64); c.sendall(b'+PONG\\r\\n'); c.close()\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script


def test_started_server_leaves_no_folder(own_tempdir: Path, tmp_path: Path) -> None:
    """A started server is stopped and its work folder removed."""
    script = _fake_redis_server(tmp_path)
    with provide_services(["redis"], environ={}, which=lambda _: str(script)) as found:
        assert found["redis"].how == "local-binary"
        assert redis_ready(found["redis"].url)
        assert len(list(own_tempdir.iterdir())) == 1
    assert list(own_tempdir.iterdir()) == []


def test_sigterm_as_the_server_starts_stops_it_and_leaves_no_folder(
    own_tempdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kill landing between Popen and the handover still stops the server (its own
    session: nothing else would) and removes its folder."""
    import os
    import signal
    import subprocess

    from tta_dev.devtools import services

    script = _fake_redis_server(tmp_path)
    started: list[subprocess.Popen[Any]] = []
    real = subprocess.Popen

    def popen_then_killed(*args: Any, **kwargs: Any) -> subprocess.Popen[Any]:
        process = real(*args, **kwargs)
        started.append(process)
        os.kill(os.getpid(), signal.SIGTERM)  # the handler runs as os.kill returns
        return process

    monkeypatch.setattr(services.subprocess, "Popen", popen_then_killed)
    try:
        with (
            pytest.raises(SystemExit),
            provide_services(["redis"], environ={}, which=lambda _: str(script)),
        ):
            pass
        (process,) = started
        assert process.poll() is not None, "the server was left running"
        assert list(own_tempdir.iterdir()) == []
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_prometheus_ready_sends_userinfo_as_basic_auth() -> None:
    class _Guarded(_Ready):
        def do_GET(self) -> None:
            expected = "Basic " + base64.b64encode(b"admin:" + SECRET.encode()).decode()
            ok = self.headers.get("Authorization") == expected
            self.send_response(200 if ok and self.path == "/-/ready?token=t" else 401)
            self.end_headers()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Guarded)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        assert prometheus_ready(f"http://admin:{SECRET}@127.0.0.1:{port}/?token=t")
        assert not prometheus_ready(f"http://admin:wrong@127.0.0.1:{port}/?token=t")
        assert not prometheus_ready(f"http://127.0.0.1:{port}/?token=t")
    finally:
        server.shutdown()
        server.server_close()


# --- provisioning with a fake package manager -------------------------------------------

_FAKE_APT_GET = """#!/bin/sh
echo "apt-get $* [DEBIAN_FRONTEND=$DEBIAN_FRONTEND]" >> "$FAKE_LOG"
case "$1" in
  update)
    [ -n "$FAKE_UPDATE_FAILS" ] && { echo "E: could not reach the mirror" >&2; exit 100; }
    touch "$FAKE_BIN/.lists"; exit 0 ;;
  install)
    for pkg in "$@"; do :; done
    if [ -n "$FAKE_NO_LISTS" ] && [ ! -e "$FAKE_BIN/.lists" ]; then
      echo "E: Unable to locate package $pkg" >&2; exit 100
    fi
    case "$pkg" in
      prometheus) prog=prometheus ;;
      redis-server) prog=redis-server ;;
      *) exit 0 ;;
    esac
    printf '#!/bin/sh\\nexit 0\\n' > "$FAKE_BIN/$prog"; chmod +x "$FAKE_BIN/$prog"; exit 0 ;;
esac
exit 1
"""

_FAKE_SUDO = """#!/bin/sh
echo "sudo $*" >> "$FAKE_LOG"
[ -n "$FAKE_SUDO_ASKS" ] && { echo "sudo: a password is required" >&2; exit 1; }
[ "$1" = "-n" ] && shift
exec "$@"
"""


class FakeMachine:
    """A folder of fake programs (apt-get, sudo) first on PATH, and what they were asked."""

    def __init__(self, root: Path, *, apt_get: bool = True, sudo: bool = False) -> None:
        self.bin = root / "bin"
        self.bin.mkdir()
        self.log = root / "commands.log"
        for name, text, wanted in [("apt-get", _FAKE_APT_GET, apt_get), ("sudo", _FAKE_SUDO, sudo)]:
            if wanted:
                (self.bin / name).write_text(text, encoding="utf-8")
                (self.bin / name).chmod(0o755)
        # /usr/bin and /bin for sh, env and true; the fakes come first.
        self.environ = {
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "FAKE_LOG": str(self.log),
            "FAKE_BIN": str(self.bin),
        }

    def asked(self) -> list[str]:
        if not self.log.exists():
            return []
        return self.log.read_text(encoding="utf-8").splitlines()


INSTALL_FLAGS = ("install", "-y", "-qq", "--no-install-recommends")


def test_provision_as_root_installs_the_package(tmp_path: Path) -> None:
    machine = FakeMachine(tmp_path)
    logs: list[str] = []
    result = provision(
        SERVICES["prometheus"], environ=machine.environ, is_root=True, log=logs.append
    )
    apt_get = str(machine.bin / "apt-get")
    assert result.installed
    assert result.binary == str(machine.bin / "prometheus")
    assert result.commands == ((apt_get, *INSTALL_FLAGS, "prometheus"),)
    assert machine.asked() == [
        "apt-get install -y -qq --no-install-recommends prometheus [DEBIAN_FRONTEND=noninteractive]"
    ]
    assert "installing the Debian package 'prometheus'" in logs[0]
    assert "TTA_NO_PROVISION=1" in logs[0]
    assert logs[-1] == f"prometheus: installed 'prometheus' ({machine.bin / 'prometheus'})"


def test_provision_on_a_fresh_machine_updates_the_lists_once(tmp_path: Path) -> None:
    machine = FakeMachine(tmp_path)
    environ = {**machine.environ, "FAKE_NO_LISTS": "1"}
    result = provision(SERVICES["redis"], environ=environ, is_root=True)
    apt_get = str(machine.bin / "apt-get")
    install = (apt_get, *INSTALL_FLAGS, "redis-server")
    assert result.binary == str(machine.bin / "redis-server")
    assert result.commands == (install, (apt_get, "update", "-qq"), install)


def test_provision_with_passwordless_sudo(tmp_path: Path) -> None:
    machine = FakeMachine(tmp_path, sudo=True)
    result = provision(SERVICES["prometheus"], environ=machine.environ, is_root=False)
    sudo, apt_get = str(machine.bin / "sudo"), str(machine.bin / "apt-get")
    assert result.installed
    assert result.commands == (
        (sudo, "-n", "true"),
        (
            sudo,
            "-n",
            "env",
            "DEBIAN_FRONTEND=noninteractive",
            apt_get,
            *INSTALL_FLAGS,
            "prometheus",
        ),
    )
    assert machine.asked() == [
        "sudo -n true",
        f"sudo -n env DEBIAN_FRONTEND=noninteractive {apt_get} install -y -qq "
        "--no-install-recommends prometheus",
        "apt-get install -y -qq --no-install-recommends prometheus [DEBIAN_FRONTEND=noninteractive]",
    ]


def test_provision_never_asks_for_a_password(tmp_path: Path) -> None:
    machine = FakeMachine(tmp_path, sudo=True)
    environ = {**machine.environ, "FAKE_SUDO_ASKS": "1"}
    result = provision(SERVICES["prometheus"], environ=environ, is_root=False)
    assert not result.installed
    assert result.reason == "not root and sudo needs a password"
    assert machine.asked() == ["sudo -n true"]


@pytest.mark.parametrize(
    ("apt_get", "sudo", "is_root", "extra", "reason"),
    [
        (True, True, True, {"TTA_NO_PROVISION": "1"}, "TTA_NO_PROVISION=1 is set"),
        (False, False, True, {}, "no apt-get here, the only package manager it knows"),
        (True, False, False, {}, "not root and no sudo"),
    ],
    ids=["opted-out", "no-apt-get", "no-sudo"],
)
def test_provision_does_nothing_where_it_cannot(
    tmp_path: Path, apt_get: bool, sudo: bool, is_root: bool, extra: dict[str, str], reason: str
) -> None:
    machine = FakeMachine(tmp_path, apt_get=apt_get, sudo=sudo)
    # Only the fakes on PATH: a real apt-get must not be found either.
    environ = {**machine.environ, "PATH": str(machine.bin), **extra}
    logs: list[str] = []
    result = provision(SERVICES["redis"], environ=environ, is_root=is_root, log=logs.append)
    assert result == ProvisionResult("redis", "redis-server", reason=reason)
    assert machine.asked() == []
    assert logs == []


def test_provision_that_fails_says_why_in_one_line(tmp_path: Path) -> None:
    machine = FakeMachine(tmp_path)
    environ = {**machine.environ, "FAKE_NO_LISTS": "1", "FAKE_UPDATE_FAILS": "1"}
    result = provision(SERVICES["redis"], environ=environ, is_root=True)
    apt_get = str(machine.bin / "apt-get")
    assert not result.installed
    assert result.commands[-1] == (apt_get, "update", "-qq")
    assert (
        result.reason == f"'{apt_get} update -qq' failed (exit 100: E: could not reach the mirror)"
    )


def test_provision_that_installs_no_binary(tmp_path: Path) -> None:
    machine = FakeMachine(tmp_path)
    spec = replace(SERVICES["redis"], binary="tta-no-such-server", apt_package="tta-empty")
    result = provision(spec, environ=machine.environ, is_root=True)
    assert not result.installed
    assert result.reason == "'tta-empty' was installed but 'tta-no-such-server' is not on PATH"


def test_run_command_reports_a_missing_program() -> None:
    code, output = run_command(["/nonexistent/apt-get", "install"], {}, 5)
    assert code == 127
    assert "No such file" in output


def test_provisioned_binary_is_started(tmp_path: Path) -> None:
    server = _fake_redis_server(tmp_path)
    asked: list[str] = []

    def provisioner(spec: ServiceSpec) -> ProvisionResult:
        asked.append(spec.name)
        return ProvisionResult(spec.name, spec.apt_package, binary=str(server))

    with provide_services(
        ["redis"],
        environ={},
        which=lambda _: None,
        docker_available=lambda: False,
        provisioner=provisioner,
    ) as found:
        assert asked == ["redis"]
        assert found["redis"].how == "local-binary"
        assert "installed now from the 'redis-server' package" in found["redis"].describe()
        assert redis_ready(found["redis"].url)


def test_docker_comes_before_provisioning(tmp_path: Path) -> None:
    compose = tmp_path / "docker-compose.test.yml"  # absent: compose cannot run
    asked: list[str] = []

    def provisioner(spec: ServiceSpec) -> ProvisionResult:
        asked.append(spec.name)
        return ProvisionResult(spec.name, spec.apt_package, reason="test says no")

    with (
        pytest.raises(ServiceUnavailableError, match=r"not installed automatically: test says no"),
        provide_services(
            ["redis", "prometheus"],
            environ={},
            which=lambda _: None,
            docker_available=lambda: False,
            compose_file=compose,
            provisioner=provisioner,
        ),
    ):
        pass
    assert asked == ["redis", "prometheus"]


def test_default_provisioner_honours_the_opt_out(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TTA_NO_PROVISION", "1")
    logs: list[str] = []
    with (
        pytest.raises(ServiceUnavailableError) as info,
        provide_services(
            ["prometheus"],
            environ={},
            which=lambda _: None,
            docker_available=lambda: False,
            compose_file=tmp_path / "absent.yml",
            log=logs.append,
        ),
    ):
        pass
    assert "(not installed automatically: TTA_NO_PROVISION=1 is set)" in str(info.value)
    assert logs == []


def test_provide_tool_uses_what_is_on_path_and_installs_what_is_not() -> None:
    from tta_dev.devtools.services import Program, ProvisionResult, provide_tool

    asked: list[Program] = []

    def fake_provision(spec: Program, **_kwargs: object) -> ProvisionResult:
        asked.append(spec)
        return ProvisionResult(spec.name, spec.apt_package, "/usr/bin/" + spec.binary)

    found = provide_tool("graphviz", which=lambda b: f"/opt/{b}", provisioner=fake_provision)
    assert (found.binary, asked) == ("/opt/dot", [])
    installed = provide_tool("chromium", which=lambda _b: None, provisioner=fake_provision)
    assert installed.binary == "/usr/bin/chromium"
    assert [(s.binary, s.apt_package) for s in asked] == [("chromium", "chromium")]
