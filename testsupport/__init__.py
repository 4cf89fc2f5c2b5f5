"""Test-only support code: stand-ins for services that cannot run on a test machine.

Nothing in `migrator/` imports from here; tests and benchmarks do.
"""
