"""Issue routing: what an issue is (type), which workspace member it is about, who owns it.

Nothing is configured per workspace. The router reads the members the way uv does and
builds a :class:`RoutingIndex` of everything a user might write to name one:

* names: each member's distribution name, its import packages
  (``livekit.plugins.openai``) and its folder, matched as token sequences so every
  spelling (``-``, ``_``, ``.``, ``/``, ``\\``, a space) is the same name; the longest name at
  a position wins, so ``opentelemetry-instrumentation-django`` is never read as
  ``opentelemetry-instrumentation``;
* short names: what is left of a member name once the tokens most members share are
  dropped (``deepgram`` of ``livekit-plugins-deepgram``, ``aiohttp client`` of
  ``opentelemetry-instrumentation-aiohttp-client``); a common English word counts only
  next to a role word the members share (``requests instrumentation``);
* commands from ``[project.scripts]`` and top-level classes and functions that exactly one
  member defines (``FastAPIInstrumentor``, ``AgentSession``), found with one bounded
  regular-expression pass over the member's package files.

The issue text is read once, with weights for where a name appears: the title counts
double, the last traceback frame in a member's code counts most, a name on a line of a
pasted ``pip freeze`` / ``uv pip list`` block or in an install command counts little, and
the member most others depend on (the framework everyone names) counts half for plain
name mentions but wins when nothing else is named. Every score comes with the evidence
that made it; confidences are derived from the scores.

Every regular expression here is linear on hostile input: tokens start only at a
boundary (look-behind), quantifiers are bounded, and the text is capped.
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, cast, get_args

from tta_dev.errors import TtaDevError
from tta_dev.workspace import LOCK_FILE, Member, Workspace, build_graph, import_packages, read_lock
from tta_dev.workspace._toml import Table, read_toml, table

__all__ = [
    "ISSUE_TYPES",
    "ComponentMatch",
    "Evidence",
    "IssueRoute",
    "IssueRoutingError",
    "PriorityRule",
    "RoutingConfig",
    "RoutingIndex",
    "build_routing_index",
    "classify_issue_type",
    "issue_route_data",
    "render_issue_route",
    "route_issue",
    "routing_config",
]

IssueType = Literal["bug", "feature", "docs", "question"]
ISSUE_TYPES: tuple[IssueType, ...] = get_args(IssueType)
# GitHub's default labels, so routing works on a repository nobody configured.
DEFAULT_TYPE_LABELS: Mapping[str, str] = {
    "bug": "bug",
    "feature": "enhancement",
    "docs": "documentation",
    "question": "question",
}
# GitHub caps an issue body at 65,536 characters; a --body-file may be longer, and
# anything past this is not read (bounded time on hostile input).
MAX_BODY_CHARS = 262_144
MAX_TITLE_CHARS = 1_024

# Weights of one piece of evidence, by kind (see the module docstring).
_W_NAME = 3.0  # a member's distribution name, import name or folder
_W_PHRASE = 2.0  # a member's short name of several tokens ("aiohttp client")
_W_SHORT = 1.5  # a member's one-token short name ("deepgram")
_W_SYMBOL = 1.5  # a class or function only this member defines
_W_KEYWORD = 1.2  # a [project] keyword only this member declares
_W_COMMAND = 3.0  # a console script only this member installs
_W_RAISED = 3.0  # extra for the member holding the last traceback frame of ours
_W_PRIOR = 0.75  # the member most others depend on, when nothing else is said
_TITLE = 2.0
_LISTING = 0.15  # on a line of a pasted package list (pip freeze, uv pip list)
_INSTALL = 0.5  # in an install command (pip install a b c)
_ENVIRONMENT = 0.3  # under an "Environment" / "Versions" heading
_VERSIONED = 0.5  # a name followed by a version ("LiveKit Agents 1.0.22"): the setup
_HUB = 0.5  # any mention of the member everybody depends on (all issues name it)
_AUXILIARY = 0.3  # short names of examples, docs, benchmarks and test members
_COMMON = 0.35  # a member named by a common word ("api", "worker"), in plain prose
_SYMBOL_CAP = 4.5

# Files looked at for the definition index, per workspace.
_MAX_INDEX_FILES = 6000
_MAX_INDEX_BYTES = 48 * 1024 * 1024
_MAX_FILE_BYTES = 512 * 1024

# Words too common in prose to name a member on their own (they still do in code, or
# beside a role word such as "instrumentation" or "plugin").
_COMMON_WORDS = frozenset(
    [
        "a",
        "about",
        "add",
        "agent",
        "agents",
        "ai",
        "all",
        "an",
        "and",
        "any",
        "api",
        "app",
        "apps",
        "are",
        "as",
        "async",
        "at",
        "audio",
        "auth",
        "aws",
        "base",
        "be",
        "bot",
        "browser",
        "but",
        "by",
        "cache",
        "can",
        "cli",
        "click",
        "client",
        "cloud",
        "code",
        "common",
        "config",
        "connect",
        "context",
        "core",
        "data",
        "db",
        "debug",
        "default",
        "detector",
        "did",
        "do",
        "docs",
        "does",
        "durable",
        "error",
        "errors",
        "event",
        "events",
        "example",
        "examples",
        "exceptions",
        "extension",
        "fast",
        "file",
        "files",
        "filter",
        "flow",
        "for",
        "from",
        "gateway",
        "get",
        "go",
        "has",
        "have",
        "http",
        "https",
        "image",
        "images",
        "in",
        "inference",
        "io",
        "is",
        "it",
        "job",
        "kit",
        "lambda",
        "lib",
        "light",
        "live",
        "log",
        "logging",
        "main",
        "manager",
        "meta",
        "metrics",
        "minimal",
        "mock",
        "model",
        "models",
        "multi",
        "net",
        "new",
        "no",
        "not",
        "of",
        "on",
        "one",
        "open",
        "or",
        "out",
        "plugin",
        "plugins",
        "pool",
        "process",
        "protocol",
        "proxy",
        "python",
        "queue",
        "realtime",
        "redis",
        "remote",
        "request",
        "requests",
        "resource",
        "rest",
        "router",
        "rpc",
        "run",
        "runner",
        "runtime",
        "sdk",
        "server",
        "service",
        "session",
        "sessions",
        "shared",
        "simple",
        "socket",
        "speech",
        "sql",
        "stream",
        "streaming",
        "system",
        "task",
        "tasks",
        "test",
        "testing",
        "tests",
        "text",
        "the",
        "thread",
        "threading",
        "time",
        "to",
        "tool",
        "tools",
        "trace",
        "tracing",
        "turn",
        "ui",
        "up",
        "util",
        "utils",
        "video",
        "vision",
        "voice",
        "web",
        "with",
        "worker",
        "workers",
    ]
)
# Folders and name tokens of members that are not library components.
_AUXILIARY_WORDS = frozenset(
    {"example", "examples", "sample", "samples", "demo", "demos", "docs", "doc", "benchmarks"}
    | {"benchmark", "tests", "test", "testing", "scripts"}
)

_TOKEN = re.compile(r"[A-Za-z0-9]{1,80}")
_IDENT = re.compile(r"(?<![\w.])[A-Za-z_][A-Za-z0-9_]{0,79}")
_DEFINED_IN_TEXT = re.compile(r"\b(?:class|def)[ \t]{1,8}([A-Za-z_]\w{0,79})")
_FROM_IMPORT = re.compile(
    r"(?m)^[ \t>]{0,40}from[ \t]{1,8}([A-Za-z_][\w.]{0,200})[ \t]{1,8}import[ \t]{1,8}\(?([\w, \t]{1,400})"
)
_FRAME = re.compile(r"""File \\{0,4}["']([^"'\n]{1,600}?)\\{0,4}["'], line \d{1,7}""")
_LISTING_LINE = re.compile(
    r"""^[ \t]{0,20}[-*]?[ \t]{0,4}["']?[A-Za-z0-9][A-Za-z0-9._\-\[\], ]{0,120}?"""
    r"""(?:[ \t]{0,4}(?:===|==|>=|<=|~=|!=|@)[ \t]{0,4}|[ \t]{2,40}|[ \t]\(?v?)v?\d[\w.+!\-]{0,40}\)?["']?,?[ \t]{0,20}$"""
)
_INSTALL_LINE = re.compile(
    r"(?i)\b(?:pip3?|uv|poetry|pipx|conda|rye|pdm)(?:[ \t]{1,8}pip)?[ \t]{1,8}(?:install|add)\b"
)
_REPO_URL = re.compile(
    r"(?i)https?://(?:www\.)?github\.com/[\w.\-]{1,100}/[\w.\-]{1,100}"
    r"(?:/(?:blob|tree|raw|commit|pull|issues|compare|releases/tag)/[^/\s)\]>\"']{1,200})?"
)
_URL = re.compile(r"(?i)\bhttps?://[^\s)\]>\"'`]{1,2000}")
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
_INLINE_CODE = re.compile(r"`[^`\n]{1,2000}`")
_VERSION_AFTER = re.compile(
    r"[ \t`'\"]{0,3}(?:==|>=|~=|@|:)?[ \t`'\"]{0,3}v?\d{1,4}(?:\.(?:\d{1,6}|x))"
)
_ENVIRONMENT_HEADING = re.compile(
    r"(?i)^[ \t]{0,3}(?:#{1,6}|\*\*)[^\n]{0,40}\b(?:environment|versions?|setup|dependencies|system info\w*|platform)\b"
)
_ANY_HEADING = re.compile(r"^[ \t]{0,3}(?:#{1,6}[ \t]|\*\*[^*\n]{1,120}\*\*[ \t]*:?[ \t]*$)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TRACEBACK = re.compile(
    r"Traceback \(most recent call last\)|^\s{0,8}File \\?\"[^\"\n]{1,600}\\?\", line \d", re.M
)
_EXCEPTION_NAME = re.compile(
    r"(?<![\w.])[A-Z][A-Za-z0-9]{0,60}(?:Error|Exception|Exit|Interrupt)\b"
)
_TOP_LEVEL_DEF = re.compile(
    rb"^(?:async[ \t]+def|def|class)[ \t]+([A-Za-z_][A-Za-z0-9_]{0,79})", re.M
)


