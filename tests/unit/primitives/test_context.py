from __future__ import annotations

from tta_dev.primitives import WorkflowContext


def test_defaults_are_empty_and_ids_are_generated_lazily() -> None:
    ctx = WorkflowContext("wf", session_id="s1")
    assert ctx.workflow_id == "wf"
    assert ctx.session_id == "s1"
    assert ctx.metadata == {}
    assert ctx.state == {}
    assert ctx.tags == {}
    assert ctx.checkpoints == []
    assert ctx.routes == []
    first = ctx.correlation_id
    assert len(first) == 32
    assert int(first, 16) >= 0
    assert ctx.correlation_id == first  # stable once made


def test_two_contexts_get_different_correlation_ids() -> None:
    assert WorkflowContext().correlation_id != WorkflowContext().correlation_id


def test_given_correlation_id_is_kept() -> None:
    assert WorkflowContext(correlation_id="abc").correlation_id == "abc"


def test_child_shares_run_scoped_parts_and_copies_the_rest() -> None:
    parent = WorkflowContext("wf", session_id="s", metadata={"a": 1}, tags={"t": "x"})
    parent.state["k"] = "v"
    child = parent.child("step-1")
    assert child.correlation_id == parent.correlation_id
    assert child.workflow_id == "wf"
    assert child.session_id == "s"
    assert child.step_name == "step-1"
    assert child.parent is parent
    child.state["n"] = 2
    assert parent.state == {"k": "v", "n": 2}
    child.metadata["b"] = 2
    child.tags["u"] = "y"
    assert parent.metadata == {"a": 1}
    assert parent.tags == {"t": "x"}
    child.checkpoint("half")
    child.record_route("router", "fast")
    assert [c.name for c in parent.checkpoints] == ["half"]
    assert parent.checkpoints[0].step == "step-1"
    assert parent.routes[0].route == "fast"
    assert parent.routes[0].router == "router"


def test_checkpoints_are_ordered_in_time() -> None:
    ctx = WorkflowContext()
    a = ctx.checkpoint("a")
    b = ctx.checkpoint("b")
    assert ctx.checkpoints == [a, b]
    assert a.at <= b.at


def test_repr_names_the_ids() -> None:
    ctx = WorkflowContext("wf", correlation_id="c1")
    assert "wf" in repr(ctx)
    assert "c1" in repr(ctx)
