"""``tta-dev agentic``: help imports nothing heavy; show prints a prompt file; bad input is exit 2."""

from __future__ import annotations

import pytest

from tests.unit.cli.test_lazy_imports import heavy_in, run_cli
from tta_dev.cli import main


@pytest.mark.parametrize("argv", [("agentic", "--help"), ("agentic", "quality-gate-fix", "--help")])
def test_agentic_help_imports_no_heavy_module(argv: tuple[str, ...]) -> None:
    code, out, added = run_cli(*argv)
    assert code == 0
    assert "usage: tta-dev agentic" in out
    assert heavy_in(added) == []
    assert "tta_dev.agentic" not in added


def test_show_prints_the_prompt_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["agentic", "show", "bug-fix"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("---\nname: bug-fix\n")
    assert "```bash step=reproduce" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["agentic", "show", "nope"], "no workflow named 'nope'"),
        (["agentic", "bug-fix", "--test=-x"], "is not a pytest node id"),
        (["agentic", "feature", "--name", "a b"], "cannot be part of a branch name"),
        (["agentic", "quality-gate-fix", "--skip", "nope"], "no gate named nope"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert message in err
