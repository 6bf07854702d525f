"""With observability on, a workflow run shows as spans: each Command nests under its composition."""

from __future__ import annotations

from tta_dev.agentic import Command
from tta_dev.observability import in_memory_tracer_provider, instrument
from tta_dev.primitives import WorkflowContext


async def test_command_executions_are_spans_nested_under_parallel_and_sequence() -> None:
    provider, exporter = in_memory_tracer_provider()
    with instrument(provider) as obs:
        gates = Command(["true"], name="lint") | Command(["false"], name="unit")
        flow = gates >> Command(["true"], name="report")
        await flow.execute(None, WorkflowContext("agentic.test"))
        executions = obs.registry.get_sample_value(
            "tta_primitive_executions_total",
            {"primitive": "Command", "name": "lint", "status": "ok"},
        )
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert {"lint", "unit", "report", "Parallel", "Sequential"} <= spans.keys()
    parallel = spans["Parallel"].context
    assert parallel is not None
    for name in ("lint", "unit"):
        parent = spans[name].parent
        assert parent is not None
        assert parent.span_id == parallel.span_id
    attributes = dict(spans["unit"].attributes or {})
    assert attributes["tta.primitive.type"] == "Command"
    assert attributes["tta.workflow.id"] == "agentic.test"
    # A command that exits non-zero returns a result: the span is not an error.
    assert executions == 1.0
