"""What a shell script runs: simple commands from a real bash parser, and which tool each runs.

A workflow's ``run:`` block is bash (GitHub's default shell). Substring tests and
line-by-line splitting are fooled by quoting, ``$(...)`` inside double quotes, ``if``
bodies and continuation lines; tree-sitter's bash grammar (MIT, what editors use) is not.
Licensing ruled out ``bashlex`` (GPL-3.0) for this MIT project.

:func:`simple_commands` yields every simple command of a script, including those inside
command substitutions, compound statements and ``bash -c``/``sh -c``/``eval`` strings.
:func:`invocation` then says which tool a command runs and whether that tool comes from the
project's lock (``uv run`` of a locked tool) or from elsewhere (``uvx`` fetches the latest
release; a bare ``nox`` is whatever is on ``PATH``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from tta_dev.errors import TtaDevError

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

__all__ = [
    "GITHUB_EXPRESSION",
    "Invocation",
    "ShellScript",
    "SimpleCommand",
    "invocation",
    "parse_script",
    "uv_run_command",
]

#: ``${{ ... }}``: GitHub substitutes these before bash sees the script.
GITHUB_EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.DOTALL)

#: ``bash -c 'bash -c "..."'`` is followed this many levels deep, no further.
MAX_NESTED_SCRIPTS = 4

# Options of `uv run` (and of `uv` itself, which clap accepts after the subcommand too)
# that take a value; every other option is a flag. tests/unit/devtools/test_shell.py holds
# this table against `uv run --help` and `uvx --help` of the uv in use.
_UV_RUN_VALUE_OPTIONS = frozenset(
    {
        "--extra", "--no-extra", "--group", "--no-group", "--only-group",
        "--no-editable-package", "--env-file", "--with", "-w", "--with-editable",
        "--with-requirements", "--package", "--python-platform", "--index", "--default-index",
        "--index-url", "-i", "--extra-index-url", "--find-links", "-f", "--index-strategy",
        "--keyring-provider", "--upgrade-package", "-P", "--upgrade-group", "--resolution",
        "--prerelease", "--prerelease-package", "--fork-strategy", "--exclude-newer",
        "--exclude-newer-package", "--no-sources-package", "--reinstall-package",
        "--link-mode", "--config-setting", "-C", "--config-settings-package",
        "--no-build-isolation-package", "--no-build-package", "--no-binary-package",
        "--cache-dir", "--refresh-package", "--python", "-p", "--color",
        "--allow-insecure-host", "--directory", "--project", "--config-file",
        "--python-preference", "--torch-backend",
    }
)  # fmt: skip
_UVX_VALUE_OPTIONS = _UV_RUN_VALUE_OPTIONS | {
    "--from",
    "--constraints",
    "-c",
    "--build-constraints",
    "-b",
    "--overrides",
}
# Options after which the named tool does not come from the project's lock.
_UV_RUN_UNPINNING = frozenset({"--with", "-w", "--with-editable", "--with-requirements"})

# Commands that run their arguments as another command: name -> options taking a value.
_WRAPPERS: dict[str, frozenset[str]] = {
    "env": frozenset({"-u", "--unset", "-C", "--chdir", "-S", "--split-string"}),
    "sudo": frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T"}),
    "time": frozenset({"-f", "--format", "-o", "--output"}),
    "nice": frozenset({"-n", "--adjustment"}),
    "nohup": frozenset(),
    "exec": frozenset({"-a"}),
    "command": frozenset(),
    "builtin": frozenset(),
    "stdbuf": frozenset({"-i", "-o", "-e", "--input", "--output", "--error"}),
    "timeout": frozenset({"-s", "--signal", "-k", "--kill-after"}),
    "xargs": frozenset(
        {"-a", "-d", "-E", "-I", "-L", "-n", "-P", "-s", "--arg-file", "--delimiter"}
    ),
}
_SHELLS = frozenset({"bash", "sh", "dash", "zsh"})
_PYTHON = re.compile(r"^python(\d+(\.\d+)?)?$")


@dataclass(frozen=True)
class SimpleCommand:
    """One simple command: its words after quote removal, expansions kept as written."""

    words: tuple[str, ...]
    line: int  # 1-based, in the script it came from


@dataclass(frozen=True)
class ShellScript:
    """A parsed script: its simple commands and the line of its first syntax error."""

    commands: tuple[SimpleCommand, ...]
    error_line: int | None = None


@dataclass(frozen=True)
class Invocation:
    """The tool a command runs, its arguments, and how it was started."""

    tool: str
    args: tuple[str, ...]
    runner: str  # "" (directly), "uv run", "uvx", or "python -m"
    lock_pinned: bool  # the tool comes from the project's uv.lock

    @property
    def via_uv(self) -> bool:
        return self.runner in {"uv run", "uvx"}


class ShellParserMissing(TtaDevError, RuntimeError):
    """tree-sitter (the ``devtools`` extra) is not installed, so shell cannot be read."""


@cache
def _parser() -> Parser:
    try:
        import tree_sitter_bash  # devtools extra: only the drift check parses shell
        from tree_sitter import Language, Parser
    except ImportError as exc:
        raise ShellParserMissing(
            f"reading workflow scripts needs the devtools extra ({exc.name} is missing):"
            " uv add 'tta-dev[devtools]' (or uv sync --extra devtools)"
        ) from exc
    return Parser(Language(tree_sitter_bash.language()))


@lru_cache(maxsize=256)
def parse_script(script: str, placeholders: bool = True) -> ShellScript:
    """Parse a bash script; ``placeholders`` keeps GitHub's ``${{ ... }}`` as written."""
    expressions: list[str] = []

    def hide(match: re.Match[str]) -> str:
        expressions.append(match.group(0))
        return f"__tta_gh_expr_{len(expressions) - 1}__"

    text = GITHUB_EXPRESSION.sub(hide, script) if placeholders else script

    def restore(word: str) -> str:
        if "__tta_gh_expr_" not in word:
            return word
        return re.sub(r"__tta_gh_expr_(\d+)__", lambda m: expressions[int(m.group(1))], word)

    commands: list[SimpleCommand] = []
    error_line: int | None = None
    pending: list[tuple[str, int, int]] = [(text, 0, 0)]  # (script, line offset, depth)
    while pending:
        source, offset, depth = pending.pop()
        tree = _parser().parse(source.encode("utf-8", "surrogatepass"))
        if tree.root_node.has_error and error_line is None:
            error_line = offset + _first_error_line(tree.root_node)
        for node in _walk(tree.root_node):
            if node.type != "command":
                continue
            words = tuple(restore(w) for w in _command_words(node))
            if not words:
                continue
            line = offset + node.start_point.row + 1
            commands.append(SimpleCommand(words, line))
            inner = _inner_script(words)
            if inner is not None and depth < MAX_NESTED_SCRIPTS:
                pending.append((inner, line - 1, depth + 1))
    commands.sort(key=lambda c: c.line)
    return ShellScript(tuple(commands), error_line)


