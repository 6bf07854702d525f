"""invoke tasks: thin wrappers over the nox sessions and scripts (no logic of their own).

`invoke --list` shows every task; `invoke check` is what to run before pushing.
"""

from __future__ import annotations

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task


@task(default=True)
def check(c: Context) -> None:
    """Run the default nox sessions: lint, typecheck, unit."""
    c.run("uv run nox", pty=False)


@task
def ci(c: Context) -> None:
    """Run every session CI runs (tag ci), services included."""
    c.run("uv run nox -t ci", pty=False)


@task(help={"name": "nox session to run, e.g. unit"})
def session(c: Context, name: str) -> None:
    """Run one nox session by name."""
    import re

    from invoke.exceptions import Exit

    # nox names sessions with letters, digits, '_', '-' and '.' (compat-3.12); anything
    # else names none, so say so here instead of nox's bare exit 3.
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}", name):
        raise Exit(
            f"nox.session: {name[:60]!r} is not a session name (letters, digits, _ - .);"
            " `invoke nox.list` lists them",
            code=2,
        )
    result = c.run(f"uv run nox -s {_quote(name)}", pty=False, warn=True)
    code = result.exited if result is not None else 0
    if code == 3:  # nox: no session by that name
        raise Exit(f"nox.session: no session named {name!r}; `invoke nox.list` lists them", code=2)
    if code:
        raise Exit(code=code)


@task(name="list")
def list_sessions(c: Context) -> None:
    """List nox sessions with their descriptions."""
    c.run("uv run nox -l", pty=False)


@task
def drift(c: Context) -> None:
    """Check that CI, nox sessions and pre-commit hooks agree."""
    c.run("uv run tta-dev drift", pty=False)


@task
def lock(c: Context) -> None:
    """Check that uv.lock matches pyproject.toml."""
    c.run("uv run nox -s lock_check", pty=False)


@task(name="members", help={"fmt": "text, json or markdown"})
def workspace_members(c: Context, fmt: str = "text") -> None:
    """List the uv workspace members."""
    c.run(f"uv run tta-dev workspace members --format {_quote(fmt)}", pty=False)


@task(name="graph", help={"fmt": "text, json, markdown, mermaid, dot, svg or html"})
def workspace_graph(c: Context, fmt: str = "mermaid") -> None:
    """Show the member dependency graph."""
    c.run(f"uv run tta-dev workspace graph --format {_quote(fmt)}", pty=False)


@task(
    name="affected",
    help={
        "base": "git ref to compare from (merge base; default origin/main)",
        "files": "changed files instead of git, newline-separated",
        "fmt": "text, json, markdown or matrix",
        "runtime_only": "follow base dependencies only",
    },
)
def workspace_affected(
    c: Context,
    base: str = "origin/main",
    files: str = "",
    fmt: str = "text",
    runtime_only: bool = False,
) -> None:
    """Members affected by the changes since BASE (or by FILES), and why."""
    source = f"--files {_quote(files)}" if files else f"--base {_quote(base)}"
    flags = " --runtime-only" if runtime_only else ""
    c.run(f"uv run tta-dev workspace affected {source} --format {_quote(fmt)}{flags}", pty=False)


@task(name="lock-diff", help={"old": "uv.lock file or git ref", "new": "uv.lock file or git ref"})
def workspace_lock_diff(
    c: Context, old: str = "origin/main", new: str = "uv.lock", fmt: str = "text"
) -> None:
    """What changed between two uv.lock files, and which members it reaches."""
    c.run(
        f"uv run tta-dev workspace lock-diff {_quote(old)} {_quote(new)} --format {_quote(fmt)}",
        pty=False,
    )


@task(name="test-affected", help={"base": "git ref to compare from (default origin/main)"})
def workspace_test_affected(c: Context, base: str = "origin/main") -> None:
    """Run the unit tests of the members affected since BASE (everything if unattributable)."""
    # `=`: a BASE starting with "-" is the option's value (the plugin then refuses it in
    # one line), not an option of its own that pytest's parser trips over.
    c.run(f"uv run nox -s unit -- --affected-since={_quote(base)}", pty=False)


@task(name="run", help={"command": "the uv command to time, e.g. 'uv sync --locked'"})
def metrics_run(c: Context, command: str) -> None:
    """Run a uv command, time it and record it in .tta/metrics/uv.jsonl."""
    import shlex

    from invoke.exceptions import Exit

    try:
        words = shlex.split(command)
    except ValueError as exc:  # unbalanced quotes: say so, no traceback
        raise Exit(f"metrics.run: --command is not a shell command line ({exc})", code=2) from None
    argv = " ".join(_quote(word) for word in words)
    c.run(f"uv run tta-dev metrics run -- {argv}", pty=False)


@task(
    name="report", help={"fmt": "text, json, markdown or prometheus", "last": "runs per operation"}
)
def metrics_report(c: Context, fmt: str = "text", last: int = 50) -> None:
    """p50, p95, success rate and trend of the recorded uv commands."""
    c.run(f"uv run tta-dev metrics report --format {_quote(fmt)} --last {int(last)}", pty=False)


@task(help={"fmt": "text, json or markdown", "services": "also check REDIS_URL/PROMETHEUS_URL"})
def health(c: Context, fmt: str = "text", services: bool = False) -> None:
    """Is this checkout ready: uv, lock, environment, hooks, drift, prompt files."""
    flags = " --services" if services else ""
    c.run(f"uv run tta-dev health --format {_quote(fmt)}{flags}", pty=False)


