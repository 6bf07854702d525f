"""The few git questions affected-member detection asks, answered by the ``git`` command.

Paths come back NUL-separated (``-z``), so quotes, newlines and non-ASCII names survive.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

from tta_dev._safeio import DEFAULT_LIMIT, InputError, decode, quote
from tta_dev.workspace._errors import WorkspaceError

TIMEOUT_S = 120


class _GitMissing(WorkspaceError):
    """There is no ``git`` command."""


def _git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    try:
        result = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, check=False, timeout=TIMEOUT_S
        )
    except FileNotFoundError as exc:
        raise _GitMissing("git is not installed: install it or pass --files") from exc
    except subprocess.TimeoutExpired as exc:
        raise WorkspaceError(
            f"git {args[0]} timed out after {TIMEOUT_S} s in {repo}: check the repository"
            " (a lock held, a slow file system) or pass --files"
        ) from exc
    if check and result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        first = message[0] if message else f"exit code {result.returncode}"
        raise WorkspaceError(f"git {args[0]} failed: {first}")
    return result


def check_ref(ref: str) -> str:
    """Reject text that git would read as an option or that cannot be a revision."""
    if not ref or ref.startswith("-") or any(c in ref for c in "\0\n\r"):
        raise WorkspaceError(f"{quote(ref)} is not a git revision: pass a branch, tag or commit")
    return ref


def repository_root(path: Path) -> Path | None:
    """The top folder of the git work tree holding ``path``, or ``None`` outside one."""
    try:
        result = _git(path, "rev-parse", "--show-toplevel", check=False)
    except _GitMissing:
        return None
    if result.returncode != 0:
        return None
    return Path(result.stdout.decode("utf-8", "surrogateescape").strip()).resolve()


def resolve_commit(repo: Path, ref: str) -> str | None:
    """The commit ``ref`` names, or ``None`` when this clone does not have it."""
    check_ref(ref)
    spec = f"{ref}^{{commit}}"
    result = _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", spec, check=False)
    return result.stdout.decode().strip() if result.returncode == 0 else None


def is_shallow(repo: Path) -> bool:
    """Whether this clone has truncated history (``actions/checkout``'s default)."""
    result = _git(repo, "rev-parse", "--is-shallow-repository", check=False)
    return result.stdout.decode().strip() == "true"


def merge_base(repo: Path, base: str, head: str) -> str | None:
    """The best common ancestor of two commits, or ``None`` when history does not show one."""
    result = _git(repo, "merge-base", base, head, check=False)
    return result.stdout.decode().strip() if result.returncode == 0 else None


def changed_files(repo: Path, base: str, head: str | None) -> tuple[str, ...]:
    """Repository-relative paths changed from commit ``base`` to ``head``.

    With ``head`` ``None``: to the work tree, untracked (not ignored) files included.
    Renames count as a deletion and an addition, so both paths are reported.
    """
    args = ["diff", "--name-only", "--no-renames", "-z", base]
    if head is not None:
        args.append(head)
    args.append("--")
    paths = _split(_git(repo, *args).stdout)
    if head is None:
        untracked = _git(repo, "ls-files", "-z", "--others", "--exclude-standard")
        paths |= _split(untracked.stdout)
    return tuple(sorted(paths))


def file_at(repo: Path, commit: str, path: str, limit: int = DEFAULT_LIMIT) -> str | None:
    """The text of repository-relative ``path`` at ``commit``; ``None`` if it is absent.

    At most ``limit`` bytes (the blob's size is asked first) of strict UTF-8, as a file
    in the work tree is read (``tta_dev._safeio``).
    """
    spec = f"{commit}:{path}"
    size = _git(repo, "cat-file", "-s", spec, check=False)
    if size.returncode != 0:
        return None
    label = f"{path} at {commit[:12]}"
    if int(size.stdout.decode().strip() or 0) > limit:
        raise WorkspaceError(f"{label} is larger than {limit:,} bytes: is it the right file?")
    result = _git(repo, "cat-file", "blob", spec, check=False)
    if result.returncode != 0:
        return None
    try:
        return decode(result.stdout, label)
    except InputError as exc:
        raise WorkspaceError(str(exc)) from exc


def run(repo: Path, *args: str) -> bytes:
    """The output of ``git args`` (a ``WorkspaceError`` when it fails)."""
    return _git(repo, *args).stdout


def files_at(repo: Path, commit: str, spec: str) -> Iterator[tuple[str, str]]:
    """``(repository-relative path, blob id)`` of each regular file under ``spec`` at
    ``commit`` (symbolic links and submodules left out)."""
    listing = run(repo, "ls-tree", "-r", "-z", "--full-tree", commit, "--", spec)
    for entry in listing.split(b"\0"):
        meta, _, raw = entry.partition(b"\t")
        if not raw:
            continue
        mode, kind, blob = meta.decode("ascii", "replace").split(" ")
        if kind == "blob" and mode != "120000":
            yield raw.decode("utf-8", "surrogateescape"), blob


def run_optional(repo: Path, *args: str) -> str:
    """The output of ``git args`` as text, empty when git says no (exit code not 0)."""
    result = _git(repo, *args, check=False)
    return result.stdout.decode("utf-8", "replace") if result.returncode == 0 else ""


def _split(output: bytes) -> set[str]:
    return {p.decode("utf-8", "surrogateescape") for p in output.split(b"\0") if p}
