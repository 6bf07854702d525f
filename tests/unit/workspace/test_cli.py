from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.workspace.builders import (
    Repo,
    lock_toml,
    project_toml,
    virtual_root_toml,
    write,
)
from tests.unit.workspace.conftest import make_sample, sample_lock_packages
from tta_dev.cli import main

MEMBERS = ["my-app", "core", "plugin", "helper"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    assert err.startswith("tta-dev: error: ")
    assert err.count("\n") == 1, err
    return err


def test_members_json_shape(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "workspace", "members", "--root", str(sample / "packages/app"), "--format", "json"
    )
    assert code == 0
    assert json.loads(out) == [
        {"name": "core", "path": "packages/core"},
        {"name": "helper", "path": "libs/nested/helper"},
        {"name": "my-app", "path": "packages/app"},
        {"name": "plugin", "path": "packages/plugin-folder"},
    ]


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "mermaid", "dot"])
def test_graph_every_format(sample: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    code, out, _ = run(capsys, "workspace", "graph", "--root", str(sample), "--format", fmt)
    assert code == 0
    assert "my-app" in out


def test_affected_files_json_shape(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "workspace", "affected", "--root", str(sample), "--files",
        "packages/core/x.py\ndocs/a.md\n", "libs/nested/helper/y.py", "--format", "json",
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert data["all"] is False
    assert [(m["name"], m["path"]) for m in data["affected"]] == [
        ("core", "packages/core"),
        ("helper", "libs/nested/helper"),
        ("my-app", "packages/app"),
    ]
    assert data["affected"][0]["reasons"][0]["text"] == "changed file packages/core/x.py"
    assert data["ignored"] == ["docs/a.md"]


def test_affected_matrix_and_runtime_only(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "workspace", "affected", "--root", str(sample), "--files",
        "libs/nested/helper/y.py", "--runtime-only", "--format", "matrix",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out) == {
        "include": [{"member": "helper", "path": "libs/nested/helper", "unclaimed": True}]
    }


def test_affected_files_with_old_lock(
    sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = write(
        tmp_path / "old.lock", lock_toml(sample_lock_packages(requests="1.0"), members=MEMBERS)
    )
    code, out, _ = run(
        capsys,
        "workspace",
        "affected",
        "--root",
        str(sample),
        "--files",
        "uv.lock",
        "--old-lock",
        str(old),
    )
    assert code == 0
    assert out.splitlines() == ["my-app (packages/app)", "  lock change in requests: 1.0 → 2.0"]
    code, out, _ = run(
        capsys,
        "workspace",
        "affected",
        "--root",
        str(sample),
        "--files",
        "uv.lock",
        "--format",
        "markdown",
    )
    assert code == 0
    assert "pass --old-lock FILE or use --base" in out


def test_affected_with_git(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = Repo(tmp_path / "repo")
    make_sample(repo.path)
    repo.commit("one")
    repo.git("checkout", "-q", "-b", "f")
    make_sample(repo.path, requests="2.1")
    repo.commit("two")
    code, out, _ = run(
        capsys,
        "workspace",
        "affected",
        "--root",
        str(repo.path),
        "--base",
        "main",
        "--head",
        "f",
        "--format",
        "json",
    )
    assert code == 0
    assert [m["name"] for m in json.loads(out)["affected"]] == ["my-app"]
    code, out, _ = run(
        capsys, "workspace", "lock-diff", "main", "f", "--root", str(repo.path), "--format", "json"
    )
    assert code == 0
    assert json.loads(out)["upgraded"] == [
        {"name": "requests", "old": "2.0", "new": "2.1", "members": ["my-app"]}
    ]
    code, out, _ = run(
        capsys,
        "workspace",
        "lock-diff",
        "main",
        str(repo.path),
        "--root",
        str(repo.path),
        "--no-members",
    )
    assert out.strip() == "upgraded   requests 2.0 → 2.1"
    (repo.path / "uv.lock").unlink()
    repo.commit("no lock")
    code, _, err = run(capsys, "workspace", "lock-diff", "main", "HEAD", "--root", str(repo.path))
    assert code == 2
    assert "uv.lock does not exist at 'HEAD'" in one_line_error(err)


def test_lock_diff_files(sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = write(
        tmp_path / "new.lock", lock_toml(sample_lock_packages(requests="3.0"), members=MEMBERS)
    )
    code, out, _ = run(
        capsys, "workspace", "lock-diff", str(sample / "uv.lock"), str(new), "--format", "markdown"
    )
    assert code == 0
    assert "| upgraded | requests | 2.0 → 3.0 | my-app |" in out


# -- bad input: exit 2, one line ------------------------------------------------------


def test_malformed_toml(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(sample / "packages/core/pyproject.toml", "[project\nname = 'core'\n")
    code, _, err = run(capsys, "workspace", "members", "--root", str(sample))
    assert code == 2
    assert "packages/core/pyproject.toml: invalid TOML" in one_line_error(err)


def test_missing_lock(sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (sample / "uv.lock").unlink()
    code, _, err = run(
        capsys,
        "workspace",
        "lock-diff",
        str(tmp_path / "nope.lock"),
        str(sample),
        "--root",
        str(sample),
    )
    assert code == 2
    assert "is neither a uv.lock file nor a git revision" in one_line_error(err)
    code, _, err = run(
        capsys, "workspace", "lock-diff", str(sample), str(sample), "--root", str(sample)
    )
    assert code == 2
    assert "uv.lock not found: run `uv lock`" in one_line_error(err)
    code, _, err = run(
        capsys,
        "workspace",
        "affected",
        "--root",
        str(sample),
        "--files",
        "uv.lock",
        "--old-lock",
        str(tmp_path / "x.lock"),
    )
    assert code == 2
    assert "x.lock not found" in one_line_error(err)


def test_lock_version_2(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(sample / "uv.lock", "version = 2\nrevision = 1\n")
    code, _, err = run(
        capsys, "workspace", "lock-diff", str(sample / "uv.lock"), str(sample / "uv.lock")
    )
    assert code == 2
    assert "lock version 2 is not supported" in one_line_error(err)


def test_member_glob_matching_folder_without_pyproject(
    sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(sample / "packages/stray/module.py", "")
    code, _, err = run(capsys, "workspace", "graph", "--root", str(sample))
    assert code == 2
    assert "packages/stray (matched by `packages/*`) has no pyproject.toml" in one_line_error(err)


def test_member_pattern_leaving_the_root(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(sample / "pyproject.toml", virtual_root_toml(["packages/*/../../../outside"]))
    write(sample.parent / "outside/pyproject.toml", project_toml("outside"))
    code, out, err = run(capsys, "workspace", "members", "--root", str(sample))
    assert code == 2
    assert out == ""
    assert "leaves the workspace root" in one_line_error(err)


@pytest.mark.parametrize(
    ("root_toml", "command"),
    [
        (
            virtual_root_toml(["packages/*", "libs/nested/*"])
            + '[tool.tta-dev.affected]\nall = ["[z-a]"]\n',
            ["affected", "--files", "foo"],
        ),
        (virtual_root_toml(["packages/*"], exclude=["p/[z-a]"]), ["members"]),
        (virtual_root_toml(["packages/[z-a]"]), ["members"]),
    ],
)
def test_invalid_glob(
    sample: Path, capsys: pytest.CaptureFixture[str], root_toml: str, command: list[str]
) -> None:
    write(sample / "pyproject.toml", root_toml)
    for root in (sample, sample / "packages/core"):  # found from a member too
        code, _, err = run(capsys, "workspace", *command, "--root", str(root))
        assert code == 2
        assert "invalid glob '" in one_line_error(err)


def test_files_are_split_on_newlines_only(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """U+2028, NEL and form feed can be in a file name; CRLF-separated lists work too."""
    names = ["packages/core/a\u2028b.py", "packages/core/c\x85d.py", "packages/core/e\x0cf.py"]
    code, out, _ = run(
        capsys, "workspace", "affected", "--root", str(sample), "--files",
        "\r\n".join(names) + "\r\n", "--format", "json",
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert data["all"] is False
    assert data["changed_files"] == sorted(names)
    assert [m["name"] for m in data["affected"]] == ["core", "helper", "my-app"]


def test_git_timeout_is_one_line(
    sample: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    Repo(sample).commit("init")

    def hang(args: list[str], **kwargs: object) -> object:
        raise subprocess.TimeoutExpired(args, 120)

    monkeypatch.setattr(subprocess, "run", hang)
    code, _, err = run(capsys, "workspace", "affected", "--root", str(sample), "--base", "HEAD")
    assert code == 2
    assert "git rev-parse timed out after 120 s" in one_line_error(err)


def test_path_outside_the_repository(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "workspace", "affected", "--root", str(sample), "--files", "../../etc/passwd"
    )
    assert code == 2
    assert "is outside the repository" in one_line_error(err)


@pytest.mark.parametrize(
    "args",
    [
        ["--base", "main", "--old-lock", "x"],
        ["--files", "a", "--head", "main"],
        ["--base", "main"],  # not a git repository
    ],
)
def test_affected_option_mistakes(
    sample: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, _, err = run(capsys, "workspace", "affected", "--root", str(sample), *args)
    assert code == 2
    one_line_error(err)


def test_hostile_text_in_files_and_refs(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hostile = "packages/core/q\"uote's $(touch pwned) dé.py"
    code, out, _ = run(
        capsys,
        "workspace",
        "affected",
        "--root",
        str(sample),
        "--files",
        hostile,
        "--format",
        "json",
    )
    assert code == 0
    assert json.loads(out)["affected"][0]["reasons"][0]["subject"] == hostile
    assert not (sample / "pwned").exists()
    repo = Repo(sample)
    repo.commit("init")
    code, _, err = run(
        capsys, "workspace", "affected", "--root", str(sample), "--base", "$(touch pwned)\nx"
    )
    assert code == 2
    assert "is not a git revision" in one_line_error(err)
    code, _, err = run(capsys, "workspace", "lock-diff", "--root", str(sample), "--", "-x", "HEAD")
    assert code == 2
    one_line_error(err)
    assert not (sample / "pwned").exists()


def test_workspace_without_subcommand_says_so_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "workspace")
    assert code == 2
    assert not out
    assert "lock-diff" in one_line_error(err)


def test_console_script_has_no_traceback(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.uv.workspace\n")
    result = subprocess.run(
        [sys.executable, "-m", "tta_dev.cli", "workspace", "members", "--root", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "invalid TOML" in one_line_error(result.stderr)


def test_affected_all_lists_every_member_whatever_the_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The default branch's full run must not depend on which rules claim pyproject.toml: a
    # root project whose own rules drop the defaults owns it, so `--files pyproject.toml`
    # would list the root member alone.
    root = tmp_path / "w"
    write(
        root / "pyproject.toml",
        project_toml(
            "root-app",
            workspace={"members": ["packages/*"]},
            extra="[tool.tta-dev.affected]\ndefaults = false\n",
        ),
    )
    write(root / "packages/a/pyproject.toml", project_toml("a"))
    write(root / "packages/b/pyproject.toml", project_toml("b"))
    code, out, _ = run(
        capsys, "workspace", "affected", "--root", str(root), "--files", "pyproject.toml",
        "--format", "matrix",
    )  # fmt: skip
    assert code == 0
    assert [m["member"] for m in json.loads(out)["include"]] == ["root-app"]
    code, out, _ = run(
        capsys, "workspace", "affected", "--root", str(root), "--all", "--format", "matrix"
    )
    assert code == 0
    assert json.loads(out) == {
        "include": [
            {"member": "a", "path": "packages/a", "unclaimed": True},
            {"member": "b", "path": "packages/b", "unclaimed": False},
            {"member": "root-app", "path": ".", "unclaimed": False},
        ]
    }
    code, _, err = run(
        capsys, "workspace", "affected", "--root", str(root), "--all", "--head", "HEAD"
    )
    assert code == 2
    assert "not --all" in one_line_error(err)


def test_affected_matrix_says_on_stderr_why_everything_runs(
    sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The matrix is all a CI log shows: a job per member needs its reason beside it.
    code, out, err = run(
        capsys, "workspace", "affected", "--root", str(sample), "--files", "noxfile.py",
        "--format", "matrix",
    )  # fmt: skip
    assert code == 0
    assert len(json.loads(out)["include"]) == 4
    assert (
        err == "tta-dev: note: every member is affected: noxfile.py matches `noxfile.py`"
        " (default rule: all)\n"
    )
    code, out, err = run(
        capsys, "workspace", "affected", "--root", str(sample), "--files", "docs/a.md",
        "--format", "matrix",
    )  # fmt: skip
    assert (code, json.loads(out), err) == (0, {"include": []}, "")