def _walk(root: Node) -> Iterator[Node]:
    """Every node, iteratively (a deeply nested script must not exhaust the stack)."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children))


def _first_error_line(root: Node) -> int:
    for node in _walk(root):
        if node.is_missing:
            return node.start_point.row + 1
        if node.is_error:
            # An ERROR node may start with statements that parsed fine; the error is at its
            # first stray token (or nested error) after them.
            for child in node.children:
                if not child.is_named or child.has_error:
                    return child.start_point.row + 1
            return node.start_point.row + 1
    return 1


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


def _command_words(command: Node) -> list[str]:
    words: list[str] = []
    name = command.child_by_field_name("name")
    if name is None:
        return words
    words.append(_word_value(name))
    words.extend(_word_value(arg) for arg in command.children_by_field_name("argument"))
    return words


_BACKSLASH = re.compile(r"\\(.)", re.DOTALL)
_DQ_ESCAPE = re.compile(r"\\([\\\"$`\n])")


#: What a ``$(...)`` or `` `...` `` inside a word stands for: its commands are visited on
#: their own, and copying its text into every enclosing word would cost time quadratic in
#: the nesting depth.
SUBSTITUTION = "$(...)"
_SUBSTITUTIONS = frozenset({"command_substitution", "process_substitution"})


def _word_value(node: Node) -> str:
    """A word after quote removal; ``$X`` and ``${X}`` stay as written, ``$(...)`` is
    :data:`SUBSTITUTION`."""
    kind = node.type
    if kind in _SUBSTITUTIONS:
        return SUBSTITUTION
    if kind in {"command_name", "concatenation"}:
        return "".join(_word_value(c) for c in node.children)
    if kind == "word":
        return _BACKSLASH.sub(r"\1", _text(node))
    if kind == "raw_string":
        return _text(node)[1:-1]
    if kind == "ansi_c_string":
        return _text(node)[2:-1]
    if kind == "string":
        return _string_value(node)
    if any(c.type in _SUBSTITUTIONS for c in _walk(node)):
        return SUBSTITUTION  # e.g. ${X:-$(cmd)}: not a value we could know anyway
    return _text(node)


def _string_value(node: Node) -> str:
    """A double-quoted string's value, built from its parts (and the gaps between them)."""
    parts: list[str] = []
    source = node.text or b""
    base = node.start_byte
    cursor = base + 1  # after the opening quote
    end = node.end_byte - 1  # before the closing quote
    for child in node.children:
        if child.type == '"' or child.start_byte < cursor:
            continue
        gap = source[cursor - base : child.start_byte - base].decode("utf-8", "replace")
        parts.append(_DQ_ESCAPE.sub(_dq_unescape, gap))
        if child.type == "string_content":
            parts.append(_DQ_ESCAPE.sub(_dq_unescape, _text(child)))
        else:
            parts.append(_word_value(child))
        cursor = child.end_byte
    if cursor < end:
        tail = source[cursor - base : end - base].decode("utf-8", "replace")
        parts.append(_DQ_ESCAPE.sub(_dq_unescape, tail))
    return "".join(parts)