class IssueRoutingError(TtaDevError, ValueError):
    """Bad routing input or configuration, as one line (the scripts exit 2 on it)."""


# -- results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """Why a decision was taken: what kind of clue, the text that matched, its weight."""

    kind: str
    detail: str
    weight: float

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail} (+{self.weight:.2f})"


@dataclass(frozen=True)
class ComponentMatch:
    """A member the issue may be about, with a confidence in [0, 1] and its evidence."""

    member: str
    score: float
    confidence: float
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class IssueRoute:
    """The routing of one issue: every decision with its confidence and evidence."""

    number: int | None
    type: IssueType
    type_confidence: float
    type_evidence: tuple[Evidence, ...]
    components: tuple[ComponentMatch, ...]
    labels: tuple[str, ...]
    owners: tuple[str, ...]
    owners_evidence: tuple[str, ...]
    priority: str
    priority_evidence: tuple[str, ...]
    # Owners follow from the top member, so they are as sure as it is; a priority rule
    # is as sure as the type or member it names (a literal word match is certain).
    owners_confidence: float = 0.0
    priority_confidence: float = 1.0

    @property
    def component(self) -> ComponentMatch | None:
        """The most likely member, if any."""
        return self.components[0] if self.components else None


@dataclass(frozen=True)
class PriorityRule:
    """``priority`` when all given conditions hold: any of ``words`` (whole words or
    phrases, case-insensitive), the type in ``types``, the top member in ``components``."""

    priority: str
    words: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    components: tuple[str, ...] = ()

    def matches(self, text: str, issue_type: str, component: str | None) -> str | None:
        """The matched reason, or ``None``."""
        reasons: list[str] = []
        pattern = _words_pattern(self.words)
        if pattern is not None:
            found = pattern.search(text)
            if found is None:
                return None
            reasons.append(f"'{found.group(0)}'")
        if self.types:
            if issue_type not in self.types:
                return None
            reasons.append(f"type {issue_type}")
        if self.components:
            if component not in self.components:
                return None
            reasons.append(f"component {component}")
        return ", ".join(reasons) or "always"


DEFAULT_PRIORITY_RULES: tuple[PriorityRule, ...] = (
    PriorityRule(
        "critical",
        words=(
            "security",
            "vulnerability",
            "vulnerabilities",
            "CVE",
            "remote code execution",
            "data loss",
            "credentials leaked",
            "token leaked",
        ),
    ),
    PriorityRule(
        "high",
        words=(
            "crash",
            "crashes",
            "crashed",
            "segfault",
            "segmentation fault",
            "regression",
            "memory leak",
            "deadlock",
            "data corruption",
            "in production",
            "production outage",
        ),
        types=("bug",),
    ),
    PriorityRule("low", types=("docs", "question")),
)


@dataclass(frozen=True)
class RoutingConfig:
    """``[tool.tta-dev.routing]`` as the issue router reads it (every key optional).

    ``priority`` rules are tried in order (the first match decides) and replace the
    built-in ones when given; ``type-labels`` maps a type to its label (GitHub's
    default labels otherwise); ``component-label`` is a format with ``{member}`` (empty:
    no component label); ``priority-label`` likewise with ``{priority}``, added when the
    priority is not the default; below ``min-confidence`` the top member gets no label
    and no owners.
    """

    priority_rules: tuple[PriorityRule, ...] = DEFAULT_PRIORITY_RULES
    default_priority: str = "normal"
    type_labels: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_TYPE_LABELS))
    component_label: str = "component: {member}"
    priority_label: str = "priority: {priority}"
    min_confidence: float = 0.35


