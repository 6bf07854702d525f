"""``tta-dev workspace affected`` against ``turbo ls --affected`` on real uv workspaces.

    npm install --prefix /tmp/turbo turbo@2.11.11            # once
    git clone <a uv workspace> /tmp/ws                        # e.g. livekit/agents
    uv run python benchmarks/turbo_affected.py --prepare --turbo /tmp/turbo /tmp/ws ...

Each WORKSPACE is a git clone of a uv workspace whose last commit bumps one package in
``uv.lock``. ``--prepare`` makes those commits in the clone (a ``turbo.json`` with
Turborepo's experimental Python workspaces and a ``[tool.turbo] name``, then a version
bump of one locked registry package, wheel and sdist file names included, so uv still
reads the lock). Then, in each workspace, it runs in turn, ``--runs`` times:

- ``tta-dev workspace affected --base HEAD~1 --format json``
- ``turbo ls --affected --output json`` through the npm launcher (``node_modules/.bin``)
- the same with turbo's native binary (``node_modules/@turbo/<platform>/bin/turbo``)

(``TURBO_SCM_BASE=HEAD~1``, telemetry off) and prints a Markdown table of medians, the
ratios and how many members each reports. Without turbo (``--turbo`` or ``$TURBO_DIR``,
the folder ``npm install`` ran in) only tta-dev is timed; without a usable workspace
nothing is. Python may write bytecode (as an installed tta-dev does after its first run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from _table import markdown_table

TURBO_JSON = {"futureFlags": {"experimentalPythonWorkspaces": True}, "tasks": {"test": {}}}
GIT_AS = ["-c", "user.name=benchmark", "-c", "user.email=benchmark@localhost"]


def _git(folder: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(folder), *GIT_AS, *args], capture_output=True, text=True, check=True
    )
    return done.stdout


def _bump_one_package(lock: str) -> tuple[str, str, str, str]:
    """``lock`` with one registry package's version (and its file names) raised."""
    tables = lock.split("\n[[package]]\n")
    for index, table in enumerate(tables[1:], start=1):
        name = re.match(r'name = "([^"]+)"\nversion = "([0-9][0-9.]*)"\n', table)
        if name is None or 'source = { registry = "' not in table or "wheels = [" not in table:
            continue
        package, old = name.groups()
        parts = old.split(".")
        new = ".".join([*parts[:-1], str(int(parts[-1]) + 1)])
        bumped = table.replace(f'version = "{old}"', f'version = "{new}"', 1)
        for stem in {package, package.replace("-", "_")}:
            bumped = bumped.replace(f"{stem}-{old}", f"{stem}-{new}")
        tables[index] = bumped
        return "\n[[package]]\n".join(tables), package, old, new
    raise SystemExit("no registry package with wheels in uv.lock to bump")


def prepare(folder: Path) -> str:
    """Commit turbo's configuration, then a one-package bump in ``uv.lock``."""
    pyproject = folder / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    if "[tool.turbo]" not in text:
        pyproject.write_text(text + f'\n[tool.turbo]\nname = "{folder.name}"\n', encoding="utf-8")
    (folder / "turbo.json").write_text(json.dumps(TURBO_JSON, indent=2) + "\n", encoding="utf-8")
    _git(folder, "add", "turbo.json", "pyproject.toml")
    if _git(folder, "status", "--porcelain", "--", "turbo.json", "pyproject.toml").strip():
        _git(folder, "commit", "-q", "-m", "benchmark: turbo.json and [tool.turbo] name")
    lock = folder / "uv.lock"
    text, package, old, new = _bump_one_package(lock.read_text(encoding="utf-8"))
    lock.write_text(text, encoding="utf-8")
    _git(folder, "commit", "-q", "-am", f"benchmark: bump {package} {old} -> {new} in uv.lock")
    return f"{package} {old} -> {new}"


def _turbo_commands(turbo_dir: Path | None) -> dict[str, list[str]]:
    if turbo_dir is None:
        return {}
    found: dict[str, list[str]] = {}
    launcher = turbo_dir / "node_modules" / ".bin" / "turbo"
    if launcher.is_file():
        found["turbo (npm launcher)"] = [str(launcher)]
    for native in sorted((turbo_dir / "node_modules" / "@turbo").glob("*/bin/turbo")):
        found["turbo native binary"] = [str(native)]
        break
    return found


