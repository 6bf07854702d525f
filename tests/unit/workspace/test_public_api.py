"""The package's public names load lazily; each one is there and comes from its module."""

from __future__ import annotations

import importlib

import pytest

import tta_dev.workspace as workspace


def test_every_public_name_resolves_from_the_module_it_is_listed_under() -> None:
    lazy: dict[str, str] = workspace._LAZY  # pyright: ignore[reportPrivateUsage]
    assert sorted(lazy) == sorted(workspace.__all__)
    for name, module in lazy.items():
        value = getattr(workspace, name)
        assert value is getattr(importlib.import_module(f"tta_dev.workspace.{module}"), name)
    assert set(workspace.__all__) <= set(dir(workspace))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        workspace.no_such_name  # pyright: ignore[reportAttributeAccessIssue]  # noqa: B018
