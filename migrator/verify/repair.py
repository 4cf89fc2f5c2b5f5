"""Express a fork's template edits as central chart values, where the central chart offers one.

After a first render, some differences come from templates the team edited (a hard-coded pod
annotation), from names the central chart derives differently, or from what the fork adds (a
sidecar, a CronJob) that a hatch of the target version carries (verify/hatches.py). Each rule
looks at the fork's objects next to the migrated ones and proposes values that bring them back;
the verify stage renders again and keeps a proposal only because the render proves it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from migrator import tree
from migrator.model import ResourceId
from migrator.tree import MISSING
from migrator.verify import hatches
from migrator.verify.manifests import WORKLOADS, Rendered


@dataclass(frozen=True)
class Proposal:
    path: str  # values path in the central chart
    value: Any
    note: str


@dataclass(frozen=True)
class MapRule:
    """Entries of a map in the fork's objects that the central chart fills from a values map."""

    kinds: frozenset[str]
    manifest_path: tuple[str, ...]
    value_paths: tuple[str, ...]  # first that exists (as a map) in the central defaults wins
    what: str


MAP_RULES = (
    MapRule(frozenset(WORKLOADS), ("spec", "template", "metadata", "annotations"),
            ("pod.annotations", "podAnnotations"), "pod annotation"),
    MapRule(frozenset(WORKLOADS), ("spec", "template", "metadata", "labels"),
            ("pod.labels", "podLabels"), "pod label"),
    MapRule(frozenset(WORKLOADS), ("metadata", "annotations"), ("annotations",),
            "workload annotation"),
    MapRule(frozenset({"ServiceAccount"}), ("metadata", "annotations"),
            ("serviceAccount.annotations",), "service account annotation"),
    MapRule(frozenset({"Service"}), ("metadata", "annotations"), ("service.annotations",),
            "service annotation"),
)


def propose(before: Rendered, after: Rendered, central_defaults: Mapping[str, Any],
            current: Mapping[str, Any], cosmetic_keys: Sequence[str] = ()) -> list[Proposal]:
    """Values that would make `after` closer to `before`; `current` is what is written now.
    Descriptive labels (cosmetic_keys) are left to differ: pinning them would freeze a lie."""
    proposals = _names(before, after, central_defaults, current)
    after_by_id = {_key(r): obj for r, obj in after.objects.items()}
    for rid, obj in before.objects.items():
        other = after_by_id.get(_key(rid))
        if other is None:
            continue
        for rule in MAP_RULES:
            if rid.kind not in rule.kinds:
                continue
            target = _first_map(central_defaults, rule.value_paths)
            if target is None:
                continue
            want = tree.get(obj, rule.manifest_path, None) or {}
            have = tree.get(other, rule.manifest_path, None) or {}
            for key, value in want.items():
                if have.get(key) != value and key not in cosmetic_keys:
                    template = before.sources.get(rid, "a template")
                    proposals.append(Proposal(
                        f"{target}.{key}", value,
                        f"{template} hard-codes this {rule.what}; the central chart offers "
                        f"`{target}`"))
    renaming = any(p.path == "fullnameOverride" for p in proposals)
    proposals.extend(Proposal(c.path, c.value, c.note) for c in hatches.propose(
        before, after, central_defaults, current, cosmetic_keys, renaming=renaming))
    return _dedupe(proposals)


def _names(before: Rendered, after: Rendered, central_defaults: Mapping[str, Any],
           current: Mapping[str, Any]) -> list[Proposal]:
    """When the migrated workload has another name, pin the fork's with fullnameOverride."""
    if "fullnameOverride" not in central_defaults or current.get("fullnameOverride"):
        return []
    after_keys = {_key(r) for r in after.objects}
    for rid in before.objects:
        if rid.kind in WORKLOADS and _key(rid) not in after_keys:
            renamed = [r for r in after.objects if r.kind == rid.kind]
            if renamed:
                return [Proposal("fullnameOverride", rid.name,
                                 f"keeps the name {rid.kind}/{rid.name} (the central chart "
                                 f"would call it {renamed[0].name})")]
    return []


def _first_map(defaults: Mapping[str, Any], paths: tuple[str, ...]) -> str | None:
    for path in paths:
        if isinstance(tree.get(defaults, tree.undotted(path)), dict):
            return path
    return None


def _key(rid: ResourceId) -> tuple[str, str, str, str]:
    return (rid.group, rid.kind, rid.namespace, rid.name)


def _dedupe(proposals: list[Proposal]) -> list[Proposal]:
    seen: dict[str, Proposal] = {}
    for p in proposals:
        seen.setdefault(p.path, p)
    return list(seen.values())


def apply(values: dict[str, Any], proposals: list[Proposal]) -> dict[str, Any]:
    """A copy of `values` with the proposals written in (map keys with dots stay one key)."""
    out = copy.deepcopy(values)
    for p in proposals:
        head, _, leaf = _split_map_key(p.path)
        node = tree.get(out, head, MISSING)
        if not isinstance(node, dict):
            tree.put(out, head, {})
        tree.put(out, (*head, leaf) if leaf else head, p.value)
    return out


def _split_map_key(path: str) -> tuple[tuple[str, ...], str, str]:
    """'pod.annotations.prometheus.io/scrape' -> (('pod', 'annotations'), '', 'prometheus...')."""
    for rule in MAP_RULES:
        for prefix in rule.value_paths:
            if path.startswith(prefix + "."):
                return tree.undotted(prefix), "", path[len(prefix) + 1:]
    return tree.undotted(path), "", ""
