"""verify: render the fork and the migrated deploy, compare, repair what values can express,
and decide the verdict.

A difference the central chart can express as a value is repaired and proved by a second render;
each rewritten deploy command is rendered as it will run. The verdict follows the worst
difference: destructive -> blocked; functional from an edited template -> blocked (the central
chart cannot express it); other functional -> review; cosmetic or none -> ready.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from migrator import tree
from migrator.errors import RenderError, RepoError
from migrator.model import (
    DiffClass,
    Difference,
    Environment,
    EnvResult,
    Lineage,
    ValueDecision,
    ValueReason,
    Verdict,
)
from migrator.pipeline.work import ChartWork, Context, dynamic, flag_values, read_text, render_env
from migrator.rewrite import RewriteResult
from migrator.verify import kpi, manifests, render, repair

MAX_REPAIR_ROUNDS = 3


def verify_env(work: ChartWork, env: Environment, ctx: Context) -> EnvResult:
    """Render the fork and the migrated deploy for one environment and compare them."""
    fork, planned = work.prepared()
    result = EnvResult(name=env.name, release=env.release, namespace=env.namespace,
                       values_files=(), values=planned.envs.get(env.name, {}), differences=())
    try:
        fork_values = tree.merge(work.env_user.get(env.name, {}),
                                 flag_values(dynamic(env.set_flags), ()))
        before = render_env(fork, fork_values, env, f"{work.chart.path}")
    except RenderError as exc:
        return replace(result, error=f"does not render: {exc}")
    work.before[env.name] = before
    flags = flag_values(dynamic(env.set_flags), work.rules)
    current = tree.merge(planned.base, planned.envs.get(env.name, {}))
    try:
        after = render_env(ctx.target, tree.merge(current, flags), env, ctx.target.name)
    except RenderError as exc:
        return replace(result, error=f"the central chart does not render with the extracted "
                                     f"values: {exc}")
    diffs = manifests.compare(before, after, ctx.cosmetic_keys)
    rounds = 0
    while _worth_repairing(diffs) and rounds < MAX_REPAIR_ROUNDS:
        rounds += 1
        proposals = repair.propose(before, after, ctx.target.values, current,
                                   ctx.cosmetic_keys)
        if not proposals:
            break
        trial = repair.apply(current, proposals)
        try:
            trial_after = render_env(ctx.target, tree.merge(trial, flags), env, ctx.target.name)
        except RenderError:
            break
        trial_diffs = manifests.compare(before, trial_after, ctx.cosmetic_keys)
        if _badness(trial_diffs) >= _badness(diffs):
            break
        _record_repairs(work, env.name, proposals)
        current, after, diffs = trial, trial_after, trial_diffs
    return replace(
        result,
        values=_env_part(current, planned.base),
        differences=tuple(diffs),
        kpis_before=kpi.evaluate(manifests.objects_of(before)),
        kpis_after=kpi.evaluate(manifests.objects_of(after)),
    )


def _worth_repairing(diffs: Sequence[Difference]) -> bool:
    return any(d.diff_class is not DiffClass.COSMETIC for d in diffs)


def _badness(diffs: Sequence[Difference]) -> tuple[int, int]:
    return (sum(1 for d in diffs if d.diff_class is DiffClass.DESTRUCTIVE),
            sum(len(d.paths) or 1 for d in diffs if d.diff_class is not DiffClass.COSMETIC))


def _record_repairs(work: ChartWork, env: str, proposals: Sequence[repair.Proposal]) -> None:
    for p in proposals:
        reason: ValueReason = "identity" if p.path == "fullnameOverride" else "repair"
        work.repairs.append(ValueDecision(p.path, reason, p.value, env=env, note=p.note))


def _env_part(current: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    flat_base = dict(tree.leaves(dict(base)))
    for path, value in tree.leaves(dict(current)):
        if path not in flat_base or not tree.same(flat_base[path], value):
            tree.put(out, path, value)
    return out


def hoist_repairs(work: ChartWork, envs: tuple[EnvResult, ...]) -> tuple[EnvResult, ...]:
    """A repair every environment needed belongs in the base file, said once."""
    _, planned = work.prepared()
    if not work.repairs:
        return envs

    def key(d: ValueDecision) -> tuple[str, str]:
        return d.path, json.dumps(d.value, sort_keys=True)

    needed_by: dict[tuple[str, str], set[str]] = {}
    for d in work.repairs:
        needed_by.setdefault(key(d), set()).add(d.env or "")
    env_names = {e.name for e in envs if e.error is None}
    common = {k for k, names in needed_by.items() if names >= env_names}
    hoisted = list({key(d): replace(d, env=None) for d in work.repairs
                    if key(d) in common}.values())
    base = repair.apply(planned.base, [repair.Proposal(d.path, d.value, d.note)
                                       for d in hoisted])
    work.repairs[:] = [*hoisted, *(d for d in work.repairs if key(d) not in common)]
    new_envs = []
    for e in envs:
        if e.error is None:
            full = tree.merge(tree.merge(planned.base, planned.envs.get(e.name, {})), e.values)
            e = replace(e, values=_env_part(full, base))
        new_envs.append(e)
    work.values = replace(planned, base=base,
                          envs={e.name: e.values for e in new_envs if e.values})
    return tuple(new_envs)


def decide(found: Lineage | None, envs: Sequence[EnvResult]
           ) -> tuple[Verdict, str, tuple[str, ...]]:
    errors = [e for e in envs if e.error]
    if errors:
        return Verdict.BLOCKED, f"{errors[0].name}: {errors[0].error}", ()
    customized = _customized_templates(found)
    destructive = [(e, d) for e in envs for d in e.differences
                   if d.diff_class is DiffClass.DESTRUCTIVE]
    functional = [(e, d) for e in envs for d in e.differences
                  if d.diff_class is DiffClass.FUNCTIONAL]
    findings = _findings(destructive + functional, customized)
    if destructive:
        env, d = destructive[0]
        what = f"{', '.join(d.paths[:3])} ({d.why})" if d.paths else d.why
        return (Verdict.BLOCKED,
                f"destructive: {d.resource} {what} in {env.name}"
                + _more(len(destructive)), findings)
    if functional and customized:
        env, d = functional[0]
        return (Verdict.BLOCKED,
                f"template customization the central chart cannot express: "
                f"{', '.join(sorted(customized))} ({d.resource}: {', '.join(d.paths[:3])})",
                findings)
    if functional:
        env, d = functional[0]
        return (Verdict.REVIEW,
                f"functional differences: {d.resource} {', '.join(d.paths[:3])} in {env.name}"
                + _more(len(functional)), findings)
    cosmetic = sum(len(d.paths) for e in envs for d in e.differences)
    names = ", ".join(e.name for e in envs)
    ignoring = f" (ignoring {cosmetic} descriptive fields)" if cosmetic else ""
    return Verdict.READY, f"rendered manifests identical in {names}{ignoring}", ()


def _more(count: int) -> str:
    return f" and {count - 1} more" if count > 1 else ""


def _customized_templates(found: Lineage | None) -> set[str]:
    if found is None:
        return set()
    return {t.file for t in found.templates if t.score < 1.0}


def _findings(diffs: Sequence[tuple[EnvResult, Difference]], customized: set[str]
              ) -> tuple[str, ...]:
    """What the central chart would need to offer for this repo to migrate unchanged."""
    out: list[str] = []
    for _, d in diffs:
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


def verify_deploys(work: ChartWork, result: RewriteResult,
                    writes: Mapping[str, bytes | None], workdir: Path, ctx: Context
                    ) -> dict[str, list[Difference]]:
    """Differences a rewritten deploy shows that the values check alone did not."""
    extra: dict[str, list[Difference]] = {}
    envs = {e.name: e for e in work.chart.environments}
    for dep in result.deploys:
        before = work.before.get(dep.env)
        env = envs.get(dep.env)
        if before is None or env is None:
            continue
        values: dict[str, Any] = {}
        for rel in dep.values_files:
            content = writes.get(rel)
            text = content.decode() if content is not None else read_text(workdir, rel)
            values = tree.merge(values, render.parse_values(text, rel))
        if ctx.style == "dependency":
            values = values.get(work.chart.name, {})
        values = tree.merge(values, flag_values(dep.set_flags, work.rules))
        # A release or namespace spelled with a run-time variable renders as the environment's.
        deploy_env = replace(env, release=_static_or(dep.release, env.release),
                             namespace=_static_or(dep.namespace, env.namespace))
        where = f"{dep.invocation.file}:{dep.invocation.line}"
        try:
            if (deploy_env.release, deploy_env.namespace) != (env.release, env.namespace):
                # This command deploys elsewhere than the environment's main deploy: compare
                # it with the fork as this same command deploys it today.
                fork, _ = work.prepared()
                fork_values = tree.merge(work.env_user.get(env.name, {}),
                                         flag_values(dynamic(env.set_flags), ()))
                before = render_env(fork, fork_values, deploy_env, work.chart.path)
            after = render_env(ctx.target, values, deploy_env, ctx.target.name)
        except RenderError as exc:
            raise RepoError(f"{where}: the rewritten deploy does not render: {exc}") from exc
        known = {(d.resource, d.paths) for r in work.result.environments
                 if r.name == dep.env for d in r.differences}
        for d in manifests.compare(before, after, ctx.cosmetic_keys):
            if (d.resource, d.paths) not in known:
                extra.setdefault(dep.env, []).append(
                    replace(d, why=f"{d.why}; as deployed by {where}"))
    return extra


def _static_or(value: str | None, fallback: str | None) -> Any:
    return value if value and "$" not in value else fallback


def fold(work: ChartWork, extra: Mapping[str, list[Difference]], result: RewriteResult
          ) -> None:
    chart = work.result
    envs = tuple(replace(e, differences=(*e.differences, *extra.get(e.name, ())))
                 for e in chart.environments)
    verdict, reason, findings = decide(chart.lineage, envs)
    if verdict is Verdict.READY and result.untouched:
        ref, why = result.untouched[0]
        verdict = Verdict.REVIEW
        reason = (f"{len(result.untouched)} deploy reference(s) left for a person: "
                  f"{ref.file}:{ref.line} ({why})")
    if chart.verdict is Verdict.BLOCKED and chart.reason.startswith(("does not render", "prod")):
        return
    work.result = replace(chart, environments=envs, verdict=verdict, reason=reason,
                          findings=findings or chart.findings)
