"""Helpers shared by tests (and benchmarks): not test modules, so importing them collects no tests."""
