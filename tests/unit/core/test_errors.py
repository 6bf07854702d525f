"""One error base: a caller catches everything tta-dev raises in one clause."""

from __future__ import annotations

import pytest

from tta_dev._redact import redact_urls, shown_url
from tta_dev.cli import UsageError
from tta_dev.devtools.services import ServiceUnavailableError
from tta_dev.errors import TtaDevError
from tta_dev.primitives import CircuitOpenError, PrimitiveError, StepTimeout
from tta_dev.workspace import WorkspaceError


@pytest.mark.parametrize(
    "error",
    [
        PrimitiveError,
        StepTimeout,
        CircuitOpenError,
        WorkspaceError,
        ServiceUnavailableError,
        UsageError,
    ],
)
def test_every_project_error_is_a_tta_dev_error(error: type[Exception]) -> None:
    assert issubclass(error, TtaDevError)


def test_the_old_bases_still_hold() -> None:
    # Callers that caught ValueError / RuntimeError keep working.
    assert issubclass(WorkspaceError, ValueError)
    assert issubclass(ServiceUnavailableError, RuntimeError)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:secret@127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("http://user:pw@host:9090/api?token=abc#frag", "http://host:9090/api"),
        ("http://[::1", "http://<unparseable>"),
    ],
)
def test_shown_url_drops_userinfo_query_and_fragment(url: str, shown: str) -> None:
    assert shown_url(url) == shown


def test_redact_urls_rewrites_urls_inside_text() -> None:
    text = "cannot reach redis://:hunter2@10.0.0.1:6379 (via env REDIS_URL)"
    out = redact_urls(text)
    assert "hunter2" not in out
    assert out == "cannot reach redis://10.0.0.1:6379 (via env REDIS_URL)"
