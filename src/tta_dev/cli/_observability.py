"""``tta-dev profile``: calls, total and self time per primitive of one run.

    tta-dev profile my_app.workflows:ingest --input '{"path": "data.csv"}'
    tta-dev profile path/to/flows.py:build_workflow
    OTEL_TRACES_EXPORTER=console python app.py > spans.json; tta-dev profile --spans spans.json

A target is ``module:attribute`` or ``file.py:attribute`` naming a primitive, or a callable
without arguments that returns one; it runs once with instrumentation on (spans kept in
memory). OpenTelemetry is imported only when the command runs (the ``observability`` extra).

Exit codes: a target that cannot be loaded (no such module or file, a syntax error, an
exception or ``sys.exit`` while importing it or calling its factory, a factory that needs
arguments, not a primitive) is bad input, exit 2 with one line naming the target; a
target that loads but whose run raises (or calls ``sys.exit``) has failed, exit 1, after
the profile of what ran. A spans file is read as input: a regular file of at most
``MAX_SPANS_BYTES``, JSON nested at most 100 levels, every field of the expected type.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Any, cast

from tta_dev._safeio import InputError, load_json, one_line, quote, read_text

#: A spans file larger than this is refused (the console exporter writes ~1 KiB a span).
MAX_SPANS_BYTES = 256 << 20


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


def _failure(exc: BaseException) -> str:
    """``exc`` as ``Type: first line`` (``sys.exit(3)`` for a SystemExit), bounded."""
    if isinstance(exc, SystemExit):
        return f"sys.exit({exc.code!r})"
    if isinstance(exc, SyntaxError):
        where = f" ({Path(exc.filename or '?').name}, line {exc.lineno})" if exc.lineno else ""
        return f"SyntaxError: {exc.msg}{where}"
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {one_line(lines[0], 200)}" if lines else type(exc).__name__


def _named(spec: str) -> str:
    """The target for a message: its end (file name and attribute) when it is long."""
    return repr(spec) if len(spec) <= 100 else f"'…{spec[-80:]}'"


def load_target(spec: str) -> Any:
    """The object ``MODULE:ATTR`` or ``FILE.py:ATTR`` names; ValueError (one line naming the
    target) when it cannot be loaded, whatever importing it raised or exited with."""
    where, sep, attr = spec.rpartition(":")
    if not sep or not where or not attr:
        raise InputError(f"target must be MODULE:ATTR or FILE.py:ATTR, got {quote(spec)}")
    shown = quote(where)
    try:
        if where.endswith(".py"):
            path = Path(where)
            if not path.exists():
                raise InputError(f"{where}: no such file")
            if not path.is_file():
                raise InputError(f"{where}: not a regular file")
            module_spec = importlib.util.spec_from_file_location(path.stem, path)
            if module_spec is None or module_spec.loader is None:
                raise InputError(f"{where}: cannot be loaded as a module")
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
    except InputError:
        raise
    except ImportError as exc:
        raise InputError(f"cannot import {shown}: {one_line(str(exc), 200)}") from None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # the target's own code ran: anything may come out
        raise InputError(f"cannot load target {_named(spec)}: {_failure(exc)}") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise InputError(f"{shown} has no attribute {quote(attr)}") from None


def _build(spec: str, target: Any) -> Any:
    """Call a factory target (no arguments); errors name the target."""
    try:
        inspect.signature(target).bind()
    except TypeError:
        raise InputError(
            f"target {_named(spec)} needs arguments; give a primitive or a callable "
            "without arguments that returns one"
        ) from None
    except ValueError:
        pass  # no signature to read (a builtin): just call it
    try:
        return target()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        raise InputError(f"target {_named(spec)} failed to build: {_failure(exc)}") from None


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
        text = read_text(args.spans, what=f"--spans {args.spans}", limit=MAX_SPANS_BYTES)
        records = records_from_json(text)
        print(render_profile(profile_spans(records, args.trace_id), args.format))
        return 0
    if args.trace_id is not None:
        raise ValueError("--trace-id goes with --spans")
    try:
        data = load_json(args.input, "--input")
    except InputError as exc:
        raise InputError(f"--input is not JSON: {exc}") from None
    target = load_target(args.target)
    if not isinstance(target, Primitive) and callable(target):
        target = _build(args.target, target)
    if not isinstance(target, Primitive):
        raise InputError(f"{quote(args.target)} is not a primitive (nor a callable returning one)")
    workflow = cast("Primitive[Any, Any]", target)
    provider, exporter = in_memory_tracer_provider()
    context = WorkflowContext(args.workflow_id)
    error: BaseException | None = None
    with instrument(provider):
        try:
            asyncio.run(workflow.execute(data, context))
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # sys.exit in the run is a failed run too, not exit 3
            error = exc
    provider.shutdown()
    records = records_from_spans(exporter.get_finished_spans())
    print(render_profile(profile_spans(records), args.format))
    if error is not None:
        print(f"tta-dev profile: the run failed: {_failure(error)}", file=sys.stderr)
        return 1
    return 0
