"""``Command``: a subprocess as a primitive, in its own session, killed whole at its timeout.

A step of a workflow is a tool run (``uv run --frozen ruff check .``). ``Command`` starts it
with ``asyncio.create_subprocess_exec`` in a new session (so it leads its own process group),
merges stdout and stderr in the order they were written, keeps the last ``capture_bytes``
of it, and on timeout or cancellation signals the whole group: the tool and every child it
started (``pytest -n 2`` workers, a shell's background jobs). A non-zero exit is data, not
an exception, unless ``check=True``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tta_dev.agentic._errors import CommandFailed
from tta_dev.primitives import Primitive, WorkflowContext

__all__ = ["JOURNAL_KEY", "Command", "CommandResult", "journal", "strip_ansi", "useful_tail"]

#: Where every ``Command`` of a run records its result (``context.state``), in finishing order.
JOURNAL_KEY = "tta_dev.agentic.journal"

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
# Exit codes a shell gives, so a missing tool reads like it does in a terminal.
_NOT_FOUND = 127
_NOT_EXECUTABLE = 126


@dataclass(frozen=True)
class CommandResult:
    """How one command ended: exit code (``None`` when killed at its timeout), the time it
    took, and the end of what it printed (stdout and stderr merged, colour codes removed)."""

    name: str
    argv: tuple[str, ...]
    cwd: str
    exit_code: int | None
    duration: float
    output: str
    output_bytes: int
    timed_out: bool = False
    started_at: float = 0.0
    phase: str = ""

    @property
    def ok(self) -> bool:
        """Exited 0 within its timeout."""
        return self.exit_code == 0 and not self.timed_out

    @property
    def display(self) -> str:
        """The command as one would type it in a shell."""
        return shlex.join(self.argv)

    @property
    def truncated(self) -> bool:
        """Whether ``output`` lost its beginning to the capture limit."""
        return self.output_bytes > len(self.output.encode("utf-8", "replace"))

    def tail(self, lines: int = 40, chars: int = 4000) -> str:
        """The useful end of the output (see ``useful_tail``)."""
        return useful_tail(self.output, lines=lines, chars=chars)


def strip_ansi(text: str) -> str:
    """``text`` without terminal colour and cursor codes."""
    return _ANSI.sub("", text)


def useful_tail(text: str, *, lines: int = 40, chars: int = 4000) -> str:
    """The last ``lines`` non-blank-trailing lines of ``text``, at most ``chars`` long.

    Tools put their verdict last (pytest's summary, ruff's count, uv's error), so the end is
    what a report shows. A cut is marked with a ``[... N lines above]`` line.
    """
    kept = text.rstrip().splitlines()
    dropped = max(0, len(kept) - lines)
    kept = kept[dropped:]
    while len(kept) > 1 and sum(len(line) + 1 for line in kept) > chars:
        kept.pop(0)
        dropped += 1
    if len(kept) == 1 and len(kept[0]) > chars:
        kept = [kept[0][-chars:]]
    body = "\n".join(kept)
    return f"[... {dropped} lines above]\n{body}" if dropped else body


def journal(context: WorkflowContext) -> list[CommandResult]:
    """The results the commands of this run have recorded so far (finishing order)."""
    return context.state.setdefault(JOURNAL_KEY, [])


class Command(Primitive[object, CommandResult]):
    """Run ``argv`` (no shell) in ``cwd``; the input is ignored, the output is a ``CommandResult``.

    ``timeout`` (seconds) ends the whole process group: SIGTERM, then SIGKILL after
    ``kill_grace`` seconds. Processes a command leaves behind in its group when it exits are
    killed too (as CI runners do at the end of a step), so nothing outlives its step.
    ``env`` entries override the environment; a ``None`` value removes the variable.
    With ``check=True`` a failure raises ``CommandFailed`` (after recording the result), which
    stops a ``>>`` sequence. Every result is appended to ``journal(context)``.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: str | Path = ".",
        timeout: float = 900.0,
        env: Mapping[str, str | None] | None = None,
        check: bool = False,
        name: str | None = None,
        phase: str = "",
        capture_bytes: int = 256 * 1024,
        kill_grace: float = 5.0,
    ) -> None:
        if not argv:
            raise ValueError("Command needs a program to run")
        super().__init__(name if name is not None else Path(argv[0]).name)
        self.argv = tuple(argv)
        self.cwd = Path(cwd)
        self.timeout = timeout
        self.env = dict(env or {})
        self.check = check
        self.phase = phase
        self.capture_bytes = capture_bytes
        self.kill_grace = kill_grace

    def __repr__(self) -> str:
        return f"<Command {self.name!r}: {shlex.join(self.argv)}>"

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        for key, value in self.env.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    async def _run(self, data: object, context: WorkflowContext) -> CommandResult:
        started_at = time.time()
        start = time.monotonic()
        loop = asyncio.get_running_loop()
        buffer = _Tail(self.capture_bytes)
        spawn = loop.create_task(
            loop.subprocess_exec(
                lambda: _Protocol(buffer, loop),
                *self.argv,
                cwd=self.cwd,
                env=self._environment(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,  # its own process group: one signal reaches all of it
            )
        )
        try:
            # Shielded: cancelled mid-spawn, asyncio would kill the leader only, and a child
            # it had already started would live on. Let the spawn land, then end its group.
            transport, protocol = await asyncio.shield(spawn)
        except asyncio.CancelledError:
            try:
                landed, proto = await asyncio.shield(spawn)
            except BaseException:  # cancelled again, or the spawn failed: end it when it lands
                spawn.add_done_callback(_end_spawned_group)
                raise
            _signal_group(landed.get_pid(), signal.SIGKILL)
            await _reap(proto.exited, self.kill_grace)
            landed.close()
            raise
        except FileNotFoundError:
            output = f"command not found: {self.argv[0]}\n"
            return self._record(context, _NOT_FOUND, output, start, started_at)
        except PermissionError as exc:
            return self._record(context, _NOT_EXECUTABLE, f"{exc}\n", start, started_at)
        pgid = transport.get_pid()
        timed_out = False
        try:
            # process_exited fires when the program ends, even while a leftover child still
            # holds the pipe (Process.wait() would wait for the pipe too).
            if not await _within(protocol.exited, self.timeout):
                timed_out = True
                _signal_group(pgid, signal.SIGTERM)
                if not await _within(protocol.exited, self.kill_grace):
                    _signal_group(pgid, signal.SIGKILL)
                    await _within(protocol.exited, self.kill_grace)
            # Leftovers (background jobs, a SIGTERM-deaf child) end with their step.
            _signal_group(pgid, signal.SIGKILL)
            if not await _within(protocol.closed, self.kill_grace):
                # A process that left the group (setsid) still holds the pipe: stop reading.
                buffer.note("[output reading stopped: a process outside the group holds it]\n")
        except BaseException:
            # Cancelled (Ctrl-C, a failing sibling with check=True): nothing may outlive us.
            _signal_group(pgid, signal.SIGKILL)
            await _reap(protocol.exited, self.kill_grace)
            raise
        finally:
            transport.close()
        code = None if timed_out else transport.get_returncode()
        if timed_out:
            buffer.note(f"[killed after {self.timeout:g} s timeout, with its process group]\n")
        output = buffer.text()
        return self._record(context, code, output, start, started_at, timed_out, buffer.total)

    def _record(
        self,
        context: WorkflowContext,
        exit_code: int | None,
        output: str,
        start: float,
        started_at: float,
        timed_out: bool = False,
        total: int | None = None,
    ) -> CommandResult:
        result = CommandResult(
            name=self.name,
            argv=self.argv,
            cwd=str(self.cwd),
            exit_code=exit_code,
            duration=time.monotonic() - start,
            output=output,
            output_bytes=len(output.encode()) if total is None else total,
            timed_out=timed_out,
            started_at=started_at,
            phase=self.phase,
        )
        journal(context).append(result)
        if self.check and not result.ok:
            raise CommandFailed(result)
        return result


def _end_spawned_group(spawn: asyncio.Task[tuple[asyncio.SubprocessTransport, _Protocol]]) -> None:
    if spawn.cancelled() or spawn.exception() is not None:
        return
    transport, _ = spawn.result()
    _signal_group(transport.get_pid(), signal.SIGKILL)
    transport.close()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    # The group id stays reserved while any member lives, so this never hits a stranger.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


async def _reap(exited: asyncio.Future[None], seconds: float) -> None:
    """Wait (bounded) until a killed leader is reaped, even while being cancelled.

    Closing the transport of a killed but unreaped process leaves a zombie, and Python
    3.13 reports it as "subprocess ... is still running" when the transport is freed.
    """
    with contextlib.suppress(BaseException):  # a second cancel must not skip the re-raise
        await _within(exited, seconds)


async def _within(future: asyncio.Future[None], seconds: float) -> bool:
    """Whether ``future`` completes within ``seconds`` (the future itself is not cancelled)."""
    try:
        async with asyncio.timeout(seconds):
            await asyncio.shield(future)
    except TimeoutError:
        return False
    return True


class _Protocol(asyncio.SubprocessProtocol):
    def __init__(self, buffer: _Tail, loop: asyncio.AbstractEventLoop) -> None:
        self.buffer = buffer
        self.exited: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()

    def pipe_data_received(self, fd: int, data: bytes | bytearray) -> None:
        self.buffer.add(bytes(data))

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


class _Tail:
    """The last ``limit`` bytes a stream produced, and how many it produced in all."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()
        self.total = 0
        self.notes: list[str] = []

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        self.data += chunk
        if len(self.data) > 2 * self.limit:
            del self.data[: len(self.data) - self.limit]

    def note(self, text: str) -> None:
        self.notes.append(text)

    def text(self) -> str:
        data = bytes(self.data[-self.limit :])
        text = strip_ansi(data.decode("utf-8", "replace")).replace("\r\n", "\n")
        if len(self.data) > self.limit or self.total > len(self.data):
            # Start at a line boundary rather than in the middle of a line.
            text = text.split("\n", 1)[-1]
        return text + "".join(self.notes)