def _dq_unescape(match: re.Match[str]) -> str:
    return "" if match.group(1) == "\n" else match.group(1)


def _inner_script(words: Sequence[str]) -> str | None:
    """The script of ``bash -c SCRIPT`` or ``eval WORDS...``, if ``words`` is one."""
    name = _tool_name(words[0])
    if name == "eval":
        return " ".join(words[1:])
    if name not in _SHELLS:
        return None
    i = 1
    while i < len(words):
        word = words[i]
        if word in {"-o", "+o", "-O", "+O"}:  # bash's options that take a value
            i += 2
            continue
        if word[:1] not in {"-", "+"} or word in {"-", "--"}:
            return None  # a script file or stdin: nothing inline to read
        if word[0] == "-" and not word.startswith("--") and "c" in word[1:]:
            return words[i + 1] if i + 1 < len(words) else None
        i += 1
    return None


def _skip_options(
    words: Sequence[str], value_options: frozenset[str]
) -> tuple[list[tuple[str, str | None]], int]:
    """Options before the first positional word: ``([(option, value)], index of it)``.

    ``--opt=value``, ``--opt value``, ``-o value``, ``-ovalue`` and clusters of short flags
    (``-qv``) are understood the way clap and getopt read them.
    """
    options: list[tuple[str, str | None]] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--":
            return options, i + 1
        if not word.startswith("-") or word == "-":
            return options, i
        if word.startswith("--"):
            name, eq, value = word.partition("=")
            if eq:
                options.append((name, value))
            elif name in value_options:
                options.append((name, words[i + 1] if i + 1 < len(words) else None))
                i += 1
            else:
                options.append((name, None))
        else:
            for j, letter in enumerate(word[1:], 1):
                short = f"-{letter}"
                if short in value_options:
                    rest = word[j + 1 :]
                    if rest:
                        options.append((short, rest.removeprefix("=")))
                    else:
                        options.append((short, words[i + 1] if i + 1 < len(words) else None))
                        i += 1
                    break
                options.append((short, None))
        i += 1
    return options, i


