"""The proof that a central-chart change is neutral for current users: render the chart before
and after it with the same values (its defaults, and what every repo the plan migrates would
deploy with) and compare the manifests as verify does. Only labels that merely describe the chart
(`helm.sh/chart` says the new version) may differ.

And that the new hatches work: with every one of them set (on top of the same values), the
changed chart renders what it rendered before plus each hatch's content, and nothing else moves
(a hatch written in the wrong place would replace a field or land in another container).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from migrator import tree
from migrator.errors import RenderError
from migrator.model import DiffClass, Difference, FleetPlan, Verdict
from migrator.verify import manifests, render
from migrator.verify.render import LoadedChart

DEFAULTS = "the chart's defaults"
_MIGRATED = (Verdict.READY, Verdict.REVIEW)


@dataclass(frozen=True)
class ValueSet:
    """Values a release of the chart is rendered with, and where they come from."""

    name: str  # "the chart's defaults", "orders: chart (prod)"
    values: dict[str, Any]
    release: str = "release-name"
    namespace: str | None = None


@dataclass(frozen=True)
class SetResult:
    name: str
    differences: tuple[Difference, ...] = ()  # what changes what runs (none, for a proof)
    descriptive_paths: tuple[str, ...] = ()  # fields that only describe the chart (its version)
    failure: str | None = None  # the changed chart does not render these values
    not_rendered: str | None = None  # the chart as it is does not render them either

    @property
    def holds(self) -> bool:
        return self.not_rendered is not None or (self.failure is None and not self.differences)


@dataclass(frozen=True)
class Proof:
    results: tuple[SetResult, ...]  # each value set, the chart before and after
    carries: tuple[SetResult, ...] = ()  # each value set with every new hatch set, after
    descriptive_keys: tuple[str, ...] = ()  # the descriptive labels that differed

    @property
    def rendered(self) -> int:
        return sum(1 for r in self.results if r.not_rendered is None)

    @property
    def failed(self) -> tuple[SetResult, ...]:
        return tuple(r for r in self.results if not r.holds)

    @property
    def not_carried(self) -> tuple[SetResult, ...]:
        return tuple(r for r in self.carries if not r.holds)

    @property
    def holds(self) -> bool:
        return self.rendered > 0 and not self.failed and not self.not_carried


_APP = r"\.containers\[(?!check-)[^\]]*\]"  # the app container, not a sample one
# hatch key -> (its sample content, where a manifest field path shows it)
_SAMPLES: dict[str, tuple[Any, str]] = {
    "extraContainers": ([{"name": "check-extracontainers", "image": "busybox:1.36"}],
                        r"\.containers\[check-extracontainers\]$"),
    "initContainers": ([{"name": "check-initcontainers", "image": "busybox:1.36"}],
                       r"spec\.template\.spec\.initContainers"),
    "extraVolumes": ([{"name": "check-extravolumes", "emptyDir": {"medium": "Memory"}}],
                     r"spec\.template\.spec\.volumes"),
    "extraVolumeMounts": ([{"name": "check-extravolumemounts", "mountPath": "/check"}],
                          _APP + r"\.volumeMounts"),
    "extraEnv": ([{"name": "CHECK_EXTRAENV", "value": "1"}], _APP + r"\.env(\[|$)"),
    "envFrom": ([{"configMapRef": {"name": "check-envfrom"}}], _APP + r"\.envFrom"),
    "podLabels": ({"check-podlabels": "1"}, r"spec\.template\.metadata\.labels"),
    "podAnnotations": ({"check-podannotations": "1"},
                       r"spec\.template\.metadata\.annotations"),
    "extraObjects": ([{"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": "check-extraobjects-{{ .Release.Name }}"},
                       "data": {"release": "{{ .Release.Name }}"}}], r"^$"),
}


def sample(key: str) -> Any:
    """Content for hatch `key` that names the hatch, so its render can be found."""
    return _SAMPLES[key][0]


def _shown(key: str, diffs: Sequence[Difference]) -> bool:
    """Whether the render shows hatch `key`'s sample, where that hatch writes it."""
    mark = f"check-{key.lower()}"
    where = re.compile(_SAMPLES[key][1])
    for d in diffs:
        if d.change == "added" and d.resource.name.startswith(mark):
            return True
        for f in d.fields:
            if where.search(f.path) and (mark in f.path.lower() or
                                         mark in str(f.after).lower().replace("_", "-")):
                return True
    return False


