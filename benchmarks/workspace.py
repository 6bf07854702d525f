"""Workspace benchmarks: load + graph + affected, and lock diff, on generated workspaces.

    uv run python benchmarks/workspace.py                 # 10, 100 and 1,000 members
    uv run python benchmarks/workspace.py --sizes 100 --runs 21

Each workspace has N members in ``packages/`` (each depends on up to two earlier members,
three third-party packages, has one extra and a ``test`` group) and a ``uv.lock`` of
matching size (N members + 2N third-party packages with their own dependencies). The
change: one file in a middle member plus one widely used third-party package bumped in
the lock, so affected detection is lock-aware. Prints one table of medians (ms) and the
growth ratio between sizes (10x more members: linear growth is 10).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from tta_dev.workspace import (  # noqa: E402
    LockChange,
    affected_members,
    build_graph,
    diff_locks,
    load_workspace,
    parse_lock,
)

TARGET_MS_100 = 100.0


def _dep(name: str) -> str:
    return f'{{ name = "{name}" }}'


def _array(key: str, names: list[str]) -> list[str]:
    """A multi-line array of dependencies, as uv writes it."""
    return [f"{key} = [", *(f"    {_dep(n)}," for n in names), "]"]


def generate(root: Path, members: int, *, bumped: bool = False) -> tuple[str, str]:
    """Write the workspace; return (lock text, a changed file). ``bumped``: the other lock."""
    rng = random.Random(members)
    third = [f"lib{i:05d}" for i in range(2 * members)]
    third_deps = {
        name: sorted({third[j] for j in rng.sample(range(i), min(i, rng.randint(0, 2)))})
        for i, name in enumerate(third)
    }
    popular = third[len(third) // 10]
    names = [f"member{i:04d}" for i in range(members)]
    member_deps: dict[str, list[str]] = {}
    (root / "pyproject.toml").write_text(
        '[tool.uv.workspace]\nmembers = ["packages/*"]\n', encoding="utf-8"
    )
    for i, name in enumerate(names):
        earlier = sorted({names[j] for j in rng.sample(range(i), min(i, 2))})
        libs = sorted({rng.choice(third) for _ in range(3)} | ({popular} if i % 10 == 0 else set()))
        member_deps[name] = earlier + libs
        folder = root / "packages" / name
        folder.mkdir(parents=True, exist_ok=True)
        deps = ", ".join(f'"{d}"' for d in member_deps[name])
        sources = "".join(f"{d} = {{ workspace = true }}\n" for d in earlier)
        extra = rng.choice(third)
        (folder / "pyproject.toml").write_text(
            f'[project]\nname = "{name}"\nversion = "0.1.0"\ndependencies = [{deps}]\n'
            f'[project.optional-dependencies]\nextra = ["{extra}"]\n'
            f'[dependency-groups]\ntest = ["{third[0]}"]\n'
            f"[tool.uv.sources]\n{sources}",
            encoding="utf-8",
        )
    lines = ["version = 1", "revision = 3", 'requires-python = ">=3.11"', "", "[manifest]"]
    lines.append("members = [" + ", ".join(f'"{n}"' for n in names) + "]")
    for name in names:
        text = (root / "packages" / name / "pyproject.toml").read_text(encoding="utf-8")
        extra = text.split('extra = ["')[1].split('"')[0]
        lines += ["", "[[package]]", f'name = "{name}"', 'version = "0.1.0"']
        lines.append(f'source = {{ editable = "packages/{name}" }}')
        lines += _array("dependencies", member_deps[name])
        lines += ["", "[package.optional-dependencies]", *_array("extra", [extra])]
        lines += ["", "[package.dev-dependencies]", *_array("test", [third[0]])]
    for name in third:
        version = "2.0" if bumped and name == popular else "1.0"
        lines += ["", "[[package]]", f'name = "{name}"', f'version = "{version}"']
        lines.append('source = { registry = "https://pypi.org/simple" }')
        if third_deps[name]:
            lines += _array("dependencies", third_deps[name])
        url = f"https://files.example/{name}-{version}"
        lines.append(f'sdist = {{ url = "{url}.tar.gz", hash = "sha256:{"0" * 64}", size = 1000 }}')
        lines += [
            "wheels = [",
            f'    {{ url = "{url}-py3-none-any.whl", hash = "sha256:{"1" * 64}", size = 900 }},',
            "]",
        ]
    lock = "\n".join(lines) + "\n"
    (root / "uv.lock").write_text(lock, encoding="utf-8")
    changed = f"packages/{names[members // 2]}/src/module.py"
    return lock, changed


def _cold_caches() -> None:
    """Forget the per-process caches, so every run costs what one CLI call costs."""
    from tta_dev.workspace import _globs, _lock, _model

    for cache in (
        _lock._name,
        _lock._source,
        _lock._plain_dependency,
        _model._requirement_parts,
        _globs._compile,
    ):
        cache.cache_clear()


def _median_ms(fn: Callable[[], object], runs: int) -> float:
    samples: list[float] = []
    for _ in range(runs):
        _cold_caches()
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def measure(members: int, runs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ws = root / "ws"
        (root / "old").mkdir()
        ws.mkdir()
        old_lock, _ = generate(root / "old", members)
        new_lock, changed = generate(ws, members, bumped=True)

        def load_graph_affected() -> object:
            workspace = load_workspace(ws)
            graph = build_graph(workspace)
            # As affected_since reads them: the head's lock, then the base's against it.
            new = parse_lock(new_lock)
            change = LockChange(parse_lock(old_lock, reuse=(new_lock, new)), new)
            result = affected_members(graph, [changed, "uv.lock"], lock_change=change)
            assert result.affected
            assert not result.all
            return result

        def files_only() -> object:
            workspace = load_workspace(ws)
            return affected_members(build_graph(workspace), [changed])

        def lock_diff() -> object:
            new = parse_lock(new_lock)
            diff = diff_locks(parse_lock(old_lock, reuse=(new_lock, new)), new)
            assert len(diff.upgraded) == 1
            return diff

        def lock_diff_only() -> object:
            return diff_locks(old, new)

        old, new = parse_lock(old_lock), parse_lock(new_lock)
        return {
            "load + graph + affected (lock-aware)": _median_ms(load_graph_affected, runs),
            "load + graph + affected (files only)": _median_ms(files_only, runs),
            "parse 2 locks + lock diff (with members)": _median_ms(lock_diff, runs),
            "lock diff only (parsed)": _median_ms(lock_diff_only, runs),
            "parse one uv.lock": _median_ms(lambda: parse_lock(new_lock), runs),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    results = {size: measure(size, args.runs) for size in args.sizes}
    tasks = list(next(iter(results.values())))
    header = ["task", *(f"{s} members (ms)" for s in args.sizes)]
    header += [
        f"x{b // a} members: ratio" for a, b in zip(args.sizes, args.sizes[1:], strict=False)
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for task in tasks:
        cells = [task, *(f"{results[s][task]:.1f}" for s in args.sizes)]
        cells += [
            f"{results[b][task] / results[a][task]:.1f}"
            for a, b in zip(args.sizes, args.sizes[1:], strict=False)
        ]
        print("| " + " | ".join(cells) + " |")
    if 100 in results:
        total = results[100]["load + graph + affected (lock-aware)"]
        verdict = "met" if total <= TARGET_MS_100 else "NOT met"
        print(f"\ntarget: <= {TARGET_MS_100:.0f} ms for 100 members: {total:.1f} ms ({verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
