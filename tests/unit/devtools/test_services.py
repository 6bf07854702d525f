from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tta_dev.devtools.services import (
    ServiceUnavailableError,
    find_free_port,
    prometheus_ready,
    provide_services,
    redis_ready,
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
        self.send_response(200 if self.path == "/-/ready" else 404)
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
        ),
    ):
        pass
    message = str(info.value)
    assert "PROMETHEUS_URL" in message
    assert "apt-get install -y prometheus" in message
    assert "docker compose" in message
    assert "\n" not in message


def test_binary_that_dies_at_start_fails_fast() -> None:
    with (
        pytest.raises(ServiceUnavailableError, match="not ready"),
        provide_services(["redis"], environ={}, which=lambda _: "/bin/false", timeout=20),
    ):
        pass


def test_unknown_service_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown service"), provide_services(["postgres"]):
        pass
