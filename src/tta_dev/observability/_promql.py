"""One PromQL instant query against a Prometheus that may answer badly, slowly or not at all.

Stdlib only (the efficiency check runs without the ``observability`` extra). What a
Prometheus sends is input like any other: the whole request (connect, status line,
headers, body) has one deadline, not a timeout per read, so a server that drips a byte
every few seconds is cut off; the body is capped at :data:`MAX_RESPONSE_BYTES`; the JSON
nesting depth is bounded; every field is checked before it is used. Every failure is a
:class:`PrometheusError` with one line that shows the URL without its credentials.

A URL may carry them: ``http://user:pass@host`` is sent as HTTP Basic auth, and a query
(``?token=...``) is kept on every request; neither is ever printed.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import math
import re
import socket
import threading
import urllib.parse
from dataclasses import dataclass
from typing import Any, cast

from tta_dev._redact import redact_urls, shown_url
from tta_dev.errors import TtaDevError

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_JSON_DEPTH",
    "MAX_RESPONSE_BYTES",
    "PrometheusError",
    "check_prometheus_url",
    "prometheus_query",
]

#: Seconds one query may take in all (connect, headers and body together).
DEFAULT_TIMEOUT = 10.0
#: A query answer larger than this is refused (ours are a few KiB).
MAX_RESPONSE_BYTES = 16 << 20
#: JSON nested deeper than this is refused (a query answer nests five levels).
MAX_JSON_DEPTH = 64


class PrometheusError(TtaDevError, ValueError):
    """Prometheus could not be asked, or answered something that is not a query result."""


# A DNS name or IPv4 address, or an IPv6 literal (with a zone id), as urlsplit gives them.
_HOST = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?|[0-9A-Fa-f:.]+(?:%[A-Za-z0-9._~-]+)?")


@dataclass(frozen=True)
class _Target:
    https: bool
    host: str
    port: int | None
    path: str
    query: str
    authorization: str | None
    shown: str


def check_prometheus_url(base_url: str) -> str:
    """``base_url`` as it may be shown; raise :class:`PrometheusError` if it is not a usable
    ``http(s)://host[:port][/path]`` URL."""
    return _target(base_url).shown