@task(help={"output": "folder for index.html", "base": "branch to compare with"})
def dashboard(c: Context, output: str = ".tta/dashboard", base: str = "") -> None:
    """Write the offline HTML dashboard (health, uv trends, graph, affected members)."""
    flags = f" --base {_quote(base)}" if base else ""
    c.run(f"uv run tta-dev dashboard -o {_quote(output)}{flags}", pty=False)


@task(
    name="issue",
    help={
        "title": "the issue title",
        "body": "the issue body (or use body_file)",
        "body_file": "read the body from this file",
        "number": "the issue number",
        "fmt": "text, json or markdown",
        "apply": "write labels, assignees and the comment to GitHub (needs GITHUB_TOKEN)",
    },
)
def routing_issue(
    c: Context,
    title: str = "",
    body: str = "",
    body_file: str = "",
    number: str = "",
    fmt: str = "text",
    apply: bool = False,
) -> None:
    """Route one issue: type, workspace member, owners, priority (dry run unless --apply)."""
    args = [f"--issue-title={title}", f"--format={fmt}"]
    args.append(f"--body-file={body_file}" if body_file else f"--issue-body={body}")
    if number:
        args.append(f"--issue-number={number}")
    if apply:
        args.append("--apply")
    quoted = " ".join(_quote(a) for a in args)
    c.run(f"uv run python scripts/issue_analyzer.py {quoted}", pty=False)


@task(name="quality-gate-fix", help={"skip": "a gate not to run, e.g. typecheck"})
def agentic_quality_gate_fix(c: Context, skip: str = "", report: str = "") -> None:
    """Run the gates, apply the safe automatic fixes, run them again, report what fails."""
    flags = f" --skip {_quote(skip)}" if skip else ""
    flags += f" --report {_quote(report)}" if report else ""
    c.run(f"uv run tta-dev agentic quality-gate-fix{flags}", pty=False)


@task(name="bug-fix", help={"test": "pytest node id, e.g. tests/unit/x/test_y.py::test_z"})
def agentic_bug_fix(c: Context, test: str, report: str = "") -> None:
    """Reproduce a failing test (-x), run its member's tests, report the traceback."""
    flags = f" --report {_quote(report)}" if report else ""
    c.run(f"uv run tta-dev agentic bug-fix --test {_quote(test)}{flags}", pty=False)


@task(name="feature", help={"name": "feature name (branch feature/NAME)", "base": "base branch"})
def agentic_feature(c: Context, name: str, base: str = "main") -> None:
    """Sync, create feature/NAME, check that every changed module has tests."""
    c.run(f"uv run tta-dev agentic feature --name {_quote(name)} --base {_quote(base)}", pty=False)


@task(name="perf", help={"save_baseline": "record this run as the new baseline"})
def agentic_perf(c: Context, save_baseline: bool = False, threshold: float = 0.10) -> None:
    """Run the benchmark and flag regressions against .benchmarks/baseline.json."""
    flags = " --save-baseline" if save_baseline else ""
    c.run(f"uv run tta-dev agentic perf --threshold {threshold}{flags}", pty=False)


@task(name="validate")
def agentic_validate(c: Context) -> None:
    """Check that documented commands run through uv run / uvx / nox and name real sessions."""
    c.run("uv run tta-dev agentic validate", pty=False)


@task(
    name="pr",
    help={
        "base": "git ref to compare from (merge base; default origin/main)",
        "files": "changed files instead of git, newline-separated",
        "number": "pull request number (dry run of its labels, reviewers and comment)",
        "fmt": "text, json or markdown",
        "apply": "write to GitHub (needs GITHUB_TOKEN and GITHUB_REPOSITORY)",
    },
)
def routing_pr(
    c: Context,
    base: str = "origin/main",
    files: str = "",
    number: int = 0,
    fmt: str = "text",
    apply: bool = False,
) -> None:
    """Analyse a pull request: affected members, labels, reviewers, sessions, lock diff."""
    source = f"--files={_quote(files)}" if files else f"--base={_quote(base)}"
    flags = f" --pr-number={number}" if number else ""
    flags += " --apply" if apply else ""
    c.run(
        f"uv run --extra automation python scripts/analyze_pr.py {source}"
        f" --format={_quote(fmt)}{flags}",
        pty=False,
    )


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


nox_ns = Collection("nox", session, list_sessions)
devtools_ns = Collection("devtools", drift, lock)
workspace_ns = Collection(
    "workspace",
    workspace_members,
    workspace_graph,
    workspace_affected,
    workspace_lock_diff,
    workspace_test_affected,
)

metrics_ns = Collection("metrics", metrics_run, metrics_report)
agentic_ns = Collection(
    "agentic",
    agentic_quality_gate_fix,
    agentic_bug_fix,
    agentic_feature,
    agentic_perf,
    agentic_validate,
)

ns = Collection(check, ci, health, dashboard)
ns.add_collection(metrics_ns)
ns.add_collection(nox_ns)
ns.add_collection(devtools_ns)
ns.add_collection(workspace_ns)
ns.add_collection(Collection("routing", routing_issue, routing_pr))
ns.add_collection(agentic_ns)
