"""WorkflowContext: what travels alongside the data through one workflow run."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["Checkpoint", "RouteDecision", "WorkflowContext"]

# Sync steps run in worker threads and may read a fresh context's id at the same moment.
_ID_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A named point a run passed, with the monotonic time it passed it."""

    name: str
    at: float
    step: str | None = None


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """A route a ``Router`` chose for one input."""

    router: str
    route: str
    step: str | None = None


class WorkflowContext:
    """Identity and run-scoped state of one workflow run.

    Cheap to create: the correlation id is generated on first read. ``trace_id`` is the
    current OpenTelemetry trace id while instrumentation (``tta_dev.observability``) is on. ``child(step_name)``
    makes a context for a sub-step that shares the run-scoped parts (correlation id, ``state``,
    checkpoints, route decisions) and copies the rest (metadata, tags).
    """

    __slots__ = (
        "_correlation_id",
        "checkpoints",
        "metadata",
        "parent",
        "routes",
        "session_id",
        "state",
        "step_name",
        "tags",
        "trace_id",
        "workflow_id",
    )

    def __init__(
        self,
        workflow_id: str = "workflow",
        *,
        session_id: str | None = None,
        correlation_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
        state: dict[str, Any] | None = None,
    ) -> None:
        self.workflow_id = workflow_id
        self.session_id = session_id
        self._correlation_id = correlation_id
        self.metadata: dict[str, Any] = {} if metadata is None else metadata
        self.tags: dict[str, str] = {} if tags is None else tags
        self.state: dict[str, Any] = {} if state is None else state
        self.checkpoints: list[Checkpoint] = []
        self.routes: list[RouteDecision] = []
        self.step_name: str | None = None
        self.parent: WorkflowContext | None = None
        #: The OpenTelemetry trace id (32 hex digits) of the run, set by
        #: ``tta_dev.observability`` when instrumentation is on; ``None`` otherwise.
        self.trace_id: str | None = None

    @property
    def correlation_id(self) -> str:
        """A random 128-bit hex id, shared by every child of this run."""
        if self._correlation_id is None:
            with _ID_LOCK:
                if self._correlation_id is None:
                    self._correlation_id = os.urandom(16).hex()
        return self._correlation_id

    def child(self, step_name: str) -> WorkflowContext:
        """A context for ``step_name`` inside this run (shares the run-scoped parts)."""
        child = WorkflowContext(
            self.workflow_id,
            session_id=self.session_id,
            correlation_id=self.correlation_id,
            metadata=dict(self.metadata),
            tags=dict(self.tags),
            state=self.state,
        )
        child.checkpoints = self.checkpoints
        child.routes = self.routes
        child.step_name = step_name
        child.parent = self
        child.trace_id = self.trace_id
        return child

    def checkpoint(self, name: str) -> Checkpoint:
        """Record that the run reached ``name`` now."""
        mark = Checkpoint(name, time.monotonic(), self.step_name)
        self.checkpoints.append(mark)
        return mark

    def record_route(self, router: str, route: str) -> RouteDecision:
        """Record a router's decision (``Router`` calls this)."""
        decision = RouteDecision(router, route, self.step_name)
        self.routes.append(decision)
        return decision

    def __repr__(self) -> str:
        return (
            f"WorkflowContext(workflow_id={self.workflow_id!r}, session_id={self.session_id!r}, "
            f"correlation_id={self.correlation_id!r}, step_name={self.step_name!r})"
        )