def _tta_dev() -> list[str]:
    script = Path(sys.executable).parent / "tta-dev"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "tta_dev.cli"]


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _run(argv: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Wall time, CPU time (the command and what it waited for) and standard output."""
    cpu, start = _cpu(), time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed, cpu = time.perf_counter() - start, _cpu() - cpu
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"{' '.join(argv)} failed in {cwd}: {first}")
    return elapsed, cpu, done.stdout


def _count(label: str, output: str) -> int:
    data = json.loads(output)
    return len(data["affected"]) if label == "tta-dev" else int(data["packages"]["count"])


def measure(folder: Path, commands: dict[str, list[str]], runs: int) -> dict[str, list[str]]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env |= {"TURBO_SCM_BASE": "HEAD~1", "TURBO_SCM_HEAD": "HEAD"}
    env |= {"TURBO_TELEMETRY_DISABLED": "1", "DO_NOT_TRACK": "1"}
    walls: dict[str, list[float]] = {label: [] for label in commands}
    cpus: dict[str, list[float]] = {label: [] for label in commands}
    counts: dict[str, int] = {}
    for label, argv in commands.items():  # warm-up: caches, bytecode, turbo's daemon-less run
        for _ in range(2):
            counts[label] = _count(label, _run(argv, folder, env)[2])
    for _ in range(runs):  # interleaved, so a busy moment costs every command alike
        for label, argv in commands.items():
            wall, cpu, _ = _run(argv, folder, env)
            walls[label].append(wall)
            cpus[label].append(cpu)
    mine = statistics.median(walls["tta-dev"])
    mine_cpu = statistics.median(cpus["tta-dev"])
    rows: dict[str, list[str]] = {}
    for label, times in walls.items():
        median, cpu = statistics.median(times), statistics.median(cpus[label])
        rows[label] = [
            f"{median:.3f}",
            f"{median / mine:.2f}x",
            f"{cpu:.3f}",
            f"{cpu / mine_cpu:.2f}x",
            str(counts[label]),
        ]
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("workspaces", nargs="*", type=Path, metavar="WORKSPACE")
    parser.add_argument("--prepare", action="store_true", help="commit turbo.json and a bump")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--turbo",
        type=Path,
        default=Path(os.environ["TURBO_DIR"]) if os.environ.get("TURBO_DIR") else None,
        help="folder where `npm install turbo@2.11.11` ran (default: $TURBO_DIR)",
    )
    args = parser.parse_args()
    usable = [w for w in args.workspaces if (w / "uv.lock").is_file() and (w / ".git").exists()]
    if not usable:
        print("skipped: give git clones of uv workspaces (with uv.lock) as WORKSPACE arguments")
        return 0
    if shutil.which("git") is None:
        print("skipped: git is not installed")
        return 0
    commands = {"tta-dev": [*_tta_dev(), "workspace", "affected", "--base", "HEAD~1"]}
    commands["tta-dev"] += ["--format", "json"]
    turbo = _turbo_commands(args.turbo)
    if not turbo:
        print("turbo skipped: run `npm install turbo@2.11.11` in a folder and pass it as --turbo")
    for label, argv in turbo.items():
        commands[label] = [*argv, "ls", "--affected", "--output", "json"]
    rows: list[list[str]] = []
    for folder in usable:
        change = prepare(folder) if args.prepare else _git(folder, "log", "-1", "--format=%s")
        listing = [*_tta_dev(), "workspace", "members", "--format", "json"]
        members = len(json.loads(_run(listing, folder, dict(os.environ))[2]))
        size = (folder / "uv.lock").stat().st_size // 1024
        print(f"{folder.name}: {members} members, uv.lock {size} KB, HEAD: {change.strip()}")
        for label, cells in measure(folder, commands, args.runs).items():
            rows.append([folder.name, label, *cells])
    print(
        f"{platform.node()} ({os.cpu_count()} CPUs), Python {platform.python_version()},"
        f" {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, medians of {args.runs} runs"
    )
    header = ["workspace", "command", "wall s", "÷ tta-dev", "CPU s", "÷ tta-dev", "affected"]
    print(markdown_table(header, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