def routing_config(workspace: Workspace) -> RoutingConfig:
    """Read ``[tool.tta-dev.routing]`` from the workspace root's ``pyproject.toml``."""
    where = str(workspace.root / "pyproject.toml")
    data = read_toml(workspace.root / "pyproject.toml")
    section = table(table(table(data, "tool", where), "tta-dev", where), "routing", where)
    label = f"{where} [tool.tta-dev.routing]"
    config = RoutingConfig()
    rules = config.priority_rules
    if "priority" in section:
        raw = section["priority"]
        if not isinstance(raw, list):
            raise IssueRoutingError(f"{label}: `priority` must be a list of tables")
        rules = tuple(
            _priority_rule(item, f"{label} priority[{i}]")
            for i, item in enumerate(cast(list[object], raw))
        )
    type_labels = dict(config.type_labels)
    for key, value in table(section, "type-labels", label).items():
        if key not in ISSUE_TYPES or not isinstance(value, str):
            raise IssueRoutingError(
                f"{label}: `type-labels` maps {', '.join(ISSUE_TYPES)} to label names"
            )
        type_labels[key] = value
    min_confidence = section.get("min-confidence", config.min_confidence)
    if isinstance(min_confidence, bool) or not isinstance(min_confidence, int | float):
        raise IssueRoutingError(f"{label}: `min-confidence` must be a number in [0, 1]")
    return RoutingConfig(
        priority_rules=rules,
        default_priority=_config_string(
            section, "default-priority", config.default_priority, label
        ),
        type_labels=type_labels,
        component_label=_config_string(section, "component-label", config.component_label, label),
        priority_label=_config_string(section, "priority-label", config.priority_label, label),
        min_confidence=float(min_confidence),
    )


def _config_string(section: Table, key: str, default: str, label: str) -> str:
    value = section.get(key, default)
    if not isinstance(value, str):
        raise IssueRoutingError(f"{label}: `{key}` must be a string")
    return value


def _priority_rule(item: object, label: str) -> PriorityRule:
    if not isinstance(item, Mapping):
        raise IssueRoutingError(
            f'{label}: each rule is a table such as {{ priority = "high", words = ["crash"] }}'
        )
    rule = cast(Table, item)
    priority = rule.get("priority")
    if not isinstance(priority, str) or not priority:
        raise IssueRoutingError(f"{label}: `priority` (a string) is required")
    unknown = set(rule) - {"priority", "words", "types", "components"}
    if unknown:
        raise IssueRoutingError(f"{label}: unknown key(s) {', '.join(sorted(unknown))}")
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("words", "types", "components"):
        value = rule.get(key, [])
        if not isinstance(value, list) or not all(
            isinstance(v, str) for v in cast(list[object], value)
        ):
            raise IssueRoutingError(f"{label}: `{key}` must be a list of strings")
        lists[key] = tuple(cast(list[str], value))
    for kind in lists["types"]:
        if kind not in ISSUE_TYPES:
            raise IssueRoutingError(
                f"{label}: type {kind!r} is not one of {', '.join(ISSUE_TYPES)}"
            )
    return PriorityRule(priority, lists["words"], lists["types"], lists["components"])


@lru_cache(maxsize=256)
def _words_pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """Whole words or phrases, case-insensitive; literal (never a user regex)."""
    parts = [
        r"[\s\-_]+".join(re.escape(w) for w in phrase.split()) for phrase in words if phrase.split()
    ]
    if not parts:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)


# -- the index ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Alias:
    member: str
    kind: str  # "name", "import", "folder", "command", "phrase", "short"
    weight: float
    shown: str
    common: bool = False  # a common word: only in code or beside a role word


_KIND_RANK = {
    "import": 0,
    "name": 1,
    "folder": 2,
    "command": 3,
    "phrase": 4,
    "keyword": 5,
    "short": 6,
}


@dataclass(frozen=True)
class RoutingIndex:
    """What names each member, built once per workspace (see the module docstring)."""

    members: tuple[str, ...]
    aliases: Mapping[tuple[str, ...], tuple[_Alias, ...]]
    symbols: Mapping[str, str]
    hub: str | None
    hub_reason: str
    role_words: frozenset[str]
    member_paths: Mapping[str, str]
    longest: int
    prefixes: frozenset[tuple[str, ...]] = frozenset()

    def aliases_of(self, member: str) -> list[str]:
        """The names and short names that point at ``member`` (for docs and tests)."""
        return sorted(
            {a.shown for entries in self.aliases.values() for a in entries if a.member == member}
        )


