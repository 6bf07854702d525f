"""Rules for files that belong to no member: ``[tool.tta-dev.affected]``.

```toml
[tool.tta-dev.affected]
all = ["noxfile.py", ".github/**"]   # a change here affects every member
none = ["docs/**"]                    # a change here affects no member
defaults = true                       # keep the built-in rules after yours (default)
```

Patterns are globs relative to the workspace root (``*`` stays in one folder, ``**``
crosses folders); files outside the workspace are seen as ``../...``. Your rules are
tried first (``all`` before ``none``), then the defaults (``DEFAULT_CI``, ``DEFAULT_NONE``,
``DEFAULT_ALL``, in that order); the first match wins. A file that matches no rule belongs
to the deepest member folder that contains it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tta_dev.workspace._errors import WorkspaceError
from tta_dev.workspace._globs import check_glob, glob_match
from tta_dev.workspace._toml import Table, string_list, table

RuleAction = Literal["all", "none"]

#: What CI runs: tried before ``DEFAULT_NONE``, so a workflow or action written in
#: Markdown (gh-aw) or its README still affects every member.
DEFAULT_CI: tuple[str, ...] = (".github/workflows/**", ".github/actions/**")
#: Files that change how every member is built, tested or checked.
DEFAULT_ALL: tuple[str, ...] = (
    "pyproject.toml",
    "uv.toml",
    ".python-version",
    "noxfile.py",
    "tasks.py",
    "conftest.py",
    ".pre-commit-config.yaml",
    ".github/**",
)
#: Files no test or build reads.
DEFAULT_NONE: tuple[str, ...] = (
    "docs/**",
    "*.md",
    "*.rst",
    "LICENSE*",
    ".gitignore",
    ".gitattributes",
    ".editorconfig",
    # What GitHub and its bots read, never a build or a test: Markdown (templates,
    # Copilot instructions, prompts and skills), issue, discussion and pull request
    # templates, sponsor links, release-note categories, Dependabot and Renovate.
    ".github/**/*.md",
    ".github/ISSUE_TEMPLATE/**",
    ".github/DISCUSSION_TEMPLATE/**",
    ".github/PULL_REQUEST_TEMPLATE/**",
    ".github/FUNDING.yml",
    ".github/release.yml",
    ".github/release.yaml",
    ".github/dependabot.yml",
    ".github/dependabot.yaml",
    ".github/renovate.json",
    ".github/renovate.json5",
    "renovate.json",
    "renovate.json5",
    ".renovaterc",
    ".renovaterc.json",
)


@dataclass(frozen=True)
class AffectedRule:
    """One pattern and what a change to a matching file does."""

    pattern: str
    action: RuleAction
    default: bool


@dataclass(frozen=True)
class AffectedRules:
    """The ordered rules of ``[tool.tta-dev.affected]`` (yours, then the defaults)."""

    rules: tuple[AffectedRule, ...]

    def rule_for(self, path: str) -> AffectedRule | None:
        """The first rule whose pattern matches ``path`` (relative to the workspace root)."""
        for rule in self.rules:
            if glob_match(rule.pattern, path):
                return rule
        return None


def default_rules() -> AffectedRules:
    """The built-in rules alone."""
    return _build((), (), defaults=True)


def _build(all_: tuple[str, ...], none: tuple[str, ...], *, defaults: bool) -> AffectedRules:
    rules = [AffectedRule(p, "all", False) for p in all_]
    rules += [AffectedRule(p, "none", False) for p in none]
    if defaults:
        rules += [AffectedRule(p, "all", True) for p in DEFAULT_CI]
        rules += [AffectedRule(p, "none", True) for p in DEFAULT_NONE]
        rules += [AffectedRule(p, "all", True) for p in DEFAULT_ALL]
    return AffectedRules(tuple(rules))


def rules_from_pyproject(data: Table, where: str) -> AffectedRules:
    """Read ``[tool.tta-dev.affected]`` from a parsed root ``pyproject.toml``."""
    section = table(table(table(data, "tool", where), "tta-dev", where), "affected", where)
    label = f"{where} [tool.tta-dev.affected]"
    unknown = sorted(set(section) - {"all", "none", "defaults"})
    if unknown:
        raise WorkspaceError(f"{label}: unknown key `{unknown[0]}`: use all, none or defaults")
    defaults = section.get("defaults", True)
    if not isinstance(defaults, bool):
        raise WorkspaceError(f"{label}: `defaults` must be true or false")
    all_, none = string_list(section, "all", label), string_list(section, "none", label)
    for pattern in (*all_, *none):
        check_glob(pattern, label)
    return _build(all_, none, defaults=defaults)
