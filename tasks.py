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
    c.run(f"uv run nox -s {_quote(name)}", pty=False)


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


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


nox_ns = Collection("nox", session, list_sessions)
devtools_ns = Collection("devtools", drift, lock)

ns = Collection(check, ci)
ns.add_collection(nox_ns)
ns.add_collection(devtools_ns)
