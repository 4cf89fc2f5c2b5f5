"""Test-only support code: stand-ins for services that cannot run on a test machine, and what
the demo fixtures promise (`fixture_cases`).

Nothing in `migrator/` imports from here; tests and benchmarks do.
"""
