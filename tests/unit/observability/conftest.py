"""Fixtures: instrumentation on with an in-memory span exporter, always turned off again."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tta_dev.observability import (
    Instrumentation,
    in_memory_tracer_provider,
    instrument,
    uninstrument,
)


@dataclass
class Traced:
    obs: Instrumentation
    provider: TracerProvider
    exporter: InMemorySpanExporter

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.spans() if s.name == name]

    def one(self, name: str) -> ReadableSpan:
        found = self.named(name)
        assert len(found) == 1, f"{len(found)} spans named {name!r}"
        return found[0]

    def sample(self, metric: str, /, **labels: str) -> float | None:
        return self.obs.registry.get_sample_value(metric, labels)


def parent_of(span: ReadableSpan) -> int | None:
    return None if span.parent is None else span.parent.span_id


def span_id(span: ReadableSpan) -> int:
    context = span.context
    assert context is not None
    return context.span_id


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


@pytest.fixture
def traced() -> Iterator[Traced]:
    provider, exporter = in_memory_tracer_provider()
    obs = instrument(provider)
    try:
        yield Traced(obs, provider, exporter)
    finally:
        uninstrument()
        provider.shutdown()
