"""Plan one repository: locate -> lineage -> values -> verify -> change set.

Takes a checked-out repository (the clone cache) and the run's shared context; returns a RepoPlan.
Nothing here writes outside a temporary directory, and nothing from the repository is executed:
charts are rendered by Helm's template engine, deploy files are parsed.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from migrator import __version__, git, kpi, tree
from migrator.chart import lineage as lineage_stage
from migrator.chart import manifests, render, repair
from migrator.chart.central import Catalog
from migrator.chart.locate import Located, locate
from migrator.chart.render import LoadedChart
from migrator.chart.values import Policy, ValuesInputs, plan_values
from migrator.errors import MigratorError, RenderError, RepoError
from migrator.mapping import Mapping as ValuesMapping
from migrator.mapping import Rule, chain, translate
from migrator.model import (
    ChartPlan,
    DiffClass,
    Difference,
    EmbeddedChart,
    Environment,
    EnvResult,
    Lineage,
    RepoPlan,
    RepoRef,
    SetFlag,
    ValueDecision,
    ValueReason,
    ValuesPlan,
    Verdict,
)
from migrator.refs import find_references
from migrator.valuesfile import render_values

MAX_REPAIR_ROUNDS = 3


@dataclass(frozen=True)
class Context:
    """What every repo of a run shares: loaded once, read by all workers."""

    catalog: Catalog
    target_version: str
    mappings: tuple[ValuesMapping, ...] = ()
    policy: Policy = "pin"
    cosmetic_keys: tuple[str, ...] = manifests.DEFAULT_COSMETIC_KEYS
    values_dir: str = "deploy"  # where the migrated values files go
    force: bool = False  # propose blocked repos too
    name_key: str = "nameOverride"
    app_version_key: str = "image.tag"
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def target(self) -> LoadedChart:
        return self.catalog.get(self.target_version)


@dataclass
class _ChartWork:
    """The values files and why they hold what they hold, while verify may still repair them."""

    chart: EmbeddedChart
    fork: LoadedChart
    lineage: Lineage | None
    rules: tuple[Rule, ...]
    values: ValuesPlan
    env_user: dict[str, dict[str, Any]]
    source_texts: dict[str, str | None]  # env ("" for base) -> text of the file it is shaped on
    repairs: list[ValueDecision] = field(default_factory=list)


def plan_repo(repo: RepoRef, workdir: Path, ctx: Context) -> RepoPlan:
    started = time.monotonic()
    try:
        commit = git.head(workdir) if git.is_repo(workdir) else None
    except MigratorError:
        commit = None
    try:
        plan = _plan(repo, workdir, commit, ctx)
    except MigratorError as exc:
        plan = RepoPlan(repo, commit, Verdict.ERROR, str(exc))
    return replace(plan, seconds=round(time.monotonic() - started, 3))


def _plan(repo: RepoRef, workdir: Path, commit: str | None, ctx: Context) -> RepoPlan:
    refs = find_references(workdir)
    located = locate(workdir, refs, ctx.catalog.central)
    if not located.charts:
        return RepoPlan(repo, commit, Verdict.SKIPPED, _skip_reason(located, ctx),
                        references=located.central_references)
    many = len(located.charts) > 1
    charts = tuple(_plan_chart(workdir, chart, ctx, _values_dir(chart.name, many, ctx))
                   for chart in located.charts)
    worst = max(charts, key=lambda c: c.verdict.rank)
    reason = worst.reason if len(charts) == 1 else f"{worst.path}: {worst.reason}"
    patch = None
    if worst.verdict in (Verdict.READY, Verdict.REVIEW) or (
            ctx.force and worst.verdict is Verdict.BLOCKED):
        patch = git.patch_for(workdir, _writes(workdir, charts, located, ctx)) or None
    plan = RepoPlan(repo, commit, worst.verdict, reason, charts, located.references, patch)
    return replace(plan, plan_hash=_plan_hash(plan, ctx))


def _skip_reason(located: Located, ctx: Context) -> str:
    central = ctx.catalog.central
    if located.wrappers:
        return f"already uses the central chart {central} ({located.wrappers[0]} depends on it)"
    if located.central_references:
        ref = located.central_references[0]
        version = f" {ref.version}" if ref.version else ""
        return f"already uses the central chart {central}{version} ({ref.file}:{ref.line})"
    return "no embedded chart (no Chart.yaml outside vendored charts/)"


# --- one chart ---------------------------------------------------------------------------


def _plan_chart(workdir: Path, chart: EmbeddedChart, ctx: Context, values_dir: str
                ) -> ChartPlan:
    base = ChartPlan(path=chart.path, name=chart.name, verdict=Verdict.ERROR, reason="",
                     release=chart.environments[0].release if chart.environments else None,
                     file_count=chart.file_count, line_count=chart.line_count,
                     app_version=chart.app_version,
                     source_values_files=_source_files(chart))
    try:
        work = _prepare(workdir, chart, ctx)
    except RepoError as exc:
        return replace(base, verdict=Verdict.ERROR, reason=str(exc))
    except RenderError as exc:
        return replace(base, verdict=Verdict.BLOCKED, reason=f"does not render: {exc}")
    base = replace(base, lineage=work.lineage)
    envs = tuple(_verify_env(work, env, ctx) for env in chart.environments)
    envs = _hoist_repairs(work, envs, ctx)
    envs = tuple(replace(e, values_files=_written_files(e, values_dir)) for e in envs)
    values = replace(work.values, decisions=(*work.values.decisions, *work.repairs))
    verdict, reason, findings = _verdict(chart, work.lineage, envs)
    return replace(base, verdict=verdict, reason=reason, values=values, environments=envs,
                   findings=findings)


def _source_files(chart: EmbeddedChart) -> tuple[str, ...]:
    files = [chart.values_file] if chart.values_file else []
    for env in chart.environments:
        files.extend(f for f in env.values_files if f not in files)
    return tuple(files)


def _read_text(workdir: Path, rel: str, cited_by: str = "") -> str:
    path = workdir / rel
    if path.is_symlink() and not path.resolve().is_relative_to(workdir.resolve()):
        raise RepoError(f"{rel}: symlink points outside the repository")
    if not path.is_file():
        suffix = f" (passed by {cited_by})" if cited_by else ""
        raise RepoError(f"{rel}: values file does not exist{suffix}")
    if path.stat().st_size > render.MAX_FILE_BYTES:
        raise RepoError(f"{rel}: values file is over {render.MAX_FILE_BYTES} bytes")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RepoError(f"{rel}: not a UTF-8 text file") from exc


def _prepare(workdir: Path, chart: EmbeddedChart, ctx: Context) -> _ChartWork:
    base_text = _read_text(workdir, chart.values_file) if chart.values_file else None
    fork_defaults = (render.parse_values(base_text, chart.values_file)
                     if base_text and chart.values_file else {})
    env_user: dict[str, dict[str, Any]] = {}
    texts: dict[str, str | None] = {"": base_text}
    for env in chart.environments:
        merged: dict[str, Any] = {}
        text = None
        for rel in env.values_files:
            text = _read_text(workdir, rel, env.release_source)
            merged = tree.merge(merged, render.parse_values(text, rel))
        env_user[env.name] = merged
        texts[env.name] = text
    fork = render.load_fork(workdir, chart.path)
    found = lineage_stage.find(fork, chart.name, ctx.catalog)
    rules: tuple[Rule, ...] = ()
    origin = None
    if found is not None:
        origin = ctx.catalog.get(found.version, found.chart).values
        steps = chain(ctx.mappings, found.chart, found.version, ctx.target_version)
        rules = tuple(r for m in steps for r in m.rules)
        if steps:
            found = replace(found, mapping=", ".join(m.name for m in steps))
    target = ctx.target
    values = plan_values(ValuesInputs(
        fork_defaults=fork_defaults,
        env_user=env_user,
        origin_defaults=origin,
        central_defaults=target.values,
        rules=rules,
        fork_name=chart.name,
        central_name=target.name,
        fork_app_version=chart.app_version,
        policy=ctx.policy,
        name_key=ctx.name_key,
        app_version_key=ctx.app_version_key,
        flag_paths=_flag_paths(chart.environments),
    ))
    return _ChartWork(chart, fork, found, rules, values, env_user, texts)


def _flag_paths(envs: Sequence[Environment]) -> frozenset[str]:
    """Keys every environment sets with --set flags (they stay flags)."""
    sets = [{f.key for f in e.set_flags} for e in envs]
    return frozenset(set.intersection(*sets)) if sets else frozenset()


def _flag_values(flags: Sequence[SetFlag], rules: Sequence[Rule]) -> dict[str, Any]:
    """--set flags as values; a dynamic value renders as its literal text on both sides."""
    merged: dict[str, Any] = {}
    for flag in flags:
        if flag.kind == "set-file":
            continue
        merged = tree.merge(merged, render.parse_set(flag.kind, f"{flag.key}={flag.value}"))
    return translate(merged, rules).values if rules else merged


def _verify_env(work: _ChartWork, env: Environment, ctx: Context) -> EnvResult:
    """Render the fork and the migrated deploy for one environment and compare them."""
    result = EnvResult(name=env.name, release=env.release, namespace=env.namespace,
                       values_files=(), values=work.values.envs.get(env.name, {}), differences=())
    try:
        fork_values = tree.merge(work.env_user.get(env.name, {}),
                                 _flag_values(env.set_flags, ()))
        before = _render(work.fork, fork_values, env, f"{work.chart.path}")
    except RenderError as exc:
        return replace(result, error=f"does not render: {exc}")
    flags = _flag_values(env.set_flags, work.rules)
    current = tree.merge(work.values.base, work.values.envs.get(env.name, {}))
    try:
        after = _render(ctx.target, tree.merge(current, flags), env, ctx.target.name)
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
            trial_after = _render(ctx.target, tree.merge(trial, flags), env, ctx.target.name)
        except RenderError:
            break
        trial_diffs = manifests.compare(before, trial_after, ctx.cosmetic_keys)
        if _badness(trial_diffs) >= _badness(diffs):
            break
        _record_repairs(work, env.name, proposals)
        current, after, diffs = trial, trial_after, trial_diffs
    return replace(
        result,
        values=_env_part(current, work.values.base),
        differences=tuple(diffs),
        kpis_before=kpi.evaluate(manifests.objects_of(before)),
        kpis_after=kpi.evaluate(manifests.objects_of(after)),
    )


def _render(chart: LoadedChart, values: Mapping[str, Any], env: Environment,
            origin: str) -> manifests.Rendered:
    rendered = render.render(chart, values, release=env.release, namespace=env.namespace,
                             origin=origin)
    return manifests.index(render.parse_manifests(rendered), env.namespace)


def _worth_repairing(diffs: Sequence[Difference]) -> bool:
    return any(d.diff_class is not DiffClass.COSMETIC for d in diffs)


def _badness(diffs: Sequence[Difference]) -> tuple[int, int]:
    return (sum(1 for d in diffs if d.diff_class is DiffClass.DESTRUCTIVE),
            sum(len(d.paths) or 1 for d in diffs if d.diff_class is not DiffClass.COSMETIC))


def _record_repairs(work: _ChartWork, env: str, proposals: Sequence[repair.Proposal]) -> None:
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


def _hoist_repairs(work: _ChartWork, envs: tuple[EnvResult, ...], ctx: Context
                   ) -> tuple[EnvResult, ...]:
    """A repair every environment needed belongs in the base file, said once."""
    if not work.repairs:
        return envs
    env_names = {e.name for e in envs if e.error is None}
    by_path: dict[tuple[str, str], set[str]] = {}
    for d in work.repairs:
        by_path.setdefault((d.path, json.dumps(d.value, sort_keys=True)), set()).add(d.env or "")
    hoisted: list[ValueDecision] = []
    base = work.values.base
    for d in work.repairs:
        key = (d.path, json.dumps(d.value, sort_keys=True))
        if by_path[key] >= env_names and all(h.path != d.path for h in hoisted):
            hoisted.append(replace(d, env=None))
            base = repair.apply(base, [repair.Proposal(d.path, d.value, d.note)])
    kept = [d for d in work.repairs
            if (d.path, json.dumps(d.value, sort_keys=True)) not in
            {(h.path, json.dumps(h.value, sort_keys=True)) for h in hoisted}]
    work.repairs[:] = [*hoisted, *kept]
    new_envs = []
    for e in envs:
        if e.error is not None:
            new_envs.append(e)
            continue
        full = tree.merge(work.values.base, work.values.envs.get(e.name, {}))
        full = tree.merge(full, e.values)
        new_envs.append(replace(e, values=_env_part(full, base)))
    work.values = replace(work.values, base=base,
                          envs={e.name: e.values for e in new_envs if e.values})
    return tuple(new_envs)


# --- verdict -----------------------------------------------------------------------------


def _verdict(chart: EmbeddedChart, found: Lineage | None, envs: Sequence[EnvResult]
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


# --- change set --------------------------------------------------------------------------


def _written_files(env: EnvResult, values_dir: str) -> tuple[str, ...]:
    """The values files the migrated deploy passes for this environment, in order."""
    files = [f"{values_dir}/values.yaml"]
    if env.values:
        files.append(f"{values_dir}/values-{env.name}.yaml")
    return tuple(files)


def _values_dir(chart_name: str, many: bool, ctx: Context) -> str:
    return f"{ctx.values_dir}/{chart_name}" if many else ctx.values_dir


def _writes(workdir: Path, charts: Sequence[ChartPlan], located: Located, ctx: Context
            ) -> dict[str, bytes | None]:
    writes: dict[str, bytes | None] = {}
    many = len(charts) > 1
    for chart, embedded in zip(charts, located.charts, strict=True):
        if chart.values is None:
            continue
        writes[chart.path] = None
        for env in embedded.environments:
            for f in env.values_files:
                writes[f] = None
        directory = _values_dir(chart.name, many, ctx)
        rules = _rules_for(chart, ctx)
        decisions = chart.values.decisions
        base_src = _read_opt(workdir, embedded.values_file)
        writes[f"{directory}/values.yaml"] = render_values(
            chart.values.base, base_src, rules, [d for d in decisions if d.env is None],
            header=None).encode()
        for env in embedded.environments:
            content = chart.values.envs.get(env.name)
            if not content:
                continue
            src = _read_opt(workdir, env.values_files[-1] if env.values_files else None)
            writes[f"{directory}/values-{env.name}.yaml"] = render_values(
                content, src, rules, [d for d in decisions if d.env == env.name]).encode()
    return writes


def _rules_for(chart: ChartPlan, ctx: Context) -> tuple[Rule, ...]:
    if chart.lineage is None:
        return ()
    steps = chain(ctx.mappings, chart.lineage.chart, chart.lineage.version, ctx.target_version)
    return tuple(r for m in steps for r in m.rules)


def _read_opt(workdir: Path, rel: str | None) -> str | None:
    if not rel:
        return None
    try:
        return (workdir / rel).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _plan_hash(plan: RepoPlan, ctx: Context) -> str:
    """Changes when the inputs or what would be proposed change: drives idempotent apply."""
    digest = hashlib.sha256()
    for part in (plan.commit or "", plan.patch or "", plan.verdict.value,
                 ctx.catalog.central, ctx.target_version, __version__):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]