def value_sets(fleet: FleetPlan | None) -> list[ValueSet]:
    """The chart's defaults, then every environment of every chart the plan migrates (ready or
    review): the values its migrated deploy would pass (redacted ones keep their shape)."""
    sets = [ValueSet(DEFAULTS, {})]
    for repo in fleet.repos if fleet is not None else ():
        if repo.verdict not in _MIGRATED:
            continue
        for chart in repo.charts:
            if chart.values is None or chart.verdict not in _MIGRATED:
                continue
            for env in chart.environments:
                if env.failure is not None:
                    continue
                values = tree.merge(chart.values.base, chart.values.envs.get(env.name, {}))
                sets.append(ValueSet(f"{repo.repo.name}: {chart.path} ({env.name})", values,
                                     env.release, env.namespace))
    return sets


def prove(before: LoadedChart, after: LoadedChart, sets: Sequence[ValueSet],
          hatch_keys: Sequence[str] = (),
          cosmetic_keys: Sequence[str] = manifests.DEFAULT_COSMETIC_KEYS) -> Proof:
    results = tuple(_one(before, after, s, cosmetic_keys) for s in sets)
    carries = tuple(_carries(before, after, s, hatch_keys, cosmetic_keys) for s in sets
                    if hatch_keys)
    keys = sorted({str(path).rsplit('["', 1)[-1].rstrip('"]')
                   for r in (*results, *carries) for path in r.descriptive_paths})
    return Proof(results, carries, tuple(keys))


def _one(before: LoadedChart, after: LoadedChart, values: ValueSet,
         cosmetic_keys: Sequence[str]) -> SetResult:
    try:
        old = _render(before, values)
    except RenderError as exc:
        return SetResult(values.name, not_rendered=str(exc))
    try:
        new = _render(after, values)
    except RenderError as exc:
        return SetResult(values.name, failure=str(exc))
    diffs = manifests.compare(old, new, cosmetic_keys)
    return SetResult(
        values.name,
        differences=tuple(d for d in diffs if d.diff_class is not DiffClass.COSMETIC),
        descriptive_paths=tuple(p for d in diffs if d.diff_class is DiffClass.COSMETIC
                                for p in d.paths))


def _carries(before: LoadedChart, after: LoadedChart, values: ValueSet,
             hatch_keys: Sequence[str], cosmetic_keys: Sequence[str]) -> SetResult:
    """With every hatch set, the changed chart only adds, and adds each hatch's content."""
    try:
        old = _render(before, values)
    except RenderError as exc:
        return SetResult(values.name, not_rendered=str(exc))
    filled = dict(values.values)
    for key in hatch_keys:
        have, add = filled.get(key), sample(key)
        filled[key] = ([*have, *add] if isinstance(have, list) else
                       {**have, **add} if isinstance(have, dict) else add)
    try:
        new = _render(after, replace(values, values=filled))
    except RenderError as exc:
        return SetResult(values.name, failure=str(exc))
    diffs = manifests.compare(old, new, cosmetic_keys)
    moved = tuple(d for d in diffs if d.diff_class is not DiffClass.COSMETIC and not (
        d.change == "added" or all(f.before is None for f in d.fields)))
    missing = [k for k in hatch_keys if not _shown(k, diffs)]
    return SetResult(
        values.name, differences=moved,
        failure=f"renders nothing for {', '.join(missing)}" if missing else None,
        descriptive_paths=tuple(p for d in diffs if d.diff_class is DiffClass.COSMETIC
                                for p in d.paths))


def _render(chart: LoadedChart, values: ValueSet) -> manifests.Rendered:
    text = render.render(chart, values.values, release=values.release,
                         namespace=values.namespace, origin=chart.name)
    return manifests.index(render.parse_manifests(text), values.namespace)


def summary(proof: Proof, before: str, after: str) -> list[str]:
    """The proof in words, one line each: what was rendered, what differed."""
    repos = sum(1 for r in proof.results if r.name != DEFAULTS and r.not_rendered is None)
    ignored = (f" (descriptive labels ignored: {', '.join(proof.descriptive_keys)})"
               if proof.descriptive_keys else "")
    lines = [f"proof: {proof.rendered} value sets rendered with {before} and {after} (the "
             f"chart's defaults and {repos} environments of migrated repos), "
             f"{len(proof.failed)} differences{ignored}"]
    if proof.carries:
        lines.append(f"hatches: with every new hatch set, {after} renders each one's content and "
                     f"changes nothing else in {len(proof.carries) - len(proof.not_carried)} of "
                     f"{len(proof.carries)} value sets")
    for r in proof.results:
        if r.not_rendered is not None:
            lines.append(f"  not rendered by {before} either, left out: {r.name}: "
                         f"{r.not_rendered}")
    for label, results in (("DIFFERS", proof.failed), ("HATCH FAILS", proof.not_carried)):
        for r in results:
            if r.failure is not None:
                lines.append(f"  {label}: {r.name}: {r.failure}")
            for d in r.differences[:3]:
                lines.append(f"  {label}: {r.name}: {d.resource} {d.change} "
                             f"{', '.join(d.paths[:3])}")
    return lines
