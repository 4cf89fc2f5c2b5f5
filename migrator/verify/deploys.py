"""Check every rewritten deploy as it will run: its values files as the change set leaves them,
its remaining flags, its release and namespace.

A deploy that passes exactly what the environment check rendered proves nothing new and is not
rendered again; one that differs (another release, a flag the values check could not see) is
rendered and compared with the fork as that same command deploys it today.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from migrator import tree
from migrator.errors import RenderError
from migrator.model import Difference, Environment, EnvResult, Kind, Outcome
from migrator.rewrite.target import DeployAfter
from migrator.values.flags import flag_values
from migrator.verify import manifests, render
from migrator.verify.environments import Sides, Verified, render_fork, render_release


@dataclass(frozen=True)
class DeployCheck:
    environments: tuple[EnvResult, ...]  # with what the deploys showed beyond the values check
    failure: Outcome | None = None  # a rewritten deploy that does not render


def check_deploys(sides: Sides, verified: Verified, environments: Sequence[Environment],
                  deploys: Sequence[DeployAfter], read: Callable[[str], str],
                  nest_under: str | None = None) -> DeployCheck:
    """`read` gives a values file's text as the change set leaves it; `nest_under` is the
    dependency alias the values are nested under (the `dependency` style)."""
    envs = {e.name: e for e in environments}
    extra: dict[str, list[Difference]] = {}
    for dep in deploys:
        env = envs.get(dep.env)
        if env is None or dep.env not in verified.after_values:
            continue  # no fork render to compare with: the environment failed already
        where = f"{dep.invocation.file}:{dep.invocation.line}"
        try:
            values = _deploy_values(dep, read, sides, nest_under)
        except RenderError as exc:  # a --set flag Helm's parser refuses
            return DeployCheck(verified.environments, _failed(dep, exc))
        deploy_env = replace(env, release=_static_or(dep.release, env.release),
                             namespace=_static_or(dep.namespace, env.namespace))
        elsewhere = (deploy_env.release, deploy_env.namespace) != (env.release, env.namespace)
        if not elsewhere and tree.same(values, verified.after_values[dep.env]):
            continue  # exactly what the environment check rendered
        try:
            # A deploy elsewhere than the environment's main one is compared with the fork as
            # this same command deploys it today.
            before = (render_fork(sides, deploy_env) if elsewhere
                      else verified.before[dep.env])
            after = render_release(sides.target, values, deploy_env, sides.target.name)
        except RenderError as exc:
            return DeployCheck(verified.environments, _failed(dep, exc))
        known = {(d.resource, d.paths) for r in verified.environments if r.name == dep.env
                 for d in r.differences}
        for d in manifests.compare(before, after, sides.cosmetic_keys):
            if (d.resource, d.paths) not in known:
                extra.setdefault(dep.env, []).append(
                    replace(d, why=f"{d.why}; as deployed by {where}"))
    return DeployCheck(tuple(replace(e, differences=(*e.differences, *extra.get(e.name, ())))
                             for e in verified.environments))


def _failed(dep: DeployAfter, exc: RenderError) -> Outcome:
    return Outcome(Kind.DEPLOY_RENDER_FAILED, detail=str(exc), file=dep.invocation.file,
                   line=dep.invocation.line, environments=(dep.env,))


def _deploy_values(dep: DeployAfter, read: Callable[[str], str], sides: Sides,
                   nest_under: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for rel in dep.values_files:
        values = tree.merge(values, render.parse_values(read(rel), rel))
    if nest_under is not None:
        nested = values.get(nest_under, {})
        values = nested if isinstance(nested, dict) else {}
    return tree.merge(values, flag_values(dep.set_flags, sides.rules))


def _static_or(value: str | None, fallback: str | None) -> Any:
    return value if value and "$" not in value else fallback


