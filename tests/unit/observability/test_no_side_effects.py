"""Importing observability does nothing; uninstrument() puts primitives back as they were."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tta_dev import primitives
from tta_dev.observability import in_memory_tracer_provider, instrument, uninstrument
from tta_dev.primitives import Cache, Sequential, WorkflowContext, get_execute_hook, step
from tta_dev.primitives import _cache as cache_module

# Runs in a fresh interpreter: an audit hook records sockets, folders and files opened for
# writing while every public name of the package is imported (the lazy ones too).
IMPORT_PROBE = r"""
import json, sys
events = []
def audit(event, args):
    if event in ("socket.bind", "socket.connect", "socket.__new__", "os.mkdir", "os.makedirs"):
        events.append([event, repr(args)[:120]])
    elif event == "open" and len(args) > 1 and isinstance(args[1], str) and any(c in args[1] for c in "wax+"):
        events.append([event, repr(args)[:120]])
    elif event == "open" and len(args) > 2 and isinstance(args[2], int) and args[2] & 0o3:
        events.append([event, repr(args)[:120]])
sys.addaudithook(audit)
import tta_dev.observability as obs
for name in obs.__all__:
    getattr(obs, name)
import tta_dev.observability._selfcheck
import tta_dev.cli
from opentelemetry import trace
import prometheus_client
from tta_dev.primitives import get_execute_hook
print(json.dumps({
    "events": events,
    "tracer_provider_set": trace._TRACER_PROVIDER is not None,
    "hook": get_execute_hook() is not None,
    "global_registry_tta": [m for m in prometheus_client.REGISTRY._names_to_collectors if m.startswith("tta_")],
    "threads": __import__("threading").active_count(),
}))
"""


def test_importing_sets_no_provider_opens_no_socket_writes_nothing(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-B", "-c", IMPORT_PROBE],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=True,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {
        "events": [],
        "tracer_provider_set": False,
        "hook": False,
        "global_registry_tta": [],
        "threads": 1,
    }
    assert list(tmp_path.iterdir()) == []


def ident(x: Any) -> Any:
    return x


async def test_uninstrument_restores_the_uninstrumented_paths() -> None:
    provider, exporter = in_memory_tracer_provider()
    chain = Sequential(step(ident, name="a"), step(ident, name="b"))
    cache = Cache(step(ident, name="inner"), name="cache")
    assert get_execute_hook() is None
    assert cache_module._lookup_observer is None  # pyright: ignore[reportPrivateUsage]
    obs = instrument(provider)
    assert get_execute_hook() is not None
    assert cache_module._lookup_observer is not None  # pyright: ignore[reportPrivateUsage]
    await chain.execute(1)
    await cache.execute(1)
    uninstrument()
    assert get_execute_hook() is None
    assert cache_module._lookup_observer is None  # pyright: ignore[reportPrivateUsage]
    before = len(exporter.get_finished_spans())
    executed = obs.registry.get_sample_value(
        "tta_primitive_executions_total", {"primitive": "Step", "name": "a", "status": "ok"}
    )
    ctx = WorkflowContext()
    for _ in range(3):
        assert await chain.execute(2, ctx) == 2
        await cache.execute(2, ctx)
    assert len(exporter.get_finished_spans()) == before  # no span, no tracer call
    assert ctx.trace_id is None
    assert (
        obs.registry.get_sample_value(
            "tta_primitive_executions_total", {"primitive": "Step", "name": "a", "status": "ok"}
        )
        == executed
    )
    # the chain is back on its compiled straight-line run (what it uses with no hook)
    assert chain._fast is not None  # pyright: ignore[reportPrivateUsage]
    provider.shutdown()


async def test_lookup_observer_hears_misses_and_errors_never_hits() -> None:
    heard: list[tuple[str, str]] = []
    previous = primitives.set_lookup_observer(lambda c, result: heard.append((c.name, result)))
    try:
        cache = Cache(step(ident, name="inner"), name="c")
        await cache.execute(1)
        await cache.execute(1)

        class Broken:
            async def get(self, key: str) -> tuple[bool, Any]:
                raise ConnectionError("down")

            async def set(self, key: str, value: Any, ttl: float | None) -> None:
                return None

            async def delete(self, key: str) -> None:  # pragma: no cover
                return None

            async def clear(self) -> None:  # pragma: no cover
                return None

        await Cache(step(ident, name="inner"), backend=Broken(), namespace="b", name="b").execute(1)
    finally:
        assert primitives.set_lookup_observer(previous) is not None
    assert heard == [("c", "miss"), ("b", "error")]


def test_child_contexts_share_the_trace_id() -> None:
    ctx = WorkflowContext()
    assert ctx.trace_id is None
    ctx.trace_id = "ab" * 16
    assert ctx.child("step").trace_id == "ab" * 16
