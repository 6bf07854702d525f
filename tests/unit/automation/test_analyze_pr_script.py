from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from .conftest import TOKEN, Answer, FakeGitHub

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "analyze_pr.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("analyze_pr", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(*args: str) -> int:
    return int(load().main(list(args)))


def test_files_and_json(pr_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = "packages/core/src/core/__init__.py,docs/a.md"
    assert main(f"--root={pr_repo}", f"--files={files}", "--format=json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["changed_files"] == ["packages/core/src/core/__init__.py", "docs/a.md"]
    assert [m["name"] for m in data["affected"]["affected"]] == ["app", "core"]


def test_newlines_separate_and_commas_then_stay(
    pr_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(f"--root={pr_repo}", "--files=a,b.md\nc.md", "--format=json") == 0
    assert json.loads(capsys.readouterr().out)["changed_files"] == ["a,b.md", "c.md"]


def test_values_starting_with_dash_are_data(
    pr_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(f"--root={pr_repo}", "--files=--help", "--author=--help", "--format=json") == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["changed_files"] == ["--help"]
    assert "usage" not in out.out + out.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "exactly one of"),
        (("--files=a", "--base=main"), "exactly one of"),
        (("--files=a", "--head=x"), "--head goes with --base"),
        (("--files=a", "--pr-number=-3"), "not a whole number"),
        (("--files=a", "--pr-number=0"), "positive"),
        (("--files=a", "--format=xml"), "invalid choice"),
        (("--files=/etc/passwd",), "outside the repository"),
        (("--base=--output=x",), "not a git revision"),
        (("--files-from=/nonexistent/list",), "--files-from"),
        (("--files",), "expected one argument"),
        (("--fil=a",), "unrecognized arguments"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    pr_repo: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    assert main(f"--root={pr_repo}", *args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("analyze_pr.py: error: ")
    assert message in err


def test_dry_run_then_apply(
    pr_repo: Path,
    github: FakeGitHub,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args = (f"--root={pr_repo}", "--files=packages/core/x.py", "--pr-number=5", "--lines-changed=3")
    monkeypatch.setenv("GITHUB_API_URL", github.url)
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/widgets")
    monkeypatch.delenv("GH_TOKEN", raising=False)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    assert main(*args) == 0
    err = capsys.readouterr().err
    assert "would: add labels core, size/XS to #5" in err
    assert github.seen == []

    base = "/repos/octo/widgets"
    github.on("POST", f"{base}/issues/5/labels", Answer(200, []))
    github.on("POST", f"{base}/pulls/5/requested_reviewers", Answer(201, {}))
    github.on("GET", f"{base}/issues/5/comments?per_page=100", Answer(200, []))
    github.on("POST", f"{base}/issues/5/comments", Answer(201, {}))
    assert main(*args, "--apply") == 0
    out = capsys.readouterr()
    assert [(s.method, s.path) for s in github.seen] == [
        ("POST", f"{base}/issues/5/labels"),
        ("POST", f"{base}/pulls/5/requested_reviewers"),
        ("GET", f"{base}/issues/5/comments?per_page=100"),
        ("POST", f"{base}/issues/5/comments"),
    ]
    assert github.seen[1].body == {"reviewers": ["alice"], "team_reviewers": ["core-team"]}
    assert TOKEN not in out.out + out.err

    github.answers.clear()
    github.on(
        "POST", f"{base}/issues/5/labels", Answer(403, {"message": "Resource not accessible"})
    )
    assert main(*args, "--apply") == 1
    assert "GitHub refused" in capsys.readouterr().err
    monkeypatch.delenv("GITHUB_TOKEN")
    assert main(*args, "--apply") == 2
    assert "GITHUB_TOKEN" in capsys.readouterr().err


HOSTILE = [
    '"; rm -rf ~; echo "',
    "$(touch PWNED)",
    "`touch PWNED`",
    "a b/c d.py",
    'it\'s "quoted".py',
    "--help",
    "-rf",
    "emoji 🐍.py",
    "tab\there.py",
    "packages/core/$(touch PWNED).py",
]


@pytest.mark.slow  # one script run per hostile input: seconds
def test_hostile_corpus_runs_nothing(pr_repo: Path, tmp_path: Path) -> None:
    """Real argv (bytes too), NUL lists and 1 MB through a subprocess: exit 0 or one-line 2."""
    listing = tmp_path / "files.bin"
    listing.write_bytes(
        b"\0".join([*(h.encode() for h in HOSTILE), b"bad\xff\xfeutf8.py", b"new\nline.py"])
    )
    big = tmp_path / "big.txt"
    big.write_bytes(b"packages/core/" + b"x" * (1024 * 1024) + b".py\n")
    env = {**os.environ, "GITHUB_TOKEN": "", "GH_TOKEN": ""}
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    runs: list[list[str | bytes]] = [
        ["--files=" + "\n".join(HOSTILE), "--pr-number=3", "--format=markdown"],
        ["--files=" + HOSTILE[0], "--pr-number=3"],
        ["--files=--help", "--author=--help"],
        [b"--files=bad\xff\xfename.py", "--format=markdown"],
        [f"--files-from={listing}", "--format=text"],
        [f"--files-from={big}", "--format=markdown", "--pr-number=1"],
        ["--files=a\nb\n$(touch PWNED)", "--author=$(touch PWNED)"],
    ]
    outputs: list[bytes] = []
    for args in runs:
        result = subprocess.run(
            [sys.executable, str(SCRIPT), f"--root={pr_repo}", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        err = result.stderr.decode("utf-8", "replace")
        assert result.returncode in {0, 2}, (args, err)
        assert "Traceback" not in err, (args, err)
        if result.returncode == 2:
            assert err.count("\n") == 1, (args, err)
        else:
            assert result.stdout, args
        outputs.append(result.stdout)
    # The real content still routes: the hostile core file affects core and app.
    assert b"| app | depends on member core |" in outputs[0]
    assert b"| core | changed file packages/core/$(touch PWNED).py" in outputs[0]
    assert not (cwd / "PWNED").exists()
    assert not (pr_repo / "PWNED").exists()
    assert not list(tmp_path.rglob("PWNED"))
