"""uv metrics: time a command, append a record to a JSON-lines file, report the history.

``tta-dev metrics run -- uv sync --locked`` runs the command with its output passing
through, then appends one line to ``.tta/metrics/uv.jsonl``. ``tta-dev metrics report``
summarises the history per operation (count, p50, p95, success rate, trend).

The file is shared by every process that records: a record is one ``write(2)`` of one
line under an exclusive ``flock`` on an ``O_APPEND`` descriptor, so concurrent writers
never interleave, and a line left truncated by a killed writer is skipped by the reader
(and closed off with a newline by the next writer) instead of spoiling the history.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Generator, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from tta_dev._redact import redact_urls
from tta_dev.errors import TtaDevError

__all__ = [
    "DEFAULT_METRICS_FILE",
    "MetricRecord",
    "MetricsError",
    "MetricsHistory",
    "MetricsReport",
    "OperationStats",
    "append_record",
    "metrics_report",
    "operation_of",
    "read_history",
    "record_command",
]

DEFAULT_METRICS_FILE = Path(".tta") / "metrics" / "uv.jsonl"
#: The reader's cap: a history this large is years of CI runs; beyond it, say so.
MAX_HISTORY_BYTES = 64 * 1024 * 1024
#: A trend needs this many runs on each side of the split to mean anything.
_MIN_TREND_RUNS = 4
#: Median of the newer half over the older half beyond which the trend is a change.
TREND_THRESHOLD = 0.10

# uv subcommands that take a subcommand of their own: "uv pip install" is the operation.
_NESTED = frozenset(
    {"pip", "python", "tool", "cache", "self", "workspace", "auth", "build-backend"}
)
# Options of uv (and of the tools recorded the same way) that take a value, so the value
# is not mistaken for the subcommand.
_VALUED = frozenset(
    {
        "--directory",
        "--project",
        "--config-file",
        "--cache-dir",
        "--python",
        "-p",
        "--color",
        "--index-url",
        "--default-index",
        "--extra-index-url",
        "--index",
        "--package",
        "--group",
        "--extra",
        "--with",
    }
)


class MetricsError(TtaDevError, ValueError):
    """A metrics file or request that cannot be used; the message is one line."""


@dataclass(frozen=True)
class MetricRecord:
    """One timed run of a command."""

    operation: str
    arguments: tuple[str, ...]
    duration_s: float
    exit_code: int
    tool: str
    tool_version: str
    commit: str
    timestamp: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["arguments"] = list(self.arguments)
        return data


@dataclass(frozen=True)
class MetricsHistory:
    """The records of a metrics file, oldest first, and how many lines were unreadable."""

    records: tuple[MetricRecord, ...]
    skipped_lines: int


@dataclass(frozen=True)
class OperationStats:
    """One operation's runs over the report window."""

    operation: str
    count: int
    p50_s: float
    p95_s: float
    success_rate: float
    #: Median of the newer half of the window over the older half (None: too few runs).
    trend_ratio: float | None
    #: "slower", "faster", "steady" or "n/a" (fewer than 8 runs in the window).
    trend: str
    #: Durations in the window, oldest first (the charts draw them).
    durations_s: tuple[float, ...]


@dataclass(frozen=True)
class MetricsReport:
    """Per-operation statistics over the last ``window`` runs of each operation."""

    window: int
    operations: tuple[OperationStats, ...]
    total_records: int
    skipped_lines: int


def operation_of(argv: Sequence[str]) -> str:
    """The operation a command line performs: ``uv sync``, ``uv pip install``, ``ruff check``."""
    if not argv:
        return ""
    tool = Path(argv[0]).name
    words: list[str] = []
    skip = False
    for arg in argv[1:]:
        if skip:
            skip = False
            continue
        if arg.startswith("-"):
            skip = arg in _VALUED
            continue
        words.append(arg)
        if len(words) == 2 or words[0] not in _NESTED:
            break
    return " ".join([tool, *words])


