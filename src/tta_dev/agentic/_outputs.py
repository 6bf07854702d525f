"""Reading tool output: the part of a pytest run that shows a failure, the failing node ids."""

from __future__ import annotations

import re

from tta_dev.agentic._command import useful_tail

__all__ = ["failed_node_ids", "pytest_failure_section"]

_SECTION = re.compile(r"^=+ (FAILURES|ERRORS) =+$")
_SUMMARY = re.compile(r"^=+ short test summary info =+$")
_FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+?)(?: - .*)?$")


def pytest_failure_section(output: str, *, lines: int = 80, chars: int = 8000) -> str:
    """pytest's FAILURES/ERRORS section (tracebacks) and its summary; else the output's tail.

    A long section keeps its end: the assertion and the ``E`` lines come last.
    """
    all_lines = output.splitlines()
    start = next((i for i, line in enumerate(all_lines) if _SECTION.match(line)), None)
    if start is None:
        return useful_tail(output, lines=lines, chars=chars)
    end = next(
        (i for i in range(start + 1, len(all_lines)) if _SUMMARY.match(all_lines[i])),
        len(all_lines),
    )
    summary = [line for line in all_lines[end:] if _FAILED.match(line)]
    section = "\n".join(all_lines[start:end])
    tail = useful_tail(section, lines=lines, chars=chars)
    return tail + ("\n" + "\n".join(summary) if summary else "")


def failed_node_ids(output: str) -> tuple[str, ...]:
    """The node ids pytest's short summary lists as FAILED or ERROR, in order."""
    seen: list[str] = []
    for line in output.splitlines():
        match = _FAILED.match(line)
        if match and match.group(1) not in seen:
            seen.append(match.group(1))
    return tuple(seen)