def _requirement_name(text: str) -> str:
    return re.split(r"[\s\[<>=!~;@]", text.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _tool_name(word: str) -> str:
    return word.rstrip("/").rpartition("/")[2]


def uv_run_command(words: Sequence[str]) -> tuple[list[tuple[str, str | None]], list[str]] | None:
    """For ``uv [global options] run [options] COMMAND...``: ``(options, COMMAND...)``."""
    if not words or _tool_name(words[0]) != "uv":
        return None
    global_options, start = _skip_options(words[1:], _UV_RUN_VALUE_OPTIONS)
    rest = list(words[1 + start :])
    if not rest or rest[0] != "run":
        return None
    options, skip = _skip_options(rest[1:], _UV_RUN_VALUE_OPTIONS)
    return global_options + options, rest[1 + skip :]


def invocation(words: Sequence[str], depth: int = 0) -> Invocation | None:
    """Which tool ``words`` runs (through wrappers, ``uv run``, ``uvx``, ``python -m``)."""
    if not words or depth > 8:
        return None
    name = _tool_name(words[0])
    if name in _WRAPPERS:
        if name == "env":
            rest = [w for w in words[1:] if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w)]
            _, skip = _skip_options(rest, _WRAPPERS[name])
            rest = [w for w in rest[skip:] if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w)]
        else:
            _, skip = _skip_options(words[1:], _WRAPPERS[name])
            rest = list(words[1 + skip :])
            if name == "timeout" and rest:
                rest = rest[1:]  # the duration
        return invocation(rest, depth + 1)
    if name == "uv" and list(words[1:3]) == ["tool", "run"]:
        return _uvx(words[3:])
    if name == "uvx":
        return _uvx(words[1:])
    run = uv_run_command(words)
    if run is not None:
        options, command = run
        if any(option in {"-m", "--module"} for option, _ in options) and command:
            command = ["python", "-m", *command]
        found = invocation(command, depth + 1)
        if found is None:
            return None
        unpinned = {
            _requirement_name(value)
            for option, value in options
            if option in _UV_RUN_UNPINNING and value is not None
        }
        no_project = any(option == "--no-project" for option, _ in options)
        if found.runner == "uvx":  # `uv run uvx nox`: uvx still fetches its own nox
            return found
        pinned = not no_project and found.tool.lower() not in unpinned
        return Invocation(found.tool, found.args, "uv run", pinned)
    if _PYTHON.match(name):
        return _python(name, words)
    return Invocation(name, tuple(words[1:]), "", False)


def _python(name: str, words: Sequence[str]) -> Invocation:
    """``python [options] -m MODULE args`` runs MODULE; anything else runs python."""
    i = 1
    while i < len(words):
        word = words[i]
        if word == "-m" or (word.startswith("-m") and not word.startswith("--")):
            module = word[2:] or (words[i + 1] if i + 1 < len(words) else "")
            rest = words[i + 1 :] if word[2:] else words[i + 2 :]
            if module:
                return Invocation(module, tuple(rest), "python -m", False)
            break
        if word in {"-W", "-X"}:
            i += 2
            continue
        if not word.startswith("-") or word in {"-", "-c", "--"}:
            break  # a script, stdin or inline code: python itself is the tool
        i += 1
    return Invocation(name, tuple(words[1:]), "", False)


def _uvx(words: Sequence[str]) -> Invocation | None:
    _, skip = _skip_options(words, _UVX_VALUE_OPTIONS)
    command = list(words[skip:])
    if not command:
        return None
    # `uvx ruff@0.6 check`: the tool is ruff, whichever version uvx resolves.
    tool = re.split(r"[@=<>!~\[]", command[0], maxsplit=1)[0]
    return Invocation(_tool_name(tool), tuple(command[1:]), "uvx", False)
