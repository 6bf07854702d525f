"""Developer tooling: service resolution for checks, CI/nox/pre-commit consistency."""
