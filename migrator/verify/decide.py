"""The verdict of one chart, from everything verify and rewrite found, decided once.

The worst thing found decides: a render failure or a destructive difference blocks; a functional
difference from an edited template blocks (the central chart cannot express it); so does a chart
dependency an environment enables (the central chart does not carry it), then a file that still
uses what the change set would remove (the chart stays: nothing used is deleted); other
functional differences need a review, as does a deploy reference left for a person; otherwise the
rendered manifests are identical, apart from what only describes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from migrator.model import DiffClass, Difference, EnvResult, HelmInvocation, Kind, Lineage, Outcome
from migrator.report.common import ignored_differences


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    findings: tuple[str, ...] = ()  # what the central chart would need to offer


def decide(origin: Lineage | None, envs: Sequence[EnvResult],
           left: Sequence[tuple[HelmInvocation, str]] = (),
           deploy_failure: Outcome | None = None,
           *,
           dependency: Outcome | None = None,
           still_used: Outcome | None = None) -> Decision:
    """`left`: deploy references the rewrite left for a person, with why. `dependency`: a chart
    dependency enabled in an environment, which the central chart does not carry.
    `still_used`: files that still use what the change set would remove (the chart stays)."""
    failed = [e.failure for e in envs if e.failure is not None]
    if failed:
        return Decision(failed[0])
    customized = _customized_templates(origin)
    destructive = [(e, d) for e in envs for d in e.differences
                   if d.diff_class is DiffClass.DESTRUCTIVE]
    functional = [(e, d) for e in envs for d in e.differences
                  if d.diff_class is DiffClass.FUNCTIONAL]
    findings = _findings([d for _, d in destructive + functional], customized)
    if deploy_failure is not None:
        return Decision(deploy_failure, findings)
    if destructive:
        env, d = destructive[0]
        return Decision(Outcome(Kind.DESTRUCTIVE, detail=d.why, resource=str(d.resource),
                                paths=d.paths, environments=(env.name,),
                                count=len(destructive)), findings)
    if functional and customized:
        _, d = functional[0]
        return Decision(Outcome(Kind.CUSTOMIZED, files=tuple(sorted(customized)),
                                resource=str(d.resource), paths=d.paths), findings)
    if dependency is not None:
        return Decision(dependency, findings)
    if still_used is not None:
        return Decision(still_used, findings)
    if functional:
        env, d = functional[0]
        return Decision(Outcome(Kind.FUNCTIONAL, resource=str(d.resource), paths=d.paths,
                                environments=(env.name,), count=len(functional)), findings)
    if left:
        ref, why = left[0]
        return Decision(Outcome(Kind.DEPLOY_LEFT, detail=why, file=ref.file, line=ref.line,
                                count=len(left)))
    # Counted as every report counts them (one per distinct difference, not per field).
    return Decision(Outcome(Kind.IDENTICAL, environments=tuple(e.name for e in envs),
                            count=ignored_differences(envs)))


def _customized_templates(origin: Lineage | None) -> set[str]:
    if origin is None:
        return set()
    return {t.file for t in origin.templates if t.score < 1.0}


def _findings(diffs: Sequence[Difference], customized: set[str]) -> tuple[str, ...]:
    """What the central chart would need to offer for this repo to migrate unchanged."""
    out: list[str] = []
    for d in diffs:
        text = None
        if d.change == "removed":
            text = (f"{d.resource.kind} {d.resource.name}: no counterpart in the central chart "
                    f"(a value for extra objects would carry it)")
        elif any("containers[" in p for p in d.paths):
            text = (f"{d.resource}: containers the central chart cannot add "
                    f"(a value for extra containers/sidecars would carry them)")
        elif any(p.startswith("spec.selector") for p in d.paths):
            text = f"{d.resource}: selector labels the central chart cannot set"
        if text and text not in out:
            out.append(text)
    if customized and not out:
        out.append(f"edited templates: {', '.join(sorted(customized))}")
    return tuple(out)