def _target(base_url: object) -> _Target:
    if not isinstance(base_url, str) or not base_url:
        raise PrometheusError("the Prometheus URL is empty")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in base_url):
        raise PrometheusError(
            "the Prometheus URL contains whitespace or control characters; "
            "give it as http(s)://host:port"
        )
    shown = shown_url(base_url)
    try:
        parts = urllib.parse.urlsplit(base_url)
        port = parts.port
    except ValueError as exc:
        raise PrometheusError(f"not a usable Prometheus URL {shown}: {exc}") from None
    if parts.scheme not in {"http", "https"}:
        raise PrometheusError(f"--prometheus needs an http(s) URL, got {shown}")
    if not parts.hostname:
        raise PrometheusError(f"the Prometheus URL {shown} names no host")
    if not _HOST.fullmatch(parts.hostname):
        # Never handed to the resolver: `$(...)`, quotes and the like are no host name.
        raise PrometheusError(f"the Prometheus URL {shown} does not name a valid host")
    authorization = None
    if parts.username is not None or parts.password is not None:
        user = urllib.parse.unquote(parts.username or "")
        password = urllib.parse.unquote(parts.password or "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        authorization = f"Basic {token}"
    host = parts.hostname
    return _Target(
        https=parts.scheme == "https",
        host=host,
        port=port,
        path=parts.path.rstrip("/"),
        query=parts.query,
        authorization=authorization,
        shown=shown,
    )


def _check_timeout(timeout: object) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise PrometheusError(f"timeout must be a number of seconds, got {type(timeout).__name__}")
    if not math.isfinite(timeout) or timeout <= 0:
        raise PrometheusError(f"timeout must be a positive finite number, got {timeout!r}")
    return float(timeout)


def _get(target: _Target, path_and_query: str, timeout: float) -> tuple[int, bytes]:
    """GET with one deadline for the whole exchange; ``(status, body)``."""
    connection_class = http.client.HTTPSConnection if target.https else http.client.HTTPConnection
    connection = connection_class(target.host, target.port, timeout=timeout)
    expired = threading.Event()

    def cut_off() -> None:
        # Runs on the timer's thread: shutting the socket down wakes the blocked read.
        expired.set()
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed: nothing left to wake
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    watchdog = threading.Timer(timeout, cut_off)
    watchdog.daemon = True
    watchdog.start()
    try:
        headers = {"Accept": "application/json", "User-Agent": "tta-dev"}
        if target.authorization:
            headers["Authorization"] = target.authorization
        connection.request("GET", path_and_query, headers=headers)
        response = connection.getresponse()
        body = bytearray()
        while chunk := response.read1(65536):
            body += chunk
            if len(body) > MAX_RESPONSE_BYTES:
                raise PrometheusError(
                    f"Prometheus at {target.shown} sent more than {MAX_RESPONSE_BYTES} bytes"
                )
        if expired.is_set():
            raise TimeoutError
        if response.length:  # read1 does not raise IncompleteRead at an early end
            raise PrometheusError(
                f"cannot query Prometheus at {target.shown}: the answer ended "
                f"{response.length} bytes short of its Content-Length"
            )
        return response.status, bytes(body)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        if isinstance(exc, PrometheusError):
            raise
        if expired.is_set() or isinstance(exc, TimeoutError):
            raise PrometheusError(
                f"Prometheus at {target.shown} did not answer within {timeout:g}s"
            ) from None
        reason = redact_urls(str(exc) or type(exc).__name__).splitlines()
        raise PrometheusError(
            f"cannot query Prometheus at {target.shown}: {type(exc).__name__}: "
            f"{(reason or [''])[0][:200]}"
        ) from None
    finally:
        watchdog.cancel()
        connection.close()


def _json_depth_ok(text: str) -> bool:
    """Whether brackets outside strings nest at most :data:`MAX_JSON_DEPTH` deep."""
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return False
        elif char in "]}":
            depth -= 1
    return True


def _json(body: bytes, shown: str) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise PrometheusError(
            f"Prometheus at {shown} answered with a body that is not UTF-8"
        ) from None
    if not _json_depth_ok(text):
        raise PrometheusError(
            f"Prometheus at {shown} answered with JSON nested deeper than {MAX_JSON_DEPTH}"
        )
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise PrometheusError(
            f"Prometheus at {shown} answered with a body that is not JSON"
        ) from None


def _short(value: object) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= 200 else text[:197] + "..."


def prometheus_query(
    base_url: str, promql: str, timeout: float = DEFAULT_TIMEOUT
) -> list[tuple[dict[str, str], float]]:
    """Run one instant PromQL query; ``(labels, value)`` per series of the vector result.

    Raises :class:`PrometheusError` (a ``ValueError``) when the URL is not a usable
    http(s) URL, Prometheus cannot be reached within ``timeout`` seconds in all, rejects
    the query, or answers with anything but a vector result.
    """
    target = _target(base_url)
    timeout = _check_timeout(timeout)
    query = urllib.parse.urlencode({"query": promql})
    path = f"{target.path}/api/v1/query?{target.query + '&' if target.query else ''}{query}"
    status, body = _get(target, path, timeout)
    shown = target.shown
    try:
        answer = _json(body, shown)
    except PrometheusError:
        if status != 200:
            raise PrometheusError(f"Prometheus at {shown} answered HTTP {status}") from None
        raise
    if not isinstance(answer, dict):
        raise PrometheusError(f"Prometheus at {shown} answered JSON that is not an object")
    answer_d = cast("dict[str, object]", answer)
    if answer_d.get("status") != "success":
        reason = answer_d.get("error") or f"HTTP {status}, status {answer_d.get('status')!r}"
        raise PrometheusError(
            f"Prometheus at {shown} rejected {_short(promql)!r}: {_short(reason)}"
        )
    return _vector(answer_d.get("data"), shown)


def _vector(data: object, shown: str) -> list[tuple[dict[str, str], float]]:
    def bad(what: str) -> PrometheusError:
        return PrometheusError(f"Prometheus at {shown} answered an unexpected result: {what}")

    if not isinstance(data, dict):
        raise bad("'data' is not an object")
    data_d = cast("dict[str, object]", data)
    if data_d.get("resultType") != "vector":
        raise bad(f"resultType {_short(data_d.get('resultType'))!r}, expected 'vector'")
    result = data_d.get("result")
    if not isinstance(result, list):
        raise bad("'result' is not a list")
    series: list[tuple[dict[str, str], float]] = []
    for item in cast("list[object]", result):
        if not isinstance(item, dict):
            raise bad("a series is not an object")
        item_d = cast("dict[str, object]", item)
        metric, value = item_d.get("metric"), item_d.get("value")
        if not isinstance(metric, dict) or not all(
            isinstance(v, str) for v in cast("dict[str, object]", metric).values()
        ):
            raise bad("a series has no 'metric' object of string labels")
        if not isinstance(value, list) or len(cast("list[object]", value)) != 2:
            raise bad("a series' 'value' is not [timestamp, \"number\"]")
        number = cast("list[object]", value)[1]
        try:
            parsed = float(number) if isinstance(number, str) else math.nan
        except ValueError:
            parsed = math.nan
        if not isinstance(number, str) or (math.isnan(parsed) and number.lower() != "nan"):
            raise bad(f"a series' value {_short(number)!r} is not a number")
        series.append((dict(cast("dict[str, str]", metric)), parsed))
    return series