def build_routing_index(workspace: Workspace) -> RoutingIndex:
    """Index every member's names, short names, commands and own definitions."""
    members = list(workspace.members)
    names = {m.name for m in members}
    token_lists = {m.name: _tokens(m.name) for m in members}
    document_frequency: Counter[str] = Counter()
    for tokens in token_lists.values():
        document_frequency.update(set(tokens))
    generic_threshold = max(3, math.ceil(0.1 * len(members)))
    generic = frozenset(t for t, n in document_frequency.items() if n >= generic_threshold)
    # Role words are shared by many members ("plugins", "instrumentation"); the token most
    # names start with is the project's own ("livekit", "opentelemetry"), not a role.
    first_tokens = Counter(tokens[0] for tokens in token_lists.values() if tokens)
    role_words = frozenset(
        {w for t in generic if first_tokens[t] < 0.5 * len(members) for w in _forms(t)}
        - {"python", "py"}
        - _AUXILIARY_WORDS
    )

    aliases: dict[tuple[str, ...], list[_Alias]] = defaultdict(list)

    def add(tokens: Sequence[str], alias: _Alias) -> None:
        # One alias per member and token sequence: a member's name, folder and import
        # name are often the same tokens, and one mention is one clue.
        key = tuple(tokens)
        if not key:
            return
        entries = aliases[key]
        for i, known in enumerate(entries):
            if known.member == alias.member:
                if (alias.weight, -_KIND_RANK[alias.kind]) > (
                    known.weight,
                    -_KIND_RANK[known.kind],
                ):
                    entries[i] = alias
                return
        entries.append(alias)

    remainders: dict[str, tuple[str, ...]] = {}
    shipped = {m.name: import_packages(workspace, m) for m in members}
    for member in members:
        single_common = (
            len(token_lists[member.name]) == 1 and token_lists[member.name][0] in _COMMON_WORDS
        )
        add(
            token_lists[member.name],
            _Alias(member.name, "name", _W_NAME, member.name, common=single_common),
        )
        if member.path != ".":
            tokens = _tokens(member.path)
            common = len(tokens) == 1 and tokens[0] in _COMMON_WORDS
            add(tokens, _Alias(member.name, "folder", _W_NAME, member.path + "/", common=common))
        for package in shipped[member.name]:
            if package.path.endswith(".py") and "." not in package.name:
                continue  # a lone top-level module (an example's agent.py) names nothing
            tokens = _tokens(package.name)
            common = len(tokens) == 1 and tokens[0] in _COMMON_WORDS
            add(tokens, _Alias(member.name, "import", _W_NAME, package.name, common=common))
        for command in _console_scripts(workspace, member):
            add(_tokens(command), _Alias(member.name, "command", _W_COMMAND, command))
        remainder = tuple(t for t in token_lists[member.name] if t not in generic)
        if remainder and remainder != tuple(token_lists[member.name]):
            remainders[member.name] = remainder
    token_owners: dict[str, set[str]] = defaultdict(set)
    for member, remainder in remainders.items():
        for token in remainder:
            token_owners[token].add(member)
    for member, remainder in remainders.items():
        auxiliary = _is_auxiliary(workspace.member(member))
        factor = _AUXILIARY if auxiliary else 1.0
        shown = " ".join(remainder)
        if len(remainder) > 1:
            add(remainder, _Alias(member, "phrase", _W_PHRASE * factor, shown))
        for token in remainder:
            if len(token) < 3 or token.isdigit() or (token.startswith("v") and token[1:].isdigit()):
                continue
            owners = token_owners[token]
            weight = _W_SHORT * factor / len(owners)
            add((token,), _Alias(member, "short", weight, token, common=token in _COMMON_WORDS))

    keyword_owners: dict[str, set[str]] = defaultdict(set)
    for member in members:
        for keyword in _keywords(workspace, member):
            keyword_owners[keyword].add(member.name)
    for keyword, owners in keyword_owners.items():
        # A keyword only one member declares (``gemini`` for a Google plugin) names it.
        if len(owners) == 1 and len(keyword) >= 3 and keyword not in generic:
            member = next(iter(owners))
            common = keyword in _COMMON_WORDS
            add((keyword,), _Alias(member, "keyword", _W_KEYWORD, keyword, common=common))
    for entries in aliases.values():
        # A member that ships no code (a meta-package such as pydantic-ai) is named by
        # users who mean the package they import under that name (pydantic_ai, shipped by
        # pydantic-ai-slim): the name goes to the member that ships it.
        importers = {a.member for a in entries if a.kind == "import"}
        if importers:
            entries[:] = [
                a for a in entries if a.member in importers or shipped[a.member] or a.kind != "name"
            ]
        # A command two members install names neither on its own.
        commands = [a for a in entries if a.kind == "command"]
        if len(commands) > 1:
            entries[:] = [
                _Alias(a.member, a.kind, a.weight / len(commands), a.shown)
                if a.kind == "command"
                else a
                for a in entries
            ]
    hub, hub_reason = _hub(workspace, members)
    symbols = _definitions(workspace, members)
    longest = max((len(k) for k in aliases), default=1)
    return RoutingIndex(
        members=tuple(sorted(names)),
        aliases={k: tuple(v) for k, v in aliases.items()},
        symbols=symbols,
        hub=hub,
        hub_reason=hub_reason,
        role_words=role_words,
        member_paths={m.name: m.path for m in members},
        longest=longest,
        prefixes=frozenset(k[:n] for k in aliases for n in range(1, len(k) + 1)),
    )


def _tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text)]


def _forms(word: str) -> set[str]:
    """A role word and its near forms (plugins/plugin, instrumentation/instrumentor)."""
    forms = {word, word.rstrip("s")}
    if word.endswith("ation"):
        stem = word[: -len("ation")]
        forms |= {stem + "or", stem + "ors", stem, stem + "ed"}
    return forms


def _is_auxiliary(member: Member) -> bool:
    first = member.path.split("/")[0].lower()
    return first in _AUXILIARY_WORDS or any(t in _AUXILIARY_WORDS for t in _tokens(member.name))


def _hub(workspace: Workspace, members: Sequence[Member]) -> tuple[str | None, str]:
    """The member most others depend on (the framework an issue names in passing).

    Edges come from ``pyproject.toml`` and, when there is one, from ``uv.lock``: members
    whose dependencies are ``dynamic`` declare none, but uv has locked them.
    """
    if len(members) == 1:
        return members[0].name, "the workspace's only member"
    lock = None
    if (workspace.root / LOCK_FILE).is_file():
        try:
            lock = read_lock(workspace.root / LOCK_FILE)
        except TtaDevError:
            lock = None  # an unreadable lock: the declared edges still count
    dependents: dict[str, set[str]] = defaultdict(set)
    for edge in build_graph(workspace, lock).edges:
        if edge.kind != "group" and edge.source != edge.target:
            dependents[edge.target].add(edge.source)
    if not dependents:
        return None, ""
    name, sources = max(dependents.items(), key=lambda item: (len(item[1]), item[0]))
    count = len(sources)
    if count < max(2, math.ceil(0.3 * (len(members) - 1))):
        return None, ""
    return name, f"{count} of {len(members)} members depend on it"


def _keywords(workspace: Workspace, member: Member) -> set[str]:
    """``[project] keywords`` as single lower-case tokens."""
    project = _project_table(workspace, member)
    raw = project.get("keywords", [])
    if not isinstance(raw, list):
        return set()
    words = cast(list[object], raw)
    return {t for w in words if isinstance(w, str) for t in _tokens(w) if len(_tokens(w)) == 1}


def _project_table(workspace: Workspace, member: Member) -> Table:
    folder = workspace.root if member.path == "." else workspace.root / member.path
    try:
        data = read_toml(folder / "pyproject.toml")
    except TtaDevError:
        return {}
    project = data.get("project")
    return cast(Table, project) if isinstance(project, Mapping) else {}


def _console_scripts(workspace: Workspace, member: Member) -> list[str]:
    scripts = _project_table(workspace, member).get("scripts", {})
    return list(cast(Table, scripts)) if isinstance(scripts, Mapping) else []


