"""Command: exit codes, merged output trimmed to its tail, timeouts that end the whole group."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from tta_dev.agentic import Command, CommandFailed, CommandResult, journal, useful_tail
from tta_dev.primitives import WorkflowContext


def _gone(pid: int) -> bool:
    """Whether ``pid`` no longer runs (a zombie waiting for its reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def _describe(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError as exc:
        return f"{pid}: {exc}"
    return f"{pid} still runs: {cmdline!r} {stat}"


async def _wait_gone(pid: int) -> bool:
    # The kernel delivers SIGKILL asynchronously; poll its effect, bounded (10 s), without
    # blocking the event loop.
    for _ in range(500):
        if _gone(pid):
            return True
        await asyncio.sleep(0.02)
    return _gone(pid)


async def test_exit_code_and_merged_output_in_order(tmp_path: Path) -> None:
    script = "import sys; print('out1', flush=True); print('err', file=sys.stderr, flush=True); print('out2'); sys.exit(3)"
    result = await Command([sys.executable, "-c", script], cwd=tmp_path, name="py").execute(None)
    assert result.exit_code == 3
    assert not result.ok
    assert result.output.splitlines() == ["out1", "err", "out2"]
    assert result.name == "py"
    assert result.cwd == str(tmp_path)
    assert not result.timed_out


async def test_success_is_ok_and_recorded_in_the_journal() -> None:
    context = WorkflowContext()
    a = Command(["true"], name="a")
    b = Command(["false"], name="b")
    results = await (a | b).execute(None, context)
    assert [r.ok for r in results] == [True, False]
    assert sorted(r.name for r in journal(context)) == ["a", "b"]


async def test_a_missing_program_is_exit_127_not_an_exception() -> None:
    result = await Command(["no-such-program-tta"]).execute(None)
    assert result.exit_code == 127
    assert "command not found: no-such-program-tta" in result.output


async def test_check_raises_after_recording_and_stops_a_sequence() -> None:
    context = WorkflowContext()
    first = Command(["false"], check=True, name="first")
    second = Command(["true"], name="second")
    with pytest.raises(CommandFailed) as info:
        await (first >> second).execute(None, context)
    assert info.value.result.name == "first"
    assert [r.name for r in journal(context)] == ["first"]


async def test_env_overrides_and_removes_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTA_GONE", "x")
    script = "import os; print(os.environ.get('TTA_GONE'), os.environ.get('TTA_SET'))"
    cmd = Command([sys.executable, "-c", script], env={"TTA_GONE": None, "TTA_SET": "y"})
    assert (await cmd.execute(None)).output.strip() == "None y"


async def test_output_keeps_the_tail_within_the_capture_limit() -> None:
    script = "for i in range(20000): print(f'line {i}')"
    result = await Command([sys.executable, "-c", script], capture_bytes=4096).execute(None)
    assert result.ok
    assert result.output.splitlines()[-1] == "line 19999"
    assert result.output.splitlines()[0].startswith("line ")  # starts on a whole line
    assert len(result.output) <= 4096
    assert result.truncated
    assert result.output_bytes > 100_000


async def test_ansi_colour_codes_are_removed() -> None:
    script = r"print('\x1b[31mred\x1b[0m plain')"
    result = await Command([sys.executable, "-c", script]).execute(None)
    assert result.output.strip() == "red plain"


async def test_a_hung_command_is_killed_at_its_timeout_with_its_children() -> None:
    # The shell starts a background child, prints its pid and waits forever.
    cmd = Command(
        ["sh", "-c", "sleep 100 & echo $!; sleep 100"], timeout=0.5, kill_grace=2, name="hung"
    )
    result = await cmd.execute(None)
    assert result.timed_out
    assert result.exit_code is None
    assert not result.ok
    child = int(result.output.splitlines()[0])
    assert await _wait_gone(child), f"child {child} outlived its command's timeout"
    assert "killed after 0.5 s timeout" in result.output


async def test_a_child_deaf_to_sigterm_is_killed_after_the_grace() -> None:
    script = "trap '' TERM; sleep 100 & echo $!; wait"
    result = await Command(["sh", "-c", script], timeout=0.5, kill_grace=0.5).execute(None)
    assert result.timed_out
    child = int(result.output.splitlines()[0])
    assert await _wait_gone(child)


async def test_background_leftovers_die_when_the_command_exits() -> None:
    # Without the group kill, the leftover would hold the pipe and the read would hang.
    result = await Command(["sh", "-c", "sleep 100 & echo $!"], timeout=30).execute(None)
    assert result.ok
    assert await _wait_gone(int(result.output.strip()))


async def test_cancelling_the_call_kills_the_group(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    cmd = Command(
        ["sh", "-c", f"sleep 100 & echo $! > {marker}.tmp; mv {marker}.tmp {marker}; wait"]
    )
    task = asyncio.ensure_future(cmd.execute(None))
    for _ in range(500):  # until the shell has started its child (bounded)
        if marker.exists():
            break
        await asyncio.sleep(0.02)
    child = int(marker.read_text())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _wait_gone(child), _describe(child)


async def test_a_failing_sibling_in_parallel_does_not_cancel_gates() -> None:
    # Gates use check=False: every gate runs to its end and reports.
    results = await (Command(["false"]) | Command(["sh", "-c", "echo done"])).execute(None)
    assert [r.exit_code for r in results] == [1, 0]
    assert results[1].output.strip() == "done"


def test_useful_tail_marks_what_it_cut() -> None:
    text = "\n".join(f"l{i}" for i in range(100)) + "\n\n\n"
    tail = useful_tail(text, lines=3)
    assert tail.splitlines() == ["[... 97 lines above]", "l97", "l98", "l99"]
    assert useful_tail("short") == "short"
    assert len(useful_tail("x" * 10_000, chars=100)) == 100


def test_result_display_quotes_like_a_shell() -> None:
    result = CommandResult("n", ("uv", "run", "pytest", "-m", "not slow"), ".", 0, 0.1, "", 0)
    assert result.display == "uv run pytest -m 'not slow'"
    assert result.ok
