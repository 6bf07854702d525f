"""Prompt files: Markdown a person or an agent reads, whose tagged code blocks the runner runs.

A prompt file has YAML front matter (``description`` as VS Code's ``.prompt.md`` files have
it, plus ``name``, ``title`` and ``inputs``) and sections with a ``**Goal:**`` line. A fenced
block whose info string carries ``step=ID`` is executable::

    ```bash step=lint group=gates timeout=600
    uv run --frozen ruff check .
    ```

Attributes: ``step`` (the id the runner asks for), ``group`` (steps of one group are
independent: the runner may run them in parallel), ``fixes`` (the gate a fix step repairs),
``timeout`` (seconds). A step block holds one command; ``{name}`` words are inputs the
front matter declares. Blocks without ``step=`` are examples for people; the command
validator checks them all the same.

Files come from ``<project>/.augment/workflows/<name>.prompt.md`` when the project has its
own, else from the ones shipped in this package.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, cast

from tta_dev.agentic._errors import PromptFileError
from tta_dev.agentic._policy import classify_command

__all__ = [
    "PROJECT_PROMPT_DIR",
    "WORKFLOW_NAMES",
    "CodeBlock",
    "PromptFile",
    "PromptStep",
    "code_blocks",
    "load_prompt",
    "parse_prompt",
]

#: Where a project keeps its own prompt files (the original design's location).
PROJECT_PROMPT_DIR = Path(".augment") / "workflows"
WORKFLOW_NAMES = (
    "quality-gate-fix",
    "bug-fix",
    "feature-implementation",
    "performance-optimization",
)
SHELL_LANGUAGES = frozenset({"bash", "sh", "shell", "zsh", "console"})
_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
_ATTRIBUTES = frozenset({"step", "group", "fixes", "timeout"})
_STEP_ID = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass(frozen=True)
class CodeBlock:
    """A fenced code block: its language, the rest of its info string, text and first line."""

    language: str
    info: str
    text: str
    line: int  # 1-based line of the block's first content line
    heading: str = ""

    def shell_script(self) -> str:
        """The commands of a shell block (for ``console``, the ``$ `` lines only)."""
        if self.language != "console":
            return self.text
        return "\n".join(
            line[2:] if line.startswith("$ ") else "" for line in self.text.splitlines()
        )


@dataclass(frozen=True)
class PromptStep:
    """One executable step: its command words (with ``{input}`` placeholders) and where."""

    id: str
    command: tuple[str, ...]
    line: int
    section: str
    goal: str
    group: str | None = None
    fixes: str | None = None
    timeout: float = 900.0

    def argv(self, values: Mapping[str, str | Sequence[str]]) -> list[str]:
        """The command with its placeholders filled in; a sequence value fills a whole word."""
        out: list[str] = []
        for word in self.command:
            whole = _PLACEHOLDER.fullmatch(word)
            if whole:
                value = values[whole.group(1)]
                out.extend([value] if isinstance(value, str) else value)
                continue

            def fill(match: re.Match[str]) -> str:
                value = values[match.group(1)]
                if not isinstance(value, str):
                    raise PromptFileError(f"step {self.id}: {{{match.group(1)}}} must be a word")
                return value

            out.append(_PLACEHOLDER.sub(fill, word))
        return out


@dataclass(frozen=True)
class PromptFile:
    """A workflow's prompt file: metadata, the whole text (for people and agents), its steps."""

    name: str
    title: str
    description: str
    source: str
    text: str
    inputs: Mapping[str, str] = field(default_factory=dict[str, str])
    steps: tuple[PromptStep, ...] = ()

    def step(self, step_id: str) -> PromptStep:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise PromptFileError(f"{self.source}: no step '{step_id}' (a block tagged step={step_id})")

    def group(self, name: str) -> tuple[PromptStep, ...]:
        return tuple(s for s in self.steps if s.group == name)


def load_prompt(name: str, root: Path | None = None) -> PromptFile:
    """The prompt file of workflow ``name``: the project's own, else the packaged one."""
    if root is not None:
        own = root / PROJECT_PROMPT_DIR / f"{name}.prompt.md"
        if own.is_file():
            return parse_prompt(own.read_text(encoding="utf-8"), str(own))
    packaged = resources.files("tta_dev.agentic") / "workflows" / f"{name}.prompt.md"
    if not packaged.is_file():
        raise PromptFileError(
            f"no workflow named {name!r}: choose one of {', '.join(WORKFLOW_NAMES)}"
        )
    return parse_prompt(
        packaged.read_text(encoding="utf-8"), f"tta_dev/agentic/workflows/{name}.prompt.md"
    )


def split_front_matter(text: str) -> tuple[dict[str, Any], str, int]:
    """(front matter, body, number of lines the front matter took)."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return {}, text, 0
    for end in range(1, len(lines)):
        if lines[end].strip() == "---":
            import yaml

            try:
                data: object = yaml.safe_load("".join(lines[1:end])) or {}
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = f" (line {mark.line + 2})" if mark is not None else ""
                problem = getattr(exc, "problem", None) or type(exc).__name__
                raise PromptFileError(f"front matter is not valid YAML{where}: {problem}") from exc
            if not isinstance(data, dict):
                raise PromptFileError("front matter is not a mapping")
            return cast("dict[str, Any]", data), "".join(lines[end + 1 :]), end + 1
    raise PromptFileError("front matter opened with --- is never closed")


def code_blocks(markdown: str, line_offset: int = 0) -> Iterator[CodeBlock]:
    """Every fenced code block of a CommonMark text, with the heading it sits under."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(markdown)
    heading = ""
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and index + 1 < len(tokens):
            heading = tokens[index + 1].content
        elif token.type == "fence" and token.map is not None:
            info = token.info.strip()
            language, _, rest = info.partition(" ")
            yield CodeBlock(
                language.lower(),
                rest.strip(),
                token.content,
                token.map[0] + 2 + line_offset,
                heading,
            )