def _definitions(workspace: Workspace, members: Sequence[Member]) -> dict[str, str]:
    """Top-level class and function names defined in exactly one member's packages."""
    owners: dict[str, set[str]] = defaultdict(set)
    budget = [_MAX_INDEX_FILES, _MAX_INDEX_BYTES]
    for member in members:
        for package in import_packages(workspace, member):
            for path in _python_files(workspace.root / package.path, budget):
                try:
                    with path.open("rb") as handle:
                        data = handle.read(_MAX_FILE_BYTES)
                except OSError:
                    continue
                budget[1] -= len(data)
                for found in _TOP_LEVEL_DEF.finditer(data):
                    owners[found.group(1).decode("ascii")].add(member.name)
    return {
        name: next(iter(found))
        for name, found in owners.items()
        if len(found) == 1 and _distinctive_symbol(name)
    }


def _distinctive_symbol(name: str) -> bool:
    """Names users would not write by chance: CamelCase with two humps or snake_case."""
    if len(name) < 5 or name.startswith("_") or name.lower() in _COMMON_WORDS:
        return False
    inner_upper = any(c.isupper() for c in name[1:]) and any(c.islower() for c in name)
    return inner_upper or ("_" in name.strip("_") and not name.isupper())


def _python_files(path: Path, budget: list[int]) -> Iterator[Path]:
    if path.is_file():
        if path.suffix == ".py" and budget[0] > 0:
            budget[0] -= 1
            yield path
        return
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith((".", "_")) and d not in _AUXILIARY_WORDS
        )
        for filename in sorted(filenames):
            if not filename.endswith(".py"):
                continue
            if budget[0] <= 0 or budget[1] <= 0:
                return
            budget[0] -= 1
            yield Path(dirpath) / filename


# -- reading the issue --------------------------------------------------------------------


def clean_text(text: str, limit: int) -> str:
    """``text`` capped, as valid Unicode, without NUL and other control characters."""
    text = text[:limit]
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates -> "?"
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub(" ", text)


