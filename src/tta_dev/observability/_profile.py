"""Profile one run from its spans: calls, total and self time per primitive.

Spans come from an in-memory exporter (``ReadableSpan`` objects) or from a file of the
JSON objects the SDK's ``ConsoleSpanExporter`` prints (``OTEL_TRACES_EXPORTER=console``).
Self time is a span's duration minus the time covered by its children (the union of their
intervals, so parallel children are not counted twice).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from tta_dev._safeio import InputError, check_json_depth, describe, quote

__all__ = [
    "Profile",
    "ProfileRow",
    "SpanRecord",
    "profile_spans",
    "records_from_json",
    "records_from_spans",
    "render_profile",
]


@dataclass(frozen=True)
class SpanRecord:
    """The parts of a span a profile needs; times in nanoseconds since the epoch."""

    name: str
    trace_id: str
    span_id: str
    parent_id: str | None
    start_ns: int
    end_ns: int
    attributes: Mapping[str, Any]
    error: bool = False

    @property
    def duration_ns(self) -> int:
        return max(0, self.end_ns - self.start_ns)


@dataclass(frozen=True)
class ProfileRow:
    """One primitive (class and name): how often it ran and where the time went."""

    primitive: str
    name: str
    calls: int
    errors: int
    total_ns: int
    self_ns: int


@dataclass(frozen=True)
class Profile:
    """Rows sorted by self time (largest first); ``wall_ns`` spans the root spans."""

    rows: tuple[ProfileRow, ...]
    traces: int
    spans: int
    wall_ns: int


def records_from_spans(spans: Iterable[Any]) -> list[SpanRecord]:
    """Records from SDK ``ReadableSpan`` objects (e.g. ``InMemorySpanExporter`` output)."""
    records: list[SpanRecord] = []
    for span in spans:
        context = span.context
        parent = span.parent
        status = span.status
        records.append(
            SpanRecord(
                name=str(span.name),
                trace_id=format(context.trace_id, "032x"),
                span_id=format(context.span_id, "016x"),
                parent_id=None if parent is None else format(parent.span_id, "016x"),
                start_ns=int(span.start_time or 0),
                end_ns=int(span.end_time or span.start_time or 0),
                attributes=dict(span.attributes or {}),
                error=status is not None and str(status.status_code.name) == "ERROR",
            )
        )
    return records


def _iso_ns(text: str) -> int:
    """``2026-11-25T10:00:00.123456Z`` as integer nanoseconds since the epoch."""
    stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    seconds = int(stamp.timestamp())
    return seconds * 1_000_000_000 + stamp.microsecond * 1_000


def _hex(value: object) -> str:
    text = str(value)
    return text[2:] if text.startswith("0x") else text


def _span_field(item: Mapping[str, Any], key: str, index: int) -> str:
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InputError(f"not span JSON: span {index} has no {key} string, got {describe(value)}")
    return str(value)


def _time_ns(item: Mapping[str, Any], key: str, index: int) -> int:
    text = _span_field(item, key, index)
    try:
        return _iso_ns(text)
    except (ValueError, OverflowError, OSError):
        raise InputError(
            f"not span JSON: span {index} has {key} {quote(text, 40)}, not a usable ISO 8601 time"
        ) from None


def records_from_json(text: str) -> list[SpanRecord]:
    """Records from concatenated span JSON objects (the SDK console exporter's output) or a
    JSON list of them. Raises ValueError (``InputError``, one line) when the text holds no
    such spans, nests too deeply, or a span's field has the wrong type."""
    check_json_depth(text, "span JSON")
    decoder = json.JSONDecoder()
    objects: list[Any] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        try:
            value, pos = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError) as exc:
            raise InputError(f"not span JSON: {exc}") from None
        if isinstance(value, list):
            objects.extend(cast("list[Any]", value))
        else:
            objects.append(value)
    records: list[SpanRecord] = []
    for index, obj in enumerate(objects, 1):
        if not isinstance(obj, dict):
            raise InputError(
                f"not span JSON: span {index} is {describe(obj)}, expected an object with "
                "name, context, start_time"
            )
        item = cast("dict[str, Any]", obj)
        context = item.get("context")
        if not isinstance(context, dict):
            raise InputError(f"not span JSON: span {index} has no context object")
        context_d = cast("dict[str, Any]", context)
        status: object = item.get("status") or {}
        if not isinstance(status, dict):
            raise InputError(f"not span JSON: span {index} has status {describe(status)}")
        attributes: object = item.get("attributes") or {}
        if not isinstance(attributes, dict):
            raise InputError(f"not span JSON: span {index} has attributes {describe(attributes)}")
        parent = item.get("parent_id")
        records.append(
            SpanRecord(
                name=_span_field(item, "name", index),
                trace_id=_hex(_span_field(context_d, "trace_id", index)),
                span_id=_hex(_span_field(context_d, "span_id", index)),
                parent_id=None if parent is None else _hex(_span_field(item, "parent_id", index)),
                start_ns=_time_ns(item, "start_time", index),
                end_ns=_time_ns(item, "end_time", index),
                attributes=cast("dict[str, Any]", attributes),
                error=cast("dict[str, Any]", status).get("status_code") == "ERROR",
            )
        )
    if not records:
        raise InputError("no spans found")
    return records