def _first_line(command: Sequence[str], cwd: Path | None) -> str:
    try:
        result = subprocess.run(
            list(command), cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return (result.stdout.strip().splitlines() or [""])[0] if result.returncode == 0 else ""


# Tools whose `--version` only prints. Anything else (a project's ./bench.sh that ignores
# its arguments) would run a second time just to be asked its version, so it is not asked.
_VERSIONED = frozenset(
    {"uv", "uvx", "python", "python3", "ruff", "pyright", "mypy", "nox", "pytest", "pip", "git"}
)


def _tool_version(tool: str, cwd: Path | None) -> str:
    name = Path(tool).name
    if name not in _VERSIONED and not name.startswith("python3."):
        return ""
    out = _first_line([tool, "--version"], cwd)
    # "uv 0.13.9 (x86_64-unknown-linux-gnu)" -> "0.13.9"; other tools keep their line.
    parts = out.split()
    # Only a version-looking second word: "true (GNU coreutils) 9.1" keeps its whole line.
    if len(parts) >= 2 and parts[0] == Path(tool).name and parts[1][:1].isdigit():
        return parts[1]
    return out


# Options whose value is a secret (`uv publish --token`, `--password`): the record keeps the
# option, never the value. `-t`/`-p` mean token/password only to `uv publish`.
_SECRET_OPTIONS = frozenset({"--token", "--password"})
_PUBLISH_SECRET_OPTIONS = frozenset({"-t", "-p"})


def _stored_arguments(argv: Sequence[str]) -> tuple[str, ...]:
    """``argv[1:]`` as recorded: URLs without credentials, secret option values hidden."""
    secret = _SECRET_OPTIONS
    if operation_of(argv) == "uv publish":
        secret = secret | _PUBLISH_SECRET_OPTIONS
    stored: list[str] = []
    hide_next = False
    for arg in argv[1:]:
        option, equals, _value = arg.partition("=")
        if hide_next:
            stored.append("***")
            hide_next = False
        elif equals and option in secret:
            stored.append(f"{option}=***")
        else:
            hide_next = arg in secret
            stored.append(redact_urls(arg))
    return tuple(stored)


def record_command(
    argv: Sequence[str],
    *,
    metrics_file: Path = DEFAULT_METRICS_FILE,
    cwd: Path | None = None,
    capture: bool = False,
) -> tuple[MetricRecord, subprocess.CompletedProcess[str] | None]:
    """Run ``argv``, time it and append its record to ``metrics_file``.

    The command's output passes through unless ``capture`` (then it is returned). A
    command that cannot start is a ``MetricsError`` and is not recorded. Arguments are
    stored with the secrets in URLs removed (``--index-url https://user:token@...``).
    """
    if not argv:
        raise MetricsError("no command given: use `tta-dev metrics run -- uv <args>`")
    executable = shutil.which(argv[0])
    if executable is None:
        raise MetricsError(f"{argv[0][:80]!r} not found on PATH: install it or fix the command")
    target = metrics_file if cwd is None else cwd / metrics_file
    # Checked before the command runs: a FIFO would block the append after a long `uv sync`,
    # and a folder would turn the command's own exit code into a metrics error.
    if target.exists() and not target.is_file():
        raise MetricsError(f"{target} is not a regular file: pass the metrics .jsonl file")
    start = time.perf_counter()
    try:
        completed = subprocess.run(
            [executable, *argv[1:]], cwd=cwd, capture_output=capture, text=True, check=False
        )
    except OSError as exc:
        raise MetricsError(f"cannot run {argv[0][:80]!r}: {exc.strerror or exc}") from exc
    duration = time.perf_counter() - start
    record = MetricRecord(
        operation=operation_of(argv),
        arguments=_stored_arguments(argv),
        duration_s=round(duration, 6),
        exit_code=completed.returncode,
        tool=Path(argv[0]).name,
        tool_version=_tool_version(executable, cwd),
        commit=_first_line(["git", "rev-parse", "--short=12", "HEAD"], cwd),
        timestamp=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    append_record(target, record)
    return record, completed if capture else None


@contextlib.contextmanager
def _locked(fd: int) -> Generator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: O_APPEND alone
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def append_record(path: Path, record: MetricRecord) -> None:
    """Append ``record`` as one JSON line; safe with concurrent writers (see module doc)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record.to_json(), ensure_ascii=True, separators=(",", ":")) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        with _locked(fd):
            size = os.fstat(fd).st_size
            data = line.encode()
            if size:
                # A writer killed mid-line left no newline: close that line off first.
                with open(path, "rb") as existing:
                    existing.seek(size - 1)
                    if existing.read(1) != b"\n":
                        data = b"\n" + data
            os.write(fd, data)
    finally:
        os.close(fd)


def _record(data: Any) -> MetricRecord | None:
    if not isinstance(data, dict):
        return None
    fields = cast("Mapping[str, Any]", data)
    try:
        arguments = fields.get("arguments", [])
        duration = float(fields["duration_s"])
        if not isinstance(arguments, list) or not math.isfinite(duration) or duration < 0:
            return None
        exit_code = fields["exit_code"]
        if not isinstance(exit_code, int) or isinstance(exit_code, bool):
            return None
        return MetricRecord(
            operation=str(fields["operation"]),
            arguments=tuple(str(a) for a in cast("list[Any]", arguments)),
            duration_s=duration,
            exit_code=exit_code,
            tool=str(fields.get("tool", "")),
            tool_version=str(fields.get("tool_version", "")),
            commit=str(fields.get("commit", "")),
            timestamp=str(fields.get("timestamp", "")),
        )
    except (KeyError, TypeError, ValueError, OverflowError):
        return None


def parse_history(lines: Iterable[str]) -> MetricsHistory:
    """Records from JSON lines; a line that is not a whole record is counted, not fatal."""
    records: list[MetricRecord] = []
    skipped = 0
    for line in lines:
        if not line.strip():
            continue
        try:
            record = _record(json.loads(line))
        except (ValueError, RecursionError):
            record = None
        if record is None:
            skipped += 1
        else:
            records.append(record)
    return MetricsHistory(tuple(records), skipped)


def read_history(path: Path) -> MetricsHistory:
    """The history in ``path`` (a missing file is an empty history)."""
    import stat

    try:
        info = path.stat()
    except FileNotFoundError:
        return MetricsHistory((), 0)
    except OSError as exc:
        raise MetricsError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise MetricsError(f"{path} is not a regular file: pass the metrics .jsonl file")
    if info.st_size > MAX_HISTORY_BYTES:
        raise MetricsError(
            f"{path} is {info.st_size // (1024 * 1024)} MiB (over 64 MiB): archive or trim it"
        )
    with open(path, "rb") as handle:
        raw = handle.read(MAX_HISTORY_BYTES + 1)
    return parse_history(raw.decode("utf-8", errors="replace").splitlines())


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank-interpolated percentile (the same as ``statistics.quantiles`` inclusive)."""
    if len(sorted_values) == 1:
        return sorted_values[0]
    position = (len(sorted_values) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def _trend(durations: Sequence[float]) -> tuple[float | None, str]:
    half = len(durations) // 2
    if half < _MIN_TREND_RUNS:
        return None, "n/a"
    older = statistics.median(durations[:half])
    newer = statistics.median(durations[-half:])
    if older <= 0:
        return None, "n/a"
    ratio = newer / older
    if ratio > 1 + TREND_THRESHOLD:
        return ratio, "slower"
    if ratio < 1 - TREND_THRESHOLD:
        return ratio, "faster"
    return ratio, "steady"


def metrics_report(history: MetricsHistory, *, last: int = 50) -> MetricsReport:
    """Per operation: count, p50, p95, success rate and trend over its last ``last`` runs."""
    if last < 1:
        raise MetricsError(f"--last must be at least 1, not {last}")
    by_operation: dict[str, list[MetricRecord]] = {}
    for record in history.records:
        by_operation.setdefault(record.operation, []).append(record)
    stats: list[OperationStats] = []
    for operation in sorted(by_operation):
        window = by_operation[operation][-last:]
        durations = tuple(r.duration_s for r in window)
        ordered = sorted(durations)
        ratio, trend = _trend(durations)
        stats.append(
            OperationStats(
                operation=operation,
                count=len(window),
                p50_s=_percentile(ordered, 0.5),
                p95_s=_percentile(ordered, 0.95),
                success_rate=sum(r.ok for r in window) / len(window),
                trend_ratio=ratio,
                trend=trend,
                durations_s=durations,
            )
        )
    return MetricsReport(last, tuple(stats), len(history.records), history.skipped_lines)
