"""Tests of the dev tools behind `make regen SPEC=` and `make check-facade`.

A package, so its conftest is `spec_changes.conftest` and never shadows tests/conftest.py
(other tests do `from conftest import ...`)."""