def _covered(intervals: Sequence[tuple[int, int]], start: int, end: int) -> int:
    """Nanoseconds of [start, end] covered by the union of ``intervals``."""
    total = 0
    cursor = start
    for lo, hi in sorted(intervals):
        lo, hi = max(lo, cursor), min(hi, end)
        if hi > lo:
            total += hi - lo
            cursor = hi
    return total


def profile_spans(records: Sequence[SpanRecord], trace_id: str | None = None) -> Profile:
    """Summarise spans per (primitive class, name); only ``trace_id``'s when given."""
    if trace_id is not None:
        wanted = _hex(trace_id).lower()
        records = [r for r in records if r.trace_id.lower() == wanted]
        if not records:
            raise InputError(f"no spans of trace {quote(trace_id, 40)}")
    children: dict[str, list[tuple[int, int]]] = {}
    ids = {r.span_id for r in records}
    for r in records:
        if r.parent_id is not None:
            children.setdefault(r.parent_id, []).append((r.start_ns, r.end_ns))
    acc: dict[tuple[str, str], list[int]] = {}
    for r in records:
        key = (
            str(r.attributes.get("tta.primitive.type", "")),
            str(r.attributes.get("tta.primitive.name", r.name)),
        )
        row = acc.setdefault(key, [0, 0, 0, 0])
        own = r.duration_ns - _covered(children.get(r.span_id, []), r.start_ns, r.end_ns)
        row[0] += 1
        row[1] += int(r.error)
        row[2] += r.duration_ns
        row[3] += own
    roots = [r for r in records if r.parent_id is None or r.parent_id not in ids]
    wall = max((r.end_ns for r in roots), default=0) - min((r.start_ns for r in roots), default=0)
    rows = sorted(
        (ProfileRow(p, n, c, e, t, s) for (p, n), (c, e, t, s) in acc.items()),
        key=lambda row: (-row.self_ns, row.name),
    )
    return Profile(tuple(rows), len({r.trace_id for r in records}), len(records), wall)


def _ms(ns: int) -> str:
    return f"{ns / 1e6:.3f}"


def render_profile(profile: Profile, fmt: str = "text") -> str:
    """Render as ``text`` (a table), ``markdown`` or ``json``."""
    if fmt == "json":
        return json.dumps(
            {
                "traces": profile.traces,
                "spans": profile.spans,
                "wall_ms": profile.wall_ns / 1e6,
                "rows": [
                    {
                        "primitive": r.primitive,
                        "name": r.name,
                        "calls": r.calls,
                        "errors": r.errors,
                        "total_ms": r.total_ns / 1e6,
                        "self_ms": r.self_ns / 1e6,
                    }
                    for r in profile.rows
                ],
            },
            indent=2,
        )
    header = ("primitive", "name", "calls", "errors", "total ms", "self ms", "self %")
    wall = profile.wall_ns or 1
    rows = [
        (
            r.primitive,
            r.name,
            str(r.calls),
            str(r.errors),
            _ms(r.total_ns),
            _ms(r.self_ns),
            f"{100 * r.self_ns / wall:.1f}",
        )
        for r in profile.rows
    ]
    summary = (
        f"{profile.spans} spans in {profile.traces} trace(s), wall time {_ms(profile.wall_ns)} ms"
    )
    if fmt == "markdown":
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join([*lines, "", summary])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    numeric = {2, 3, 4, 5, 6}
    out = [
        "  ".join(
            value.rjust(w) if i in numeric else value.ljust(w)
            for i, (value, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in [header, *rows]
    ]
    return "\n".join([*out, summary])