@dataclass
class _Scores:
    evidence: dict[str, dict[tuple[str, str], Evidence]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    counts: Counter[tuple[str, str, str]] = field(default_factory=Counter[tuple[str, str, str]])

    def add(self, member: str, kind: str, detail: str, weight: float) -> None:
        key = (kind, detail)
        self.counts[(member, kind, detail)] += 1
        known = self.evidence[member].get(key)
        if known is None or known.weight < weight:
            self.evidence[member][key] = Evidence(kind, detail, round(weight, 3))


def route_components(
    index: RoutingIndex, title: str, body: str, *, limit: int = 5
) -> tuple[ComponentMatch, ...]:
    """The members ``title`` and ``body`` are about, most likely first."""
    scores = _Scores()
    title = clean_text(title, MAX_TITLE_CHARS)
    body = clean_text(body, MAX_BODY_CHARS)
    defined_here = {m.group(1) for m in _DEFINED_IN_TEXT.finditer(body)}
    _scan(index, _strip_repo_urls(title), "title", _TITLE, scores, defined_here)
    listing = _listing_lines(body)
    body_lines = _strip_repo_urls(body).split("\n")
    environment = False
    for number, line in enumerate(body_lines):
        if _ANY_HEADING.match(line):
            environment = bool(_ENVIRONMENT_HEADING.match(line))
        if number in listing:
            _scan(index, line, "package list", _LISTING, scores, defined_here)
        elif _INSTALL_LINE.search(line):
            _scan(index, line, "install command", _INSTALL, scores, defined_here)
        elif environment:
            _scan(index, line, "environment", _ENVIRONMENT, scores, defined_here)
        else:
            _scan(index, line, "body", 1.0, scores, defined_here)
    _from_imports(index, body, scores)
    _last_frame(index, body, scores)
    if index.hub is not None and _best_other(scores, index.hub) < 1.0:
        # When nothing names another member, the framework everyone uses is the guess.
        scores.add(index.hub, "prior", index.hub_reason, _W_PRIOR)
    return _rank(scores, limit)


def _best_other(scores: _Scores, hub: str) -> float:
    totals = [sum(e.weight for e in ev.values()) for m, ev in scores.evidence.items() if m != hub]
    return max(totals, default=0.0)


def _strip_repo_urls(text: str) -> str:
    """Drop ``github.com/owner/repo/blob/ref``: the repository's own name is no clue."""
    return _REPO_URL.sub(" ", text)


def _listing_lines(body: str) -> set[int]:
    """Lines in runs of three or more ``name==version``-like lines."""
    lines = body.split("\n")
    out: set[int] = set()
    run: list[int] = []
    for number, line in enumerate(lines):
        if len(line) <= 200 and _LISTING_LINE.match(line):
            run.append(number)
            continue
        if len(run) >= 3:
            out.update(run)
        run = []
    if len(run) >= 3:
        out.update(run)
    return out


def _scan(
    index: RoutingIndex,
    text: str,
    where: str,
    factor: float,
    scores: _Scores,
    defined_here: set[str],
) -> None:
    """Names, short names and definitions in ``text`` (one line or the title)."""
    if not text.strip():
        return
    tokens = [(m.group(0).lower(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    # Whether token i and i+1 may belong to one name, computed once per pair.
    joined = [_joins(text[a[2] : b[1]]) for a, b in itertools.pairwise(tokens)]
    position = 0
    while position < len(tokens):
        matched = 0
        # Walk forward while the tokens are a prefix of some name (a trie walk over a set
        # of prefixes): one or two set lookups per position on any input.
        size, key, hit = 0, (), 0
        while position + size < len(tokens) and size < index.longest:
            if size and not joined[position + size - 1]:
                break
            key = (*key, tokens[position + size][0])
            if key not in index.prefixes:
                break
            size += 1
            if key in index.aliases:
                hit = size
        for size in (hit,) if hit else ():
            window = tokens[position : position + size]
            separators = [text[a[2] : b[1]] for a, b in itertools.pairwise(window)]
            entries = index.aliases[tuple(t[0] for t in window)]
            code = _in_code(text, window[0][1], window[-1][2])
            in_path = _in_path(text, window[0][1], window[-1][2])
            for alias in entries:
                if alias.kind in {"short", "phrase", "keyword"} and in_path:
                    continue  # a file or folder called like a member is not the member
                bare_common = (
                    alias.common
                    and not code
                    and not in_path
                    and not _beside_role_word(index, tokens, position, size)
                )
                if bare_common and alias.kind in {"short", "keyword"} and len(index.members) > 12:
                    continue  # among many members a bare common word names none of them
                kind = (
                    "path"
                    if in_path and alias.kind in {"import", "folder", "name"}
                    else _kind(alias, separators, code)
                )
                weight = alias.weight * factor
                if bare_common:
                    weight *= _COMMON  # "the API returns 500" may or may not mean `api`
                if alias.member == index.hub:
                    # Nearly every issue names the framework; its plain name says least.
                    weight *= _HUB * (_HUB if kind in {"name", "short name", "keyword"} else 1.0)
                if _VERSION_AFTER.match(text, window[-1][2]):
                    weight *= _VERSIONED
                scores.add(alias.member, kind, f"{alias.shown} in {where}", weight)
            matched = size
            break
        position += matched or 1
    symbol_total: dict[str, float] = defaultdict(float)
    for found in _IDENT.finditer(text):
        name = found.group(0)
        member = index.symbols.get(name)
        if member is None or name in defined_here:
            continue
        if symbol_total[member] >= _SYMBOL_CAP:
            continue
        weight = _W_SYMBOL * factor * (_HUB if member == index.hub else 1.0)
        symbol_total[member] += weight
        scores.add(member, "definition", f"{name} in {where}", weight)


def _joins(separator: str) -> bool:
    """Whether two tokens separated by ``separator`` may belong to one name."""
    return (
        0 < len(separator) <= 4
        and all(c in "-_./\\ " for c in separator)
        and ((separator.strip(" ") == "" and len(separator) == 1) or " " not in separator)
    )


def _kind(alias: _Alias, separators: Sequence[str], code: bool) -> str:
    if alias.kind in {"phrase", "short"}:
        return "short name"
    if alias.kind in {"keyword", "command"}:
        return alias.kind
    if any("/" in s or "\\" in s for s in separators):
        return "path"
    if separators and all(s == "." for s in separators):
        return "module"
    if not separators and alias.kind == "import" and code:
        return "module"
    return "name"


def _in_path(text: str, start: int, end: int) -> bool:
    return (
        text[max(0, start - 1) : start] in {"/", "\\"}
        or text[end : end + 1] in {"/", "\\"}
        or (text[end : end + 3] == ".py" and text[max(0, start - 1) : start] in {"/", "\\", "."})
    )


def _in_code(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` looks like code: in backticks or quotes, dotted
    (``deepgram.STT``, not a full stop), called, or imported."""
    before = text[max(0, start - 1) : start]
    after = text[end : end + 1]
    if before == "`" or after == "`" or (before in {"'", '"'} and after == before):
        return True
    if after == "." and text[end + 1 : end + 2].isidentifier():
        return True
    if before == "." and text[max(0, start - 2) : start - 1].isalnum():
        return True
    if after == "(":
        return True
    head = text[max(0, start - 8) : start]
    return head.endswith(("import ", "from "))


def _beside_role_word(
    index: RoutingIndex, tokens: Sequence[tuple[str, int, int]], at: int, size: int
) -> bool:
    """A common word names a member next to a role word: "requests instrumentation"."""
    near = [
        tokens[i][0] for i in (at - 2, at - 1, at + size, at + size + 1) if 0 <= i < len(tokens)
    ]
    return any(word in index.role_words for word in near)


def _from_imports(index: RoutingIndex, body: str, scores: _Scores) -> None:
    """``from livekit.plugins import openai, deepgram`` names ``livekit.plugins.openai``..."""
    for found in _FROM_IMPORT.finditer(body):
        base = _tokens(found.group(1))
        for name in found.group(2).replace("(", " ").split(","):
            words = name.split()
            if not words:
                continue
            key = (*base, *_tokens(words[0]))
            for alias in index.aliases.get(key, ()):
                if alias.kind == "import":
                    weight = _W_NAME * 0.5 * (_HUB if alias.member == index.hub else 1.0)
                    scores.add(alias.member, "module", f"{alias.shown} imported", weight)


def _last_frame(index: RoutingIndex, body: str, scores: _Scores) -> None:
    """The member holding the innermost traceback frame of any member: it raised."""
    last: tuple[str, str] | None = None
    last_hub: tuple[str, str] | None = None
    for found in _FRAME.finditer(body):
        tokens = _tokens(found.group(1))
        for start in range(len(tokens)):
            hit = _longest_alias(index, tokens, start, {"import", "folder"})
            if hit is not None:
                # The framework calls into every member: its frames say least.
                if hit.member == index.hub:
                    last_hub = (hit.member, hit.shown)
                else:
                    last = (hit.member, hit.shown)
                break
    chosen = last or last_hub
    if chosen is not None:
        scores.add(chosen[0], "raised in", f"last traceback frame in {chosen[1]}", _W_RAISED)


def _longest_alias(
    index: RoutingIndex, tokens: Sequence[str], start: int, kinds: set[str]
) -> _Alias | None:
    for size in range(min(index.longest, len(tokens) - start), 0, -1):
        for alias in index.aliases.get(tuple(tokens[start : start + size]), ()):
            if alias.kind in kinds:
                return alias
    return None


def _rank(scores: _Scores, limit: int) -> tuple[ComponentMatch, ...]:
    totals: dict[str, float] = {}
    for member, evidence in scores.evidence.items():
        total = 0.0
        for item in evidence.values():
            repeats = scores.counts[(member, item.kind, item.detail)]
            total += item.weight * (1 + 0.25 * math.log(repeats))
        totals[member] = total
    grand = sum(totals.values())
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:limit]
    out: list[ComponentMatch] = []
    for member, total in ranked:
        share = total / (grand + 1.0)
        strength = 1 - math.exp(-total / 3.0)
        evidence = sorted(
            scores.evidence[member].values(), key=lambda e: (-e.weight, e.kind, e.detail)
        )
        out.append(
            ComponentMatch(member, round(total, 3), round(share * strength, 3), tuple(evidence[:8]))
        )
    return tuple(out)


# -- the type ------------------------------------------------------------------------------

# (type, weight, pattern). Headings are lines of an issue template ("### Steps to
# reproduce", "**Describe the bug**"); keywords are whole words, so "add" never matches
# "address".
_HEADINGS: tuple[tuple[IssueType, str], ...] = (
    (
        "bug",
        r"steps to reproduce|reproduction steps|how to reproduce|to reproduce|expected behaviou?r|actual behaviou?r|expected result|actual result|current behaviou?r|bug description|describe the bug|bug report|what happened|errors?|error (?:logs?|messages?|output)|logs?|minimal reproducible example|stack ?trace|traceback",
    ),
    (
        "feature",
        r"feature request|feature description|feature type|is your feature request related[^\n]{0,80}|describe the solution you'?d like|proposed solution|describe alternatives[^\n]{0,60}|alternatives considered|what problem do you want to solve|use case|motivation|proposal",
    ),
    (
        "docs",
        r"documentation|which (?:page|doc\w*)|what'?s wrong with the doc\w*|docs? issue|suggested (?:fix|change) for the docs",
    ),
    ("question", r"your question|question|what are you trying to (?:do|achieve)"),
)
_HEADING_LINE = re.compile(
    r"^[ \t]{0,3}(?:#{1,6}[ \t]{0,4}|\*\*|__)([^\n*#_]{2,120}?)[ \t]*(?:\*\*|__)?[ \t]*:?[ \t]*$",
    re.M,
)
_TITLE_TAGS: tuple[tuple[IssueType, re.Pattern[str]], ...] = (
    (
        "bug",
        re.compile(
            r"(?i)^\s{0,4}(?:\[\s{0,2}bug\s{0,2}\]|bug\s{0,2}:|fix\s{0,2}:|\[\s{0,2}fix\s{0,2}\]|bug report\b)"
        ),
    ),
    (
        "feature",
        re.compile(
            r"(?i)^\s{0,4}(?:\[\s{0,2}(?:feature|feat|enhancement|rfe|feature request)\s{0,2}\]|feat(?:ure)?\s{0,2}(?:\(\w{1,30}\))?\s{0,2}:|feature request\b|rfc\b)"
        ),
    ),
    (
        "docs",
        re.compile(
            r"(?i)^\s{0,4}(?:\[\s{0,2}(?:docs?|documentation)\s{0,2}\]|docs?\s{0,2}(?:\(\w{1,30}\))?\s{0,2}:|documentation\s{0,2}:)"
        ),
    ),
    (
        "question",
        re.compile(
            r"(?i)^\s{0,4}(?:\[\s{0,2}(?:question|q|help)\s{0,2}\]|question\s{0,2}:|q\s{0,2}:)"
        ),
    ),
)
_KEYWORD_PATTERNS: tuple[tuple[IssueType, float, str], ...] = (
    (
        "bug",
        1.0,
        r"errors?|exceptions?|crash(?:es|ed|ing)?|fail(?:s|ed|ing|ure|ures)?|broken|breaks?|bug|buggy|regression|raises?|raised|wrong|incorrect(?:ly)?|hangs?|hanging|freez(?:e|es|ing)|stuck|leaks?|leaking|unexpected(?:ly)?|not work(?:ing)?|doesn'?t work|does not work|didn'?t work|no longer|stopped working|cannot|can'?t|unable to|missing|timeout|times out|timed out|invalid|issue with|problem with|not (?:being )?(?:recorded|created|sent|exported|captured)|no (?:traces|spans|audio|response|sound)",
    ),
    (
        "feature",
        1.2,
        r"add(?:ing)? support|support for|please add|would be (?:nice|great|helpful|useful)|it would be|feature|requests? for|allow(?:ing)?|ability to|option to|proposal|propose|enhancement|implement(?:s|ed|ing|ation)?|integrat(?:e|ion)|improve(?:ment)?|contribut(?:e|ing)|we (?:really )?need (?:a|an|to)|need a way to|should (?:provide|support|add|allow|improve)|new (?:provider|model|plugin|instrumentation|option|api)|any plans?|plans? to|roadmap|could you add|can you add|would like (?:to have|support)|wish|instrumentor for|instrumentation for|support (?:for )?(?:the )?new",
    ),
    (
        "docs",
        1.5,
        r"docs?|documentation|documented|undocumented|readme|docstrings?|typos?|tutorial|guide|broken link|dead link|link is broken|readthedocs|api reference|example in the docs",
    ),
    (
        "question",
        1.2,
        r"how (?:do|can|to|should|would|does)|is (?:it|there) (?:possible|a way)|is there any way|what is the (?:best|recommended|right|correct)|can (?:i|we|you)|questions?|help|anyone|any idea|wondering|should i|does anyone|is this (?:expected|intended)|how come|why does|why is|clarif(?:y|ication)|recommended (?:way|pattern|approach)",
    ),
)
_KEYWORDS: tuple[tuple[IssueType, float, re.Pattern[str]], ...] = tuple(
    (kind, weight, re.compile(r"(?i)(?<![\w-])(?:" + pattern + r")(?![\w-])"))
    for kind, weight, pattern in _KEYWORD_PATTERNS
)
_TITLE_START: tuple[tuple[IssueType, re.Pattern[str]], ...] = (
    (
        "feature",
        re.compile(
            r"(?i)^\s{0,4}(?:add|support|allow|implement|enable|expose|introduce|provide|make it possible|new|remove|drop|deprecate|rename|update|bump|upgrade|refactor|replace)\b"
        ),
    ),
    (
        "question",
        re.compile(
            r"(?i)^\s{0,4}(?:how|why|what|is|can|could|should|does|do|where|when|which)\b[^\n]{0,300}\?\s{0,4}$"
        ),
    ),
    ("question", re.compile(r"(?i)^\s{0,4}(?:how to|how do|how can)\b")),
    (
        "docs",
        re.compile(
            r"(?i)^\s{0,4}(?:document|docs?|update (?:the )?(?:docs|readme|documentation))\b"
        ),
    ),
)


def classify_issue_type(title: str, body: str) -> tuple[IssueType, float, tuple[Evidence, ...]]:
    """The issue's type, a confidence in [0, 1] and the evidence (see ``_HEADINGS``)."""
    title = clean_text(title, MAX_TITLE_CHARS)
    body = clean_text(body, MAX_BODY_CHARS)
    scores: dict[IssueType, float] = dict.fromkeys(ISSUE_TYPES, 0.0)
    evidence: dict[IssueType, list[Evidence]] = {t: [] for t in ISSUE_TYPES}

    def add(kind: IssueType, what: str, detail: str, weight: float) -> None:
        scores[kind] += weight
        evidence[kind].append(Evidence(what, detail, round(weight, 3)))

    for kind, pattern in _TITLE_TAGS:
        if pattern.search(title):
            add(kind, "title tag", title[:40].strip(), 4.0)
    for kind, pattern in _TITLE_START:
        if pattern.search(title):
            add(kind, "title form", title[:40].strip(), 2.0)
            break
    prose_title = _URL.sub(" ", title)
    for kind, weight, pattern in _KEYWORDS:
        found = {m.group(0).lower() for m in pattern.finditer(prose_title)}
        for word in sorted(found)[:3]:
            add(kind, "title word", word, 2.0 * weight)
    headings_seen: set[str] = set()
    for found in _HEADING_LINE.finditer(body):
        heading = found.group(1).strip().lower()
        if heading in headings_seen:
            continue
        headings_seen.add(heading)
        for kind, pattern in _HEADINGS:
            if re.fullmatch(r"(?:" + pattern + r")\W{0,4}", heading):
                add(kind, "template heading", heading[:60], 3.0)
                break
    if _TRACEBACK.search(body) or _TRACEBACK.search(title):
        add("bug", "traceback", "a Python traceback", 3.0)
    elif _EXCEPTION_NAME.search(title) or _EXCEPTION_NAME.search(body):
        name = cast(re.Match[str], _EXCEPTION_NAME.search(title) or _EXCEPTION_NAME.search(body))
        add("bug", "exception", name.group(0), 1.5)
    prose = _prose(body)
    for kind, weight, pattern in _KEYWORDS:
        found = Counter(m.group(0).lower() for m in pattern.finditer(prose))
        for word, _count in found.most_common(4):
            add(kind, "word", word, weight * 0.5)
    best = max(ISSUE_TYPES, key=lambda t: (scores[t], -ISSUE_TYPES.index(t)))
    total = sum(scores.values())
    if total == 0:
        return "bug", 0.2, (Evidence("default", "no clue: most issues are bug reports", 0.0),)
    confidence = (scores[best] / (total + 1.0)) * (1 - math.exp(-scores[best] / 3.0))
    chosen = sorted(evidence[best], key=lambda e: -e.weight)[:8]
    return best, round(confidence, 3), tuple(chosen)


def _prose(body: str) -> str:
    """The body without fenced code, inline code and URLs (where type words mislead)."""
    lines: list[str] = []
    fence: str | None = None
    for line in body.split("\n"):
        found = _FENCE.match(line)
        if found is not None:
            marker = found.group(1)[0]
            fence = None if fence == marker else (fence or marker)
            continue
        if fence is None and not _TRACEBACK.match(line):
            lines.append(line)
    return _URL.sub(" ", _INLINE_CODE.sub(" ", "\n".join(lines)))


# -- routing ----------------------------------------------------------------------------------


OwnersLookup = Callable[[str], tuple[tuple[str, ...], str | None]]


def route_issue(
    index: RoutingIndex,
    title: str,
    body: str = "",
    *,
    number: int | None = None,
    config: RoutingConfig | None = None,
    owners_of: OwnersLookup | None = None,
) -> IssueRoute:
    """Route one issue: type, members, labels, owners (``owners_of(path)`` gives the
    owners of a workspace-relative path and the CODEOWNERS line that decided), priority."""
    config = config or RoutingConfig()
    issue_type, type_confidence, type_evidence = classify_issue_type(title, body)
    components = route_components(index, title, body)
    top = components[0] if components else None
    confident = top is not None and top.confidence >= config.min_confidence
    labels: list[str] = []
    type_label = config.type_labels.get(issue_type, issue_type)
    if type_label:
        labels.append(type_label)
    if confident and top is not None and config.component_label:
        labels.append(_format(config.component_label, member=top.member))
    owners: tuple[str, ...] = ()
    owners_evidence: tuple[str, ...] = ()
    if confident and top is not None and owners_of is not None:
        folder = index.member_paths.get(top.member, ".")
        path = "pyproject.toml" if folder == "." else f"{folder}/pyproject.toml"
        owners, reason = owners_of(path)
        owners_evidence = (
            (f"{path}: {reason}",) if reason else (f"{path}: no CODEOWNERS line matches",)
        )
    text = clean_text(title, MAX_TITLE_CHARS) + "\n" + _prose(clean_text(body, MAX_BODY_CHARS))
    priority, priority_evidence = config.default_priority, ("no rule matched",)
    priority_confidence = 1.0
    for rule in config.priority_rules:
        reason = rule.matches(text, issue_type, top.member if confident and top else None)
        if reason is not None:
            priority, priority_evidence = rule.priority, (f"rule {rule.priority}: {reason}",)
            if rule.types:
                priority_confidence = min(priority_confidence, type_confidence)
            if rule.components and top is not None:
                priority_confidence = min(priority_confidence, top.confidence)
            break
    if priority != config.default_priority and config.priority_label:
        labels.append(_format(config.priority_label, priority=priority))
    return IssueRoute(
        number=number,
        type=issue_type,
        type_confidence=type_confidence,
        type_evidence=type_evidence,
        components=components,
        labels=tuple(dict.fromkeys(labels)),
        owners=owners,
        owners_evidence=owners_evidence,
        priority=priority,
        priority_evidence=priority_evidence,
        owners_confidence=top.confidence if owners and top is not None else 0.0,
        priority_confidence=round(priority_confidence, 3),
    )


def _format(template: str, **values: str) -> str:
    text = template
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


# -- rendering ------------------------------------------------------------------------------


def issue_route_data(route: IssueRoute) -> dict[str, Any]:
    """The JSON contract: ``number, type, labels, components, owners, priority`` and the
    confidence and evidence behind each decision."""
    return {
        "number": route.number,
        "type": route.type,
        "type_confidence": route.type_confidence,
        "type_evidence": [str(e) for e in route.type_evidence],
        "labels": list(route.labels),
        "components": [
            {
                "member": c.member,
                "confidence": c.confidence,
                "score": c.score,
                "evidence": [str(e) for e in c.evidence],
            }
            for c in route.components
        ],
        "owners": list(route.owners),
        "owners_confidence": route.owners_confidence,
        "owners_evidence": list(route.owners_evidence),
        "priority": route.priority,
        "priority_confidence": route.priority_confidence,
        "priority_evidence": list(route.priority_evidence),
    }


def render_issue_route(route: IssueRoute, fmt: Literal["text", "markdown"]) -> str:
    """Text for a terminal, or Markdown for the issue comment."""
    component = route.component
    if fmt == "markdown":
        lines = [
            f"**Type:** {route.type} (confidence {route.type_confidence:.2f})",
            f"**Priority:** {route.priority}",
            f"**Labels:** {', '.join(f'`{_md(x)}`' for x in route.labels) or 'none'}",
            f"**Owners:** {', '.join(_md(o) for o in route.owners) or 'none'}",
            "",
            "| member | confidence | evidence |",
            "|---|---|---|",
        ]
        for match in route.components:
            evidence = "<br>".join(_md(str(e)) for e in match.evidence[:4])
            lines.append(f"| `{_md(match.member)}` | {match.confidence:.2f} | {evidence} |")
        if not route.components:
            lines.append("| none | | no member named |")
        return "\n".join(lines) + "\n"
    lines = [
        f"issue {route.number if route.number is not None else '-'}",
        f"type: {route.type} ({route.type_confidence:.2f}): "
        + "; ".join(_one_line(str(e)) for e in route.type_evidence[:3]),
        f"component: {component.member + f' ({component.confidence:.2f})' if component else 'none'}",
    ]
    for match in route.components:
        lines.append(f"  {_one_line(match.member)} {match.confidence:.2f}")
        lines.extend(f"    {_one_line(str(e))}" for e in match.evidence[:4])
    lines.append(f"labels: {', '.join(_one_line(x) for x in route.labels) or 'none'}")
    lines.append(f"owners: {', '.join(route.owners) or 'none'}")
    lines.append(f"priority: {route.priority} ({'; '.join(route.priority_evidence)})")
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)


def _md(text: str) -> str:
    return _one_line(text).replace("|", "\\|").replace("<", "&lt;").replace("`", "'")
