"""Testing helpers: the pytest plugin (fixtures, markers) and test doubles."""

from tta_dev.testing.mock import MockCall, MockPrimitive

__all__ = ["MockCall", "MockPrimitive"]