def parse_prompt(text: str, source: str = "<prompt>") -> PromptFile:
    """Read a prompt file; a malformed step is a ``PromptFileError`` naming file:line."""
    try:
        meta, body, offset = split_front_matter(text)
    except PromptFileError as exc:
        raise PromptFileError(f"{source}:1: {exc}") from None
    inputs_raw: object = meta.get("inputs") or {}
    if not isinstance(inputs_raw, dict):
        raise PromptFileError(f"{source}:1: 'inputs' must map each input to its description")
    inputs = {str(k): str(v) for k, v in cast("dict[str, Any]", inputs_raw).items()}
    goals = _goals(body)
    steps: list[PromptStep] = []
    for block in code_blocks(body, offset):
        attributes = _attributes(block, source)
        if "step" not in attributes:
            continue
        steps.append(_step(block, attributes, inputs, goals, source))
    ids = [s.id for s in steps]
    for step_id in ids:
        if ids.count(step_id) > 1:
            raise PromptFileError(f"{source}: step '{step_id}' is defined twice")
    name = str(meta.get("name") or Path(source).name.removesuffix(".prompt.md"))
    title = str(meta.get("title") or name)
    return PromptFile(
        name=name,
        title=title,
        description=str(meta.get("description") or ""),
        source=source,
        text=text,
        inputs=inputs,
        steps=tuple(steps),
    )


def _attributes(block: CodeBlock, source: str) -> dict[str, str]:
    if "step=" not in block.info:
        return {}
    out: dict[str, str] = {}
    for word in shlex.split(block.info):
        key, sep, value = word.partition("=")
        if not sep or key not in _ATTRIBUTES:
            raise PromptFileError(
                f"{source}:{block.line - 1}: unknown block attribute {word!r} "
                f"(known: {', '.join(sorted(_ATTRIBUTES))})"
            )
        out[key] = value
    return out


def _step(
    block: CodeBlock,
    attributes: Mapping[str, str],
    inputs: Mapping[str, str],
    goals: Mapping[str, str],
    source: str,
) -> PromptStep:
    where = f"{source}:{block.line}"
    step_id = attributes["step"]
    if not _STEP_ID.match(step_id):
        raise PromptFileError(f"{where}: step id {step_id!r} must be lower-case words joined by -")
    if block.language not in SHELL_LANGUAGES - {"console"}:
        raise PromptFileError(f"{where}: step '{step_id}' must be a bash/sh block")
    line, words = _one_command(block, step_id, source)
    problem = classify_command(words).problem
    if problem:
        raise PromptFileError(f"{source}:{line}: step '{step_id}' {problem}")
    for word in words:
        for used in _PLACEHOLDER.findall(word):
            if used not in inputs:
                raise PromptFileError(
                    f"{source}:{line}: step '{step_id}' uses {{{used}}}, which the "
                    "front matter's inputs do not declare"
                )
    try:
        timeout = float(attributes.get("timeout", "900"))
    except ValueError:
        raise PromptFileError(f"{where}: timeout must be a number of seconds") from None
    return PromptStep(
        id=step_id,
        command=words,
        line=line,
        section=block.heading,
        goal=goals.get(block.heading, ""),
        group=attributes.get("group"),
        fixes=attributes.get("fixes"),
        timeout=timeout,
    )


def _one_command(block: CodeBlock, step_id: str, source: str) -> tuple[int, tuple[str, ...]]:
    """The block's one command (``\\`` continuations joined, comments dropped) and its line.

    The runner executes argv without a shell, so operators (``&&``, ``|``, ``>``) have no
    place in a step: a step that needs two commands is two steps.
    """
    lines: list[tuple[int, str]] = []
    pending = ""
    for offset, raw in enumerate(block.text.splitlines()):
        text = raw.strip()
        if not pending and (not text or text.startswith("#")):
            continue
        start = offset if not pending else lines.pop()[0]
        pending = (
            (pending + " " + text.removesuffix("\\")).strip()
            if pending
            else text.removesuffix("\\")
        )
        lines.append((start, pending))
        pending = pending if text.endswith("\\") else ""
    where = f"{source}:{block.line}"
    if len(lines) != 1:
        raise PromptFileError(
            f"{where}: step '{step_id}' must hold exactly one command (found {len(lines)}); "
            "split it into steps"
        )
    offset, text = lines[0]
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        words = tuple(lexer)
    except ValueError as exc:
        raise PromptFileError(f"{source}:{block.line + offset}: step '{step_id}': {exc}") from None
    if any(word and set(word) <= set("();<>|&") for word in words):
        raise PromptFileError(
            f"{source}:{block.line + offset}: step '{step_id}' must hold exactly one command "
            "(no shell operators: it runs without a shell); split it into steps"
        )
    return block.line + offset, words


_GOAL = re.compile(r"^\*\*Goal:\*\*\s*(.+)$")


def _goals(body: str) -> dict[str, str]:
    """Each section's ``**Goal:**`` sentence, by heading text."""
    from markdown_it import MarkdownIt

    goals: dict[str, str] = {}
    heading = ""
    tokens = MarkdownIt("commonmark").parse(body)
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and index + 1 < len(tokens):
            heading = tokens[index + 1].content
        elif token.type == "inline":
            match = _GOAL.match(token.content.replace("\n", " "))
            if match and heading not in goals:
                goals[heading] = match.group(1).strip()
    return goals
