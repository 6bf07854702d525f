"""``tta-dev profile``: calls, total and self time per primitive of one run.

    tta-dev profile my_app.workflows:ingest --input '{"path": "data.csv"}'
    tta-dev profile path/to/flows.py:build_workflow
    OTEL_TRACES_EXPORTER=console python app.py > spans.json; tta-dev profile --spans spans.json

A target is ``module:attribute`` or ``file.py:attribute`` naming a primitive, or a callable
without arguments that returns one; it runs once with instrumentation on (spans kept in
memory). OpenTelemetry is imported only when the command runs (the ``observability`` extra).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any, cast


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = "Calls, total and self time per primitive of one run, as a table."
    parser.add_argument(
        "target",
        nargs="?",
        help="MODULE:ATTR or FILE.py:ATTR: a primitive, or a no-argument callable returning one",
    )
    parser.add_argument("--input", default="null", help="the run's input as JSON (default: null)")
    parser.add_argument("--workflow-id", default="profile", help="WorkflowContext workflow id")
    parser.add_argument(
        "--spans",
        type=Path,
        help="read spans instead of running: the JSON the SDK console exporter prints",
    )
    parser.add_argument("--trace-id", help="with --spans: only this trace")
    parser.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    parser.set_defaults(handler=_profile)


def load_target(spec: str) -> Any:
    """The object ``MODULE:ATTR`` or ``FILE.py:ATTR`` names; ValueError when it cannot."""
    where, sep, attr = spec.rpartition(":")
    if not sep or not where or not attr:
        raise ValueError(f"target must be MODULE:ATTR or FILE.py:ATTR, got {spec!r}")
    try:
        if where.endswith(".py"):
            path = Path(where)
            if not path.is_file():
                raise ValueError(f"{where}: no such file")
            module_spec = importlib.util.spec_from_file_location(path.stem, path)
            if module_spec is None or module_spec.loader is None:
                raise ValueError(f"{where}: cannot be loaded as a module")
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
    except ImportError as exc:
        raise ValueError(f"cannot import {where}: {exc}") from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ValueError(f"{where} has no attribute {attr!r}") from None


def _profile(args: argparse.Namespace) -> int:
    try:
        from tta_dev.observability import (
            in_memory_tracer_provider,
            instrument,
            profile_spans,
            records_from_json,
            records_from_spans,
            render_profile,
        )
    except ImportError as exc:  # pragma: no cover - the extra is installed in every session
        raise ValueError(f"{exc}; install the 'observability' extra") from exc
    from tta_dev.primitives import Primitive, WorkflowContext

    if (args.spans is None) == (args.target is None):
        raise ValueError("give a TARGET to run or --spans FILE to read, not both or neither")
    if args.spans is not None:
        records = records_from_json(args.spans.read_text(encoding="utf-8"))
        print(render_profile(profile_spans(records, args.trace_id), args.format))
        return 0
    if args.trace_id is not None:
        raise ValueError("--trace-id goes with --spans")
    try:
        data = json.loads(args.input)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--input is not JSON: {exc}") from exc
    target = load_target(args.target)
    if not isinstance(target, Primitive) and callable(target):
        target = target()
    if not isinstance(target, Primitive):
        raise ValueError(f"{args.target} is not a primitive (nor a callable returning one)")
    workflow = cast("Primitive[Any, Any]", target)
    provider, exporter = in_memory_tracer_provider()
    context = WorkflowContext(args.workflow_id)
    error: BaseException | None = None
    with instrument(provider):
        try:
            asyncio.run(workflow.execute(data, context))
        except Exception as exc:
            error = exc
    provider.shutdown()
    records = records_from_spans(exporter.get_finished_spans())
    print(render_profile(profile_spans(records), args.format))
    if error is not None:
        message = str(error).splitlines()[0] if str(error) else ""
        print(
            f"tta-dev profile: the run failed: {type(error).__name__}: {message}", file=sys.stderr
        )
        return 1
    return 0
