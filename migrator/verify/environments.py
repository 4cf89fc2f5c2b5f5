"""Render each environment of a fork and of its migration, compare, and repair what values can
express.

A difference the central chart can express as a value (a hard-coded pod annotation, a name) is
repaired and proved by a second render; a repair every environment needed moves to the base file.
The fork's renders are kept: the deploy check compares the rewritten deploys with them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from migrator import tree
from migrator.errors import RenderError
from migrator.mapping import Rule
from migrator.model import (
    DiffClass,
    Difference,
    Environment,
    EnvResult,
    Kind,
    Outcome,
    ValueDecision,
    ValueReason,
    ValuesPlan,
)
from migrator.values.flags import dynamic, flag_values
from migrator.values.read import ForkValues
from migrator.verify import hatches, kpi, manifests, render, repair
from migrator.verify.render import LoadedChart

MAX_REPAIR_ROUNDS = 3


@dataclass(frozen=True)
class Sides:
    """What verify compares: the fork as it deploys today, the central chart it moves to."""

    fork: LoadedChart
    fork_path: str  # repo-relative: how render errors name the fork's templates
    fork_values: ForkValues
    target: LoadedChart
    rules: tuple[Rule, ...]  # the fork's keys to the target's, for --set flags
    cosmetic_keys: tuple[str, ...]


@dataclass(frozen=True)
class Verified:
    """The values check of one chart: every environment rendered before and after."""

    values: ValuesPlan  # the extracted values with the repairs that proved themselves
    environments: tuple[EnvResult, ...]  # values_files not yet known (the rewrite decides)
    before: Mapping[str, manifests.Rendered]  # env -> the fork as it deploys today
    after_values: Mapping[str, dict[str, Any]]  # env -> what the central chart was rendered with
    # render-equal, yet not ready: a hatch would freeze a deploy-time value (one per env)
    held: tuple[Outcome, ...] = ()


@dataclass(frozen=True)
class _EnvCheck:
    result: EnvResult
    before: manifests.Rendered | None = None
    after_values: dict[str, Any] | None = None
    repairs: tuple[ValueDecision, ...] = ()
    held: Outcome | None = None


def render_release(chart: LoadedChart, values: Mapping[str, Any], env: Environment,
                   origin: str) -> manifests.Rendered:
    rendered = render.render(chart, values, release=env.release, namespace=env.namespace,
                             origin=origin, environment=env.name)
    return manifests.index(render.parse_manifests(rendered), env.namespace)


def render_fork(sides: Sides, env: Environment) -> manifests.Rendered:
    """The fork as `env` deploys it today (dynamic flags render as their literal text)."""
    values = tree.merge(sides.fork_values.by_env.get(env.name, {}),
                        flag_values(dynamic(env.set_flags), ()))
    return render_release(sides.fork, values, env, sides.fork_path)


def verify_environments(sides: Sides, environments: Sequence[Environment], planned: ValuesPlan
                        ) -> Verified:
    checks = [_check_env(sides, env, planned) for env in environments]
    repairs = [d for c in checks for d in c.repairs]
    values, envs = _hoist(planned, tuple(c.result for c in checks), repairs)
    return Verified(
        values=values,
        environments=envs,
        before={c.result.name: c.before for c in checks if c.before is not None},
        after_values={c.result.name: c.after_values for c in checks
                      if c.after_values is not None and c.result.failure is None},
        held=tuple(c.held for c in checks if c.held is not None),
    )


def _check_env(sides: Sides, env: Environment, planned: ValuesPlan) -> _EnvCheck:
    target, cosmetic_keys = sides.target, sides.cosmetic_keys
    result = EnvResult(name=env.name, release=env.release, namespace=env.namespace,
                       values_files=(), values=planned.envs.get(env.name, {}), differences=())
    try:
        before = render_fork(sides, env)
    except RenderError as exc:
        return _EnvCheck(_failed(result, Kind.FORK_RENDER_FAILED, exc))
    flags = flag_values(dynamic(env.set_flags), sides.rules)
    current = tree.merge(planned.base, planned.envs.get(env.name, {}))
    try:
        after = render_release(target, tree.merge(current, flags), env, target.name)
    except RenderError as exc:
        return _EnvCheck(_failed(result, Kind.CENTRAL_RENDER_FAILED, exc), before)
    diffs = manifests.compare(before, after, cosmetic_keys)
    repairs: list[ValueDecision] = []
    for _ in range(MAX_REPAIR_ROUNDS):
        if not _worth_repairing(diffs):
            break
        proposals = repair.propose(before, after, target.values, current, cosmetic_keys)
        if not proposals:
            break
        trial = repair.apply(current, proposals)
        try:
            trial_after = render_release(target, tree.merge(trial, flags), env, target.name)
        except RenderError:
            break
        trial_diffs = manifests.compare(before, trial_after, cosmetic_keys)
        if _badness(trial_diffs) >= _badness(diffs):
            break
        repairs.extend(_repair_decision(p, env.name) for p in proposals)
        current, after, diffs = trial, trial_after, trial_diffs
    return _EnvCheck(
        replace(result, values=_env_part(current, planned.base), differences=tuple(diffs),
                kpis_before=kpi.evaluate(manifests.objects_of(before)),
                kpis_after=kpi.evaluate(manifests.objects_of(after))),
        before, tree.merge(current, flags), tuple(repairs),
        hatches.frozen_deploy_values(current, env.set_flags, env.name))


def _failed(result: EnvResult, kind: Kind, exc: RenderError) -> EnvResult:
    return replace(result, failure=Outcome(kind, detail=str(exc), environments=(result.name,)))


def _worth_repairing(diffs: Sequence[Difference]) -> bool:
    return any(d.diff_class is not DiffClass.COSMETIC for d in diffs)


def _badness(diffs: Sequence[Difference]) -> tuple[int, int]:
    return (sum(1 for d in diffs if d.diff_class is DiffClass.DESTRUCTIVE),
            sum(len(d.paths) or 1 for d in diffs if d.diff_class is not DiffClass.COSMETIC))


def _repair_decision(p: repair.Proposal, env: str) -> ValueDecision:
    reason: ValueReason = "identity" if p.path == "fullnameOverride" else "repair"
    return ValueDecision(p.path, reason, p.value, env=env, note=p.note)


def _env_part(current: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    flat_base = dict(tree.leaves(dict(base)))
    for path, value in tree.leaves(dict(current)):
        if path not in flat_base or not tree.same(flat_base[path], value):
            tree.put(out, path, value)
    return out


def _hoist(planned: ValuesPlan, envs: tuple[EnvResult, ...], repairs: Sequence[ValueDecision]
           ) -> tuple[ValuesPlan, tuple[EnvResult, ...]]:
    """A repair every environment needed belongs in the base file, said once."""
    if not repairs:
        return planned, envs

    def key(d: ValueDecision) -> tuple[str, str]:
        return d.path, json.dumps(d.value, sort_keys=True)

    needed_by: dict[tuple[str, str], set[str]] = {}
    for d in repairs:
        needed_by.setdefault(key(d), set()).add(d.env or "")
    env_names = {e.name for e in envs if e.failure is None}
    common = {k for k, names in needed_by.items() if names >= env_names}
    hoisted = list({key(d): replace(d, env=None) for d in repairs if key(d) in common}.values())
    base = repair.apply(planned.base, [repair.Proposal(d.path, d.value, d.note)
                                       for d in hoisted])
    kept = [*hoisted, *(d for d in repairs if key(d) not in common)]
    new_envs = []
    for e in envs:
        if e.failure is None:
            full = tree.merge(tree.merge(planned.base, planned.envs.get(e.name, {})), e.values)
            e = replace(e, values=_env_part(full, base))
        new_envs.append(e)
    values = ValuesPlan(base=base, envs={e.name: e.values for e in new_envs if e.values},
                        decisions=(*planned.decisions, *kept))
    return values, tuple(new_envs)
