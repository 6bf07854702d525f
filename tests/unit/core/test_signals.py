"""SIGTERM unwinds (``sigterm_as_exit``) and cannot split a temporary folder's creation."""

from __future__ import annotations

import os
import signal
import tempfile
from pathlib import Path

import pytest

from tta_dev._signals import sigterm_as_exit, temporary_directory


def _killed(ran: list[str]) -> None:
    with sigterm_as_exit():
        try:
            os.kill(os.getpid(), signal.SIGTERM)  # the handler runs as os.kill returns
            ran.append("not reached")
        finally:
            ran.append("finally")


def test_sigterm_inside_the_block_is_an_exit_that_unwinds() -> None:
    ran: list[str] = []
    with pytest.raises(SystemExit) as info:
        _killed(ran)
    assert info.value.code == 128 + signal.SIGTERM
    assert ran == ["finally"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # restored


def _kill_after_mkdtemp(monkeypatch: pytest.MonkeyPatch, folder: Path) -> list[str]:
    """tempfile makes its folders in ``folder``, and mkdtemp gets SIGTERM once it has
    made one: the window inside tempfile. Returns the folders it makes."""
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    made: list[str] = []
    real = tempfile.mkdtemp

    def mkdtemp(*args: object, **kwargs: object) -> str:
        made.append(real(*args, **kwargs))  # type: ignore[call-overload]
        os.kill(os.getpid(), signal.SIGTERM)
        return made[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    return made


def test_sigterm_right_after_mkdtemp_leaves_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = _kill_after_mkdtemp(monkeypatch, tmp_path)
    entered: list[Path] = []
    with pytest.raises(SystemExit), sigterm_as_exit(), temporary_directory("tta-t-") as folder:
        entered.append(folder)
    assert len(made) == 1
    assert entered == []  # the exit came before the block: the signal was held, not lost
    assert not Path(made[0]).exists()
    assert list(tmp_path.iterdir()) == []


def test_plain_temporary_directory_leaks_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window is real: tempfile's own TemporaryDirectory() leaves the folder."""
    made = _kill_after_mkdtemp(monkeypatch, tmp_path)
    with pytest.raises(SystemExit), sigterm_as_exit(), tempfile.TemporaryDirectory():
        pass
    assert Path(made[0]).is_dir()


def test_the_folder_is_there_inside_and_gone_after(tmp_path: Path) -> None:
    with temporary_directory("tta-test-") as folder:
        assert folder.is_dir()
        (folder / "file").write_text("x")
    assert not folder.exists()


def test_a_sigterm_after_the_folder_is_made_still_exits_at_once() -> None:
    """Held only while the folder is made: inside the block a SIGTERM exits as before."""
    seen: list[Path] = []

    def killed_inside() -> None:
        with sigterm_as_exit(), temporary_directory("tta-t-") as folder:
            seen.append(folder)
            os.kill(os.getpid(), signal.SIGTERM)
            seen.append(Path("not reached"))

    with pytest.raises(SystemExit):
        killed_inside()
    (folder,) = seen
    assert not folder.exists()
