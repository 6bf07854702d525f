"""The fixture library as users see it: a fresh project whose tests only install tta-dev.

Each test writes a small uv workspace into pytester's folder (real ``uv lock``; no
dependencies, so it locks offline) and runs pytest there with the plugin from its
``pytest11`` entry point and nothing else: no conftest.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from tta_dev.testing import _support
from tta_dev.testing._support import unavailable


@pytest.fixture(autouse=True)
def _needs_uv() -> None:
    if shutil.which("uv") is None:
        unavailable("needs uv: pip install uv")


def _workspace(root: Path) -> None:
    (root / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [project]
            name = "demo"
            version = "0.1.0"
            requires-python = ">=3.11"
            dependencies = []

            [tool.uv.workspace]
            members = ["packages/*"]

            [tool.pytest.ini_options]
            asyncio_mode = "auto"
            asyncio_default_fixture_loop_scope = "function"
            """
        ),
        encoding="utf-8",
    )
    for name in ("alpha", "beta"):
        member = root / "packages" / name
        member.mkdir(parents=True)
        (member / "pyproject.toml").write_text(
            f'[project]\nname = "{name}"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n',
            encoding="utf-8",
        )
    subprocess.run(["uv", "lock", "--quiet"], cwd=root, check=True, timeout=120)


@pytest.fixture
def demo(pytester: pytest.Pytester) -> pytest.Pytester:
    _workspace(pytester.path)
    return pytester


def test_a_fresh_project_gets_the_workspace_and_primitive_fixtures(demo: pytest.Pytester) -> None:
    demo.makepyfile(
        test_fixtures="""
        import sys
        from pathlib import Path

        def test_workspace(uv_workspace_root, uv_venv_path, workspace_packages, uv_lock):
            assert uv_workspace_root == Path.cwd()
            assert uv_venv_path == Path(sys.prefix)
            assert sorted(m.name for m in workspace_packages) == ["alpha", "beta", "demo"]
            assert {p.name for p in uv_lock.packages} == {"alpha", "beta", "demo"}

        def test_installed(installed_packages):
            assert "pytest" in installed_packages
            assert installed_packages["tta-dev"]

        def test_synced(ensure_workspace_synced):
            assert ensure_workspace_synced.ok

        async def test_primitives(workflow_context, mock_primitive):
            mock = mock_primitive("llm", return_value="hi")
            assert await mock.execute("q", workflow_context) == "hi"
            assert mock.call_count == 1
        """
    )
    result = demo.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_ensure_workspace_synced_fails_on_a_stale_lock_and_never_rewrites_it(
    demo: pytest.Pytester,
) -> None:
    member = demo.path / "packages" / "beta" / "pyproject.toml"
    member.write_text(member.read_text().replace('"0.1.0"', '"0.2.0"'), encoding="utf-8")
    lock_before = (demo.path / "uv.lock").read_bytes()
    demo.makepyfile(test_sync="def test_synced(ensure_workspace_synced):\n    pass\n")
    result = demo.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*not in sync with uv.lock*run `uv lock && uv sync --locked`*"])
    assert (demo.path / "uv.lock").read_bytes() == lock_before


@pytest.mark.parametrize(("ci", "outcome"), [("", "skipped"), ("true", "errors")])
def test_a_missing_service_skips_locally_and_errors_in_ci(
    demo: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str, outcome: str
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no redis-server, prometheus, docker, apt-get
    monkeypatch.setenv("TTA_NO_PROVISION", "1")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("PROMETHEUS_URL", raising=False)
    monkeypatch.setenv("CI", ci)
    demo.makepyfile(
        test_services="""
        def test_redis(redis_url):
            pass

        def test_prometheus(prometheus_url):
            pass
        """
    )
    result = demo.runpytest("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(**{outcome: 2})
    if ci:
        result.stdout.fnmatch_lines(["*redis is not available*CI is set*"])
    else:
        result.stdout.fnmatch_lines(["*SKIPPED*redis is not available*uv run nox -s integration*"])


def test_markers_are_registered_and_integration_folders_are_marked(demo: pytest.Pytester) -> None:
    demo.mkdir("integration")
    (demo.path / "integration" / "test_i.py").write_text("def test_i():\n    pass\n")
    demo.makepyfile(
        test_u="""
        import pytest

        @pytest.mark.unit
        def test_u():
            pass

        @pytest.mark.slow
        def test_s():
            pass
        """
    )
    result = demo.runpytest("-p", "no:cacheprovider", "--strict-markers", "-m", "integration")
    result.assert_outcomes(passed=1, deselected=2)
    result = demo.runpytest("-p", "no:cacheprovider", "--strict-markers", "-m", "not integration")
    result.assert_outcomes(passed=2, deselected=1)


def test_feature_branch_is_removed_after_a_failing_test(demo: pytest.Pytester) -> None:
    record = demo.path / "record.json"
    demo.makepyfile(
        test_branch=f"""
        import json, subprocess

        def test_fails_on_a_branch(agentic_workspace, feature_branch):
            head = subprocess.run(
                ["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=agentic_workspace.root,
                capture_output=True, text=True, check=True,
            ).stdout.strip()
            with open({str(record)!r}, "w") as f:
                json.dump({{"root": str(agentic_workspace.root), "branch": feature_branch,
                           "head": head, "venv": agentic_workspace.python.is_file()}}, f)
            assert False, "the test fails on purpose"
        """
    )
    result = demo.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    seen = json.loads(record.read_text())
    assert seen["head"] == seen["branch"]
    assert seen["branch"].startswith("tta-test/")
    assert seen["venv"], "the copy was synced into its own .venv"
    copy = Path(seen["root"])
    assert copy != demo.path
    branches = _support.git(copy, "branch", "--list", "--format=%(refname:short)")
    assert branches.split() == ["main"]
    assert _support.git(copy, "rev-parse", "--abbrev-ref", "HEAD") == "main"


def test_redis_key_prefix_has_no_glob_characters() -> None:
    prefix = _support.redis_key_prefix("gw[1]", "tests/test_x.py::test_a[p*?]")
    assert not set("*?[]\\") & set(prefix)
    assert prefix.startswith("tta-test:gw_1_:test_a_p_")
    assert prefix != _support.redis_key_prefix("gw[1]", "tests/test_x.py::test_a[p*?]")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", False), ("0", False), ("false", False), ("true", True), ("1", True)],
)
def test_in_ci(value: str, expected: bool) -> None:
    assert _support.in_ci({"CI": value}) is expected
