"""Outcomes for tests that need a plan of some verdict and do not care why."""

from __future__ import annotations

from migrator.model import Kind, Outcome, Verdict

_TYPICAL = {
    Verdict.READY: Outcome(Kind.IDENTICAL, environments=("default",)),
    Verdict.REVIEW: Outcome(Kind.FUNCTIONAL, resource="Deployment/app", paths=("spec.replicas",),
                            environments=("default",), count=1),
    Verdict.BLOCKED: Outcome(Kind.DESTRUCTIVE, detail="immutable field spec.selector",
                             resource="Deployment/app", paths=("spec.selector",),
                             environments=("default",), count=1),
    Verdict.SKIPPED: Outcome(Kind.NO_CHART),
    Verdict.ERROR: Outcome(Kind.BAD_INPUT, detail="malformed YAML", file="chart/values.yaml"),
}


def outcome_for(verdict: Verdict) -> Outcome:
    """A typical outcome of `verdict`."""
    return _TYPICAL[verdict]
