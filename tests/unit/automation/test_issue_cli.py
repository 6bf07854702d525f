"""scripts/issue_analyzer.py: flags, output, --apply, and a hostile corpus.

Hostile titles and bodies must be routed as text: nothing executed, the real content
routed as without the noise, exit 0 (or a clean exit 2 with one line), no traceback.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.unit.automation.conftest import TOKEN, Answer, FakeGitHub
from tests.unit.automation.test_issues import make_workspace
from tta_dev.automation._issue_cli import bind_values, main

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "issue_analyzer.py"
REAL_TITLE = "acme-plugin-redis drops keys"
REAL_BODY = "Traceback (most recent call last):\n  File \"/v/acme/plugins/redis/x.py\", line 1\nKeyError: 'k'\n"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_workspace(tmp_path / "ws")


def run(
    args: list[str], *, stdin: bytes = b"", env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(args, stdin=io.BytesIO(stdin), stdout=out, stderr=err, env=env or {})
    return code, out.getvalue(), err.getvalue()


def routed(root: Path, *extra: str, stdin: bytes = b"") -> dict[str, Any]:
    code, out, err = run(["--root", str(root), "--format=json", *extra], stdin=stdin)
    assert (code, err) == (0, "")
    return json.loads(out)


def test_json_report_with_the_contract_keys(root: Path) -> None:
    data = routed(
        root, "--issue-number=12", f"--issue-title={REAL_TITLE}", "--issue-body", REAL_BODY
    )
    assert data["number"] == 12
    assert data["type"] == "bug"
    assert data["components"][0]["member"] == "acme-plugin-redis"
    assert data["labels"] == ["bug", "component: acme-plugin-redis"]
    assert data["actions"][0] == "would: add labels bug, component: acme-plugin-redis to #12"


def test_text_and_markdown(root: Path) -> None:
    code, out, _ = run(["--root", str(root), "--issue-title", REAL_TITLE])
    assert code == 0
    assert "component: acme-plugin-redis" in out
    code, out, _ = run(["--root", str(root), "--issue-title", REAL_TITLE, "--format", "markdown"])
    assert code == 0
    assert "| `acme-plugin-redis` |" in out


HOSTILE = [
    '"; rm -rf ~',
    "$(touch PWNED)",
    "`touch PWNED`",
    "--help",
    "-h",
    "--issue-body=x",
    "--root=/",
    "line one\nline two\r\nline three",
    "🚀🔥 emoji ✨ \u202e reversed \u2028 separator",
    "' OR 1=1; --",
    "%s %n {0} ${HOME}",
]


@pytest.mark.parametrize("noise", HOSTILE)
def test_hostile_titles_and_bodies_are_only_text(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, noise: str
) -> None:
    monkeypatch.chdir(tmp_path)
    clean = routed(root, "--issue-title", REAL_TITLE, "--issue-body", REAL_BODY)
    for args in (
        ["--issue-title", noise, "--issue-body", noise],
        ["--issue-title", f"{noise} {REAL_TITLE}", "--issue-body", f"{REAL_BODY}\n{noise}"],
        [f"--issue-title={noise}", f"--issue-body={noise}"],
    ):
        data = routed(root, *args)
        assert data["type"] in {"bug", "feature", "docs", "question"}
    noisy = routed(
        root, "--issue-title", f"{noise} {REAL_TITLE}", "--issue-body", f"{REAL_BODY}\n{noise}"
    )
    assert noisy["components"][0]["member"] == clean["components"][0]["member"]
    assert noisy["type"] == clean["type"]
    assert not (tmp_path / "PWNED").exists()
    assert not (root / "PWNED").exists()


def test_a_value_is_never_an_option() -> None:
    assert bind_values(["--issue-title", "--help", "--issue-body", "-x", "--apply"]) == [
        "--issue-title=--help",
        "--issue-body=-x",
        "--apply",
    ]


def test_nul_invalid_utf8_and_a_megabyte_through_the_body_file(root: Path, tmp_path: Path) -> None:
    clean = routed(root, "--issue-title", "it fails", "--issue-body", REAL_BODY)
    junk = (
        REAL_BODY.encode()
        + b"\x00\xff\xfe\xc3\x28 invalid \xed\xa0\x80 surrogate\n"
        # shapes that make careless regular expressions backtrack
        + b"a" * 200_000
        + b"\n"
        + b'File "' * 50_000
        + b"\n"
        + b"a.b." * 50_000
        + b"\n"
        + b"acme-plugin-redis==1.0 " * 10_000
        + b"\n"
        + b"((((((((((" * 20_000
    )
    assert len(junk) > 1_000_000
    body = tmp_path / "body.md"
    body.write_bytes(junk)
    data = routed(root, "--issue-title", "it fails", f"--body-file={body}")
    assert data["components"][0]["member"] == clean["components"][0]["member"]
    assert data["type"] == "bug"
    data = routed(root, "--issue-title", "it fails", "--body-file", "-", stdin=junk)
    assert data["components"][0]["member"] == clean["components"][0]["member"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format=xml"], "--format must be one of text, json, markdown"),
        (["--issue-number=abc"], "--issue-number must be a positive whole number"),
        (["--issue-number=-3"], "--issue-number must be a positive whole number"),
        (["--body-file=/nonexistent/body.md"], "not found"),
        (["--body-file=/dev/zero"], "not a regular file"),
        (["--issue-body=x", "--body-file=-"], "not allowed with argument"),
        (["--unknown"], "unrecognized arguments"),
        (["--issue-title"], "expected one argument"),
        (["--apply"], "--apply needs --issue-number"),
        (["--issue-number=3", "--apply"], "no repository"),
        (["--issue-number=3", "--apply", "--repo=acme/app"], "no token"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(root: Path, args: list[str], message: str) -> None:
    code, out, err = run(["--root", str(root), *args])
    assert code == 2
    assert out == ""
    assert message in err
    assert err.count("\n") == 1
    assert err.startswith("issue_analyzer.py: error: ")


def test_a_folder_outside_any_workspace_is_exit_2(tmp_path: Path) -> None:
    code, _, err = run(["--root", str(tmp_path / "nothing-here"), "--issue-title", "x"])
    assert code == 2
    assert err.count("\n") == 1


def test_apply_writes_labels_assignees_and_one_comment(root: Path, github: FakeGitHub) -> None:
    (root / ".github").mkdir()
    (root / ".github" / "CODEOWNERS").write_text(
        "* @lead\n/plugins/acme-plugin-redis/ @alice @acme/redis-team\n", encoding="utf-8"
    )
    base = "/repos/acme/app/issues/12"
    github.on("POST", f"{base}/labels", Answer(200, []))
    github.on("POST", f"{base}/assignees", Answer(201, {}))
    github.on("GET", f"{base}/comments?per_page=100", Answer(200, []))
    github.on("POST", f"{base}/comments", Answer(201, {"id": 1}))
    env = {"GITHUB_API_URL": github.url, "GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "acme/app"}
    code, out, err = run(
        ["--root", str(root), "--issue-number=12", "--issue-title", REAL_TITLE, "--apply"], env=env
    )
    assert (code, err) == (0, "")
    assert TOKEN not in out
    sent = [(s.method, s.path.split("?")[0], s.body) for s in github.seen]
    assert sent[0] == (
        "POST",
        f"{base}/labels",
        {"labels": ["bug", "component: acme-plugin-redis"]},
    )
    assert sent[1] == ("POST", f"{base}/assignees", {"assignees": ["alice"]})
    assert sent[3][0:2] == ("POST", f"{base}/comments")
    assert sent[3][2]["body"].startswith("<!-- tta-dev:issue-routing -->\n")
    assert "owners: @alice, @acme/redis-team" in out


def test_apply_refused_by_github_is_exit_1(root: Path, github: FakeGitHub) -> None:
    github.on("POST", "/repos/acme/app/issues/12/labels", Answer(403, {"message": "nope"}))
    env = {"GITHUB_API_URL": github.url, "GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "acme/app"}
    code, _, err = run(
        ["--root", str(root), "--issue-number=12", "--issue-title", REAL_TITLE, "--apply"], env=env
    )
    assert code == 1
    assert err.count("\n") == 1
    assert TOKEN not in err


def test_the_script_itself_treats_help_as_a_title(root: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--root",
            str(root),
            "--issue-title",
            "--help",
            "--issue-body",
            "$(touch PWNED) `touch PWNED`",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["number"] is None
    assert not (tmp_path / "PWNED").exists()
    help_run = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert help_run.returncode == 0
    assert "--issue-title" in help_run.stdout
