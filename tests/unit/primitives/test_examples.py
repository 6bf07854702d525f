from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_cache_router_llm_example_runs_offline(project_root: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(project_root / "examples" / "cache_router_llm.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    lines = result.stdout.splitlines()
    assert lines[0].split()[0] == "gpt-4.1-nano"  # the cheapest model for a simple question
    assert lines[2].split()[0] == "gpt-4.1"  # a proof needs the strongest tier
    assert lines[3].split()[:2] == ["cache", "$0.000000"]  # the repeat is served by the cache
    assert "routes chosen: ['gpt-4.1-nano', 'gpt-4o-mini', 'gpt-4.1']" in result.stdout
    assert "hits=1, misses=3" in result.stdout
