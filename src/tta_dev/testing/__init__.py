"""Testing helpers: the pytest plugin (fixtures, markers) and test doubles."""
