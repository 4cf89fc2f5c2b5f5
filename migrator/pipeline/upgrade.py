"""Upgrade a repo already on the central chart to the target version, across breaking majors.

The same mechanism as a migration, with the central chart's older version as the origin: each
values file the deploys pass is translated by the mappings (renamed keys move with their
comments), defaults the target changed are pinned (or adopted) as for a fork, every deploy's
`--version` is bumped, and both versions are rendered to prove what the cluster would see.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from migrator import git, tree
from migrator.errors import ConfigError, RenderError, RepoError
from migrator.locate.charts import DEPLOYING, Located, env_name
from migrator.locate.helmcmd import parse_helm_command
from migrator.locate.refs import values_paths
from migrator.mapping import Rule, chain, translate
from migrator.model import (
    ChartPlan,
    Environment,
    EnvResult,
    HelmInvocation,
    Kind,
    Lineage,
    Outcome,
    RepoPlan,
    RepoRef,
    ValueDecision,
    ValuesPlan,
)
from migrator.pipeline.context import Context
from migrator.rewrite.command import Edit, apply_edits, set_flag_value, text_edits
from migrator.rewrite.scripts import locate as locate_command
from migrator.values.files import render_values
from migrator.values.flags import dynamic, flag_values, static
from migrator.values.read import read_text
from migrator.verify import kpi, manifests, render
from migrator.verify.decide import decide
from migrator.verify.environments import render_release
from migrator.versions import version_key

_SCRIPT_SOURCES = {"gitlab-ci": False, "makefile": True, "shell": False}  # source -> make syntax


@dataclass
class _Upgrade:
    writes: dict[str, bytes | None] = field(default_factory=dict)
    decisions: dict[str, list[ValueDecision]] = field(default_factory=dict)  # by file
    envs: list[EnvResult] = field(default_factory=list)
    untouched: list[tuple[HelmInvocation, str]] = field(default_factory=list)
    origins: set[str] = field(default_factory=set)
    file_values: dict[str, dict[str, Any]] = field(default_factory=dict)  # after the upgrade


def outdated(located: Located, ctx: Context) -> list[HelmInvocation]:
    """Deploys of the central chart pinned to a version older than the target."""
    target = version_key(ctx.target_version)
    return [r for r in located.central_references
            if r.subcommand in DEPLOYING and r.version and "$" not in r.version
            and version_key(r.version) < target]


def plan_upgrade(repo: RepoRef, workdir: Path, commit: str | None,
                 deploys: Sequence[HelmInvocation], ctx: Context) -> RepoPlan:
    work = _Upgrade()
    seen: set[tuple[tuple[str, ...], str | None, str | None]] = set()
    for ref in deploys:
        files = values_paths(ref)
        key = (files, ref.release, ref.namespace)
        if key in seen:
            continue
        seen.add(key)
        work.envs.append(_upgrade_env(workdir, ref, files, ctx, work))
    _bump_versions(workdir, deploys, ctx.target_version, work)
    decision = decide(None, work.envs, work.untouched)
    origins = ", ".join(sorted(work.origins, key=version_key))
    outcome = replace(decision.outcome, upgrade_from=origins)
    chart = ChartPlan(
        path=".", name=ctx.catalog.central, outcome=outcome,
        release=work.envs[0].release if work.envs else None,
        lineage=Lineage(ctx.catalog.central, min(work.origins, key=version_key), 1.0, ()),
        values=_values_plan(work),
        environments=tuple(work.envs), findings=decision.findings,
        source_values_files=tuple(dict.fromkeys(f for e in work.envs for f in e.values_files)),
    )
    untouched = {(r.file, r.line) for r, _ in work.untouched}
    references = tuple(replace(r, rewritable=(r.file, r.line) not in untouched)
                       for r in deploys)
    patch = None
    verdict = outcome.verdict
    if ctx.proposes(verdict):
        patch = git.patch_for(workdir, work.writes) or None
    return RepoPlan(repo, commit, outcome, (chart,), references, patch, kind="upgrade")


def _values_plan(work: _Upgrade) -> ValuesPlan:
    """The values files after the upgrade: those every deploy passes make the base."""
    base: dict[str, Any] = {}
    envs: dict[str, dict[str, Any]] = {}
    decisions: list[ValueDecision] = []
    for rel, values in work.file_values.items():
        users = [e.name for e in work.envs if rel in e.values_files]
        shared = len(users) == len(work.envs)
        if shared:
            base = tree.merge(base, values)
        else:
            for env in users:
                envs[env] = tree.merge(envs.get(env, {}), values)
        owner = None if shared or len(users) != 1 else users[0]
        decisions.extend(replace(d, env=owner) for d in work.decisions.get(rel, ()))
    return ValuesPlan(base=base, envs=envs, decisions=tuple(decisions))


def _upgrade_env(workdir: Path, ref: HelmInvocation, files: tuple[str, ...], ctx: Context,
                 work: _Upgrade) -> EnvResult:
    version = ref.version or ""
    try:
        origin = ctx.catalog.get(version)
    except ConfigError as exc:
        raise RepoError(f"deploys {ctx.catalog.central} {version}, which the central source "
                        "does not publish", file=ref.file, line=ref.line) from exc
    work.origins.add(version)
    rules = tuple(r for m in chain(ctx.mappings, ctx.catalog.central, version,
                                   ctx.target_version) for r in m.rules)
    env = Environment(name=env_name(ref, files), values_files=files,
                      release=ref.release or ctx.catalog.central,
                      release_source=f"{ref.file}:{ref.line}", namespace=ref.namespace,
                      set_flags=ref.set_flags)
    before_values: dict[str, Any] = {}
    after_values: dict[str, Any] = {}
    for rel in files:
        text = read_text(workdir, rel, env.release_source)
        values = render.parse_values(text, rel)
        translated = translate(values, rules)
        before_values = tree.merge(before_values, values)
        after_values = tree.merge(after_values, translated.values)
        work.file_values.setdefault(rel, translated.values)
        if translated.renamed and rel not in work.writes:
            work.writes[rel] = render_values(translated.values, text, rules).encode()
            work.decisions[rel] = [
                ValueDecision(new, "deliberate", tree.get(translated.values, tree.undotted(new)),
                              source=old, note=f"{rel}: renamed for {ctx.catalog.central} "
                                               f"{ctx.target_version}")
                for old, new in translated.renamed]
    pins = _pins(origin.values, ctx, rules, tree.coalesce(origin.values, after_values))
    if pins and files:
        first = files[0]
        written = work.writes.get(first)
        text = written.decode() if written else read_text(workdir, first)
        pinned = tree.merge(render.parse_values(text, first), pins)
        work.writes[first] = render_values(pinned, text, (), [
            ValueDecision(tree.dotted(p), "inherited-pinned", v) for p, v in tree.leaves(pins)
        ]).encode()
        after_values = tree.merge(after_values, pins)
        work.file_values[first] = tree.merge(work.file_values[first], pins)
        known = work.decisions.setdefault(first, [])
        known.extend(
            ValueDecision(tree.dotted(p), "inherited-pinned", v, origin_value=v,
                          central_value=tree.get(ctx.target.values, p, None), note=first)
            for p, v in tree.leaves(pins)
            if not any(d.path == tree.dotted(p) and d.reason == "inherited-pinned"
                       for d in known))
    before_values = tree.merge(before_values, flag_values(static(env.set_flags), ()))
    after_values = tree.merge(after_values, flag_values(static(env.set_flags), rules))
    dynamic_flags = dynamic(env.set_flags)
    result = EnvResult(name=env.name, release=env.release, namespace=env.namespace,
                       values_files=files, values={}, differences=())
    try:
        before = render_release(origin, tree.merge(before_values, flag_values(dynamic_flags, ())),
                                env, f"{origin.name} {version}")
    except RenderError as exc:
        return replace(result, failure=Outcome(Kind.FORK_RENDER_FAILED, detail=str(exc),
                                               environments=(env.name,)))
    try:
        after = render_release(ctx.target, tree.merge(after_values,
                                                      flag_values(dynamic_flags, rules)),
                               env, f"{ctx.target.name} {ctx.target_version}")
    except RenderError as exc:
        return replace(result, failure=Outcome(Kind.CENTRAL_RENDER_FAILED, detail=str(exc),
                                               environments=(env.name,)))
    return replace(result,
                   differences=tuple(manifests.compare(before, after, ctx.cosmetic_keys)),
                   kpis_before=kpi.evaluate(manifests.objects_of(before)),
                   kpis_after=kpi.evaluate(manifests.objects_of(after)))


def _pins(origin_defaults: dict[str, Any], ctx: Context, rules: Sequence[Rule],
          effective: dict[str, Any]) -> dict[str, Any]:
    """Defaults the target changed that the deploy relies on: pinned under the `pin` policy."""
    if ctx.policy != "pin":
        return {}
    translated_origin = translate(origin_defaults, rules).values
    translated_effective = translate(effective, rules).values
    pins: dict[str, Any] = {}
    for path, value in tree.leaves(translated_origin):
        target = tree.get(ctx.target.values, path)
        used = tree.get(translated_effective, path)
        if target is not tree.MISSING and tree.same(used, value) and not tree.same(value, target):
            tree.put(pins, path, value)
    return pins


def _bump_versions(workdir: Path, deploys: Sequence[HelmInvocation], version: str,
                   work: _Upgrade) -> None:
    """`--version <old>` becomes the target in every deploy command the tool can edit."""
    edits: dict[str, list[Edit]] = {}
    texts: dict[str, str] = {}
    for ref in deploys:
        make = _SCRIPT_SOURCES.get(ref.source)
        parsed = parse_helm_command(ref.text, folded=True)
        if make is None or parsed is None:
            work.untouched.append((ref, f"`--version` in {ref.source} files is not bumped"))
            continue
        if ref.file not in texts:
            texts[ref.file] = read_text(workdir, ref.file)
        text = texts[ref.file]
        found = locate_command(text, ref.line, [w.value for w in parsed.words], make)
        uses = found.parsed.flag_uses("--version") if found else ()
        if found is None or not uses:
            work.untouched.append((ref, "the command's `--version` could not be found"))
            continue
        ops = set_flag_value(found.parsed, uses[0], version)
        edits.setdefault(ref.file, []).extend(
            Edit(e.start + found.offset, e.end + found.offset, e.text)
            for e in text_edits(found.parsed, ops))
    for rel, file_edits in edits.items():
        unique = sorted(set(file_edits), key=lambda e: (e.start, e.end))
        work.writes[rel] = apply_edits(texts[rel], unique).encode()
