"""The fleet's gap report: which customization kinds block how many repos, and in which order
adding central-chart features moves the most repos out of `blocked`.

Exact, not estimated: a blocked repo can move once every kind that blocks it is covered, and only
if nothing else holds it (a destructive change no value makes safe, a render failure, files still
using the chart). The order is greedy: each step adds the feature that moves the most repos not
moved yet, given the features added before it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from migrator.central import kinds
from migrator.model import CentralValue, ChartPlan, FleetPlan, RepoPlan, Verdict
from migrator.versions import version_key

EXAMPLES = 3  # evidence shown per kind


@dataclass(frozen=True)
class Example:
    repo: str
    chart: str  # the chart's path in the repo
    resource: str | None
    paths: tuple[str, ...]
    where: str | None  # "chart/templates/deployment.yaml:88"


@dataclass(frozen=True)
class KindGap:
    kind: str
    feature: str  # what the central chart would add ("extraContainers"); the kind when none
    coverable: bool  # some feature could carry it (not `other`, not a values key)
    blocked_repos: tuple[str, ...]  # blocked repos where it blocks
    blocked_charts: tuple[str, ...]  # "repo: chart path"
    seen_repos: tuple[str, ...]  # blocked or review repos where it shows, blocking or not
    seen_charts: tuple[str, ...]
    items: int
    examples: tuple[Example, ...]
    expressed_by: tuple[CentralValue, ...]  # central values that could already say some of it
    expressed_items: int  # how many of its items they express (all: a mapping problem)
    at_target: tuple[str, ...]  # keys of `expressed_by` the target version has


@dataclass(frozen=True)
class Step:
    feature: str
    kinds: tuple[str, ...]  # the kinds it covers that block some repo
    moved: tuple[str, ...]  # repos it moves out of blocked, given the steps before
    cumulative: int
    # the target's values that already say all of it: a mapping to write, not a feature to add
    mapping: tuple[str, ...] = ()


@dataclass(frozen=True)
class Held:
    repo: str
    why: tuple[str, ...]  # stable names: `other`, or the outcome kinds that hold it


@dataclass(frozen=True)
class Gaps:
    central: str
    target_version: str
    repos: int
    blocked: int
    review: int
    kinds: tuple[KindGap, ...]  # most blocked repos first
    order: tuple[Step, ...]
    movable: int  # blocked repos some set of features moves
    held: tuple[Held, ...]  # blocked repos no feature moves, and why


@dataclass(frozen=True)
class _Blocked:
    repo: str
    features: frozenset[str]  # what it needs added
    kinds: frozenset[str]
    held: tuple[str, ...]


def gaps(fleet: FleetPlan) -> Gaps:
    central = fleet.central
    blocked = [_blocked(plan) for plan in fleet.repos if plan.verdict is Verdict.BLOCKED]
    movable = [b for b in blocked if not b.held]
    order = unblock_order({b.repo: b.features for b in movable},
                          {b.repo: b.kinds for b in movable})
    by_kind = _kinds(fleet)
    return Gaps(
        central=central.name, target_version=central.target_version, repos=len(fleet.repos),
        blocked=len(blocked), review=fleet.count(Verdict.REVIEW),
        kinds=by_kind, order=tuple(_with_mapping(s, by_kind) for s in order),
        movable=len(movable),
        held=tuple(Held(b.repo, b.held) for b in blocked if b.held))


def _with_mapping(step: Step, by_kind: Sequence[KindGap]) -> Step:
    """A step whose every item the target already expresses needs a mapping, not a feature."""
    found = [k for k in by_kind if k.kind in step.kinds]
    if not found or any(k.expressed_items < k.items or not k.at_target for k in found):
        return step
    return replace(step, mapping=tuple(dict.fromkeys(key for k in found for key in k.at_target)))


def _blocked(plan: RepoPlan) -> _Blocked:
    found: set[str] = set()
    held: list[str] = []
    charts = [c for c in plan.charts if c.verdict is Verdict.BLOCKED]
    if not charts:  # blocked by the repo itself, not by one of its charts
        held.append(plan.outcome.kind.value)
    for chart in charts:
        held.extend(_held(chart))
        for c in chart.customizations:
            if not c.blocks:
                continue
            if kinds.coverable(c.kind):
                found.add(c.kind)
            else:
                held.append(c.kind)
    return _Blocked(plan.repo.name, frozenset(kinds.feature(k) for k in found),
                    frozenset(found), tuple(dict.fromkeys(held)))


def _held(chart: ChartPlan) -> list[str]:
    why = [o.kind.value for o in chart.held_by]
    if chart.outcome.kind not in kinds.FROM_DIFFERENCES:
        why.insert(0, chart.outcome.kind.value)
    elif not any(c.blocks for c in chart.customizations):
        why.append("not-classified")  # a plan from before the kinds existed
    return why


def unblock_order(needs: dict[str, frozenset[str]],
                  kinds_of: dict[str, frozenset[str]] | None = None) -> tuple[Step, ...]:
    """`needs`: repo -> the features it needs added. Greedy: the feature that moves the most
    repos not moved yet; ties go to the feature more repos still need, then to its name."""
    covered: set[str] = set()
    moved: set[str] = set()
    steps: list[Step] = []
    while len(moved) < len(needs):
        waiting = {r: f - covered for r, f in needs.items() if r not in moved}
        candidates = sorted({f for missing in waiting.values() for f in missing})
        if not candidates:  # needs nothing: moves with what is there
            break
        pick = min(candidates, key=lambda f: _score(f, waiting.values()))
        covered.add(pick)
        now = sorted(r for r, missing in waiting.items() if missing <= {pick})
        moved.update(now)
        covers = sorted({k for r in (kinds_of or {}) for k in (kinds_of or {})[r]
                         if kinds.feature(k) == pick})
        steps.append(Step(pick, tuple(covers), tuple(now), len(moved)))
    return tuple(steps)


def _score(feature: str, waiting: Iterable[frozenset[str]]) -> tuple[int, int, str]:
    """Lowest first: the most repos moved, then the most repos that still need it."""
    missing = list(waiting)
    moves = sum(1 for m in missing if m <= {feature})
    wanted = sum(1 for m in missing if feature in m)
    return (-moves, -wanted, feature)


def _kinds(fleet: FleetPlan) -> tuple[KindGap, ...]:
    target = fleet.central.target_version
    by_kind: dict[str, list[tuple[RepoPlan, ChartPlan, int]]] = {}
    for plan in fleet.repos:
        if plan.verdict not in (Verdict.BLOCKED, Verdict.REVIEW):
            continue
        for chart in plan.charts:
            for i, c in enumerate(chart.customizations):
                by_kind.setdefault(c.kind, []).append((plan, chart, i))
    out = []
    for kind, found in by_kind.items():
        items = [chart.customizations[i] for _, chart, i in found]
        blocking = [(p, ch) for (p, ch, i) in found
                    if ch.customizations[i].blocks and p.verdict is Verdict.BLOCKED]
        expressed = _union(v for c in items for v in c.expressed_by)
        out.append(KindGap(
            kind=kind, feature=kinds.feature(kind), coverable=kinds.coverable(kind),
            blocked_repos=_unique(p.repo.name for p, _ in blocking),
            blocked_charts=_charts((p.repo.name, ch.path) for p, ch in blocking),
            seen_repos=_unique(p.repo.name for p, _, _ in found),
            seen_charts=_charts((p.repo.name, ch.path) for p, ch, _ in found),
            items=len(items),
            examples=_examples(found),
            expressed_by=expressed,
            expressed_items=sum(1 for c in items if c.expressed_by),
            at_target=tuple(v.key for v in expressed if target in v.versions)))
    return tuple(sorted(out, key=lambda g: (-len(g.blocked_repos), -len(g.seen_repos),
                                            g.kind)))


def _examples(found: Sequence[tuple[RepoPlan, ChartPlan, int]]) -> tuple[Example, ...]:
    # blocking ones first, one per repo while there are other repos to show
    ranked = sorted(found, key=lambda f: (not f[1].customizations[f[2]].blocks,
                                          f[0].repo.name, f[1].path, f[2]))
    picked: list[tuple[RepoPlan, ChartPlan, int]] = []
    for entry in ranked:
        if len(picked) < EXAMPLES and all(entry[0] is not p[0] for p in picked):
            picked.append(entry)
    for entry in ranked:
        if len(picked) < EXAMPLES and entry not in picked:
            picked.append(entry)
    return tuple(Example(plan.repo.name, chart.path, chart.customizations[i].resource,
                         chart.customizations[i].paths, chart.customizations[i].where)
                 for plan, chart, i in picked)


def _union(values: Iterable[CentralValue]) -> tuple[CentralValue, ...]:
    merged: dict[tuple[str, str | None], list[str]] = {}
    for v in values:
        versions = merged.setdefault((v.key, v.setting), [])
        versions.extend(x for x in v.versions if x not in versions)
    return tuple(CentralValue(key, tuple(sorted(vs, key=version_key)), setting)
                 for (key, setting), vs in merged.items())


def _charts(pairs: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    return tuple(f"{repo}: {path}" for repo, path in sorted(set(pairs)))


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(items)))
