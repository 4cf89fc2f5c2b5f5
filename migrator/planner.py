"""Plan one repository: locate -> lineage -> values -> verify -> change set.

Takes a checked-out repository (the clone cache) and the run's shared context; returns a RepoPlan.
Nothing here writes outside a temporary directory, and nothing from the repository is executed:
charts are rendered by Helm's template engine, deploy files are parsed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from migrator import __version__, git, kpi, tree
from migrator.chart import lineage as lineage_stage
from migrator.chart import manifests, render, repair
from migrator.chart.central import Catalog
from migrator.chart.locate import Located, env_for_ref, locate
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
    HelmInvocation,
    Lineage,
    RepoPlan,
    RepoRef,
    SetFlag,
    ValueDecision,
    ValueReason,
    ValuesPlan,
    Verdict,
)
from migrator.refs import find_references, points_at
from migrator.rewrite import (
    ArgoTarget,
    CiInclude,
    RewriteResult,
    RewriteTarget,
    Style,
    nest_values,
    rewrite_references,
)
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
    style: Style = "values-only"
    chart_ref: str = "oci://registry.example.com/charts/app-template"
    ci_include: CiInclude | None = None
    argocd: ArgoTarget | None = None

    @property
    def target(self) -> LoadedChart:
        return self.catalog.get(self.target_version)


@dataclass
class _ChartWork:
    """One chart while the stages work on it: what verify may still repair, and its result."""

    chart: EmbeddedChart
    result: ChartPlan
    values_dir: str
    fork: LoadedChart | None = None
    rules: tuple[Rule, ...] = ()
    values: ValuesPlan | None = None
    env_user: dict[str, dict[str, Any]] = field(default_factory=dict)
    repairs: list[ValueDecision] = field(default_factory=list)
    before: dict[str, manifests.Rendered] = field(default_factory=dict)  # env -> fork render

    def prepared(self) -> tuple[LoadedChart, ValuesPlan]:
        if self.fork is None or self.values is None:
            raise RuntimeError(f"{self.chart.path}: used before it was prepared")
        return self.fork, self.values


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
    works = [_plan_chart(workdir, chart, ctx, _values_dir(chart.name, many, ctx))
             for chart in located.charts]
    writes = _values_writes(workdir, works, ctx)
    rewritten = _rewrite_all(workdir, repo, refs, works, writes, ctx)
    charts = tuple(w.result for w in works)
    worst = max(charts, key=lambda c: c.verdict.rank)
    reason = worst.reason if len(charts) == 1 else f"{worst.path}: {worst.reason}"
    untouched = {(r.file, r.line) for rw in rewritten for r, _ in rw.untouched}
    references = tuple(replace(r, rewritable=False) if (r.file, r.line) in untouched else r
                       for r in refs if r in located.references or (r.file, r.line) in untouched)
    patch = None
    if worst.verdict in (Verdict.READY, Verdict.REVIEW) or (
            ctx.force and worst.verdict is Verdict.BLOCKED):
        for rw in rewritten:
            writes.update(rw.writes)
        patch = git.patch_for(workdir, writes) or None
    notes = tuple(n for rw in rewritten for n in rw.notes)
    plan = RepoPlan(repo, commit, worst.verdict, reason, charts, references, patch, notes=notes)
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
                ) -> _ChartWork:
    base = ChartPlan(path=chart.path, name=chart.name, verdict=Verdict.ERROR, reason="",
                     release=chart.environments[0].release if chart.environments else None,
                     file_count=chart.file_count, line_count=chart.line_count,
                     app_version=chart.app_version,
                     source_values_files=_source_files(chart))
    work = _ChartWork(chart, base, values_dir)
    try:
        _prepare(workdir, work, ctx)
    except RepoError as exc:
        work.result = replace(base, verdict=Verdict.ERROR, reason=str(exc))
        return work
    except RenderError as exc:
        work.result = replace(base, verdict=Verdict.BLOCKED, reason=f"does not render: {exc}")
        return work
    envs = tuple(_verify_env(work, env, ctx) for env in chart.environments)
    envs = _hoist_repairs(work, envs)
    envs = tuple(replace(e, values_files=_written_files(e, values_dir)) for e in envs)
    _, planned = work.prepared()
    values = replace(planned, decisions=(*planned.decisions, *work.repairs))
    verdict, reason, findings = _verdict(chart, work.result.lineage, envs)
    work.result = replace(work.result, verdict=verdict, reason=reason, values=values,
                          environments=envs, findings=findings)
    return work


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


def _prepare(workdir: Path, work: _ChartWork, ctx: Context) -> None:
    chart = work.chart
    base_text = _read_text(workdir, chart.values_file) if chart.values_file else None
    fork_defaults = (render.parse_values(base_text, chart.values_file)
                     if base_text and chart.values_file else {})
    env_user: dict[str, dict[str, Any]] = {}
    for env in chart.environments:
        merged: dict[str, Any] = {}
        for rel in env.values_files:
            text = _read_text(workdir, rel, env.release_source)
            merged = tree.merge(merged, render.parse_values(text, rel))
        # Static --set values move into the values files; dynamic ones stay flags.
        env_user[env.name] = tree.merge(merged, _flag_values(_static(env.set_flags), ()))
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
    work.fork, work.rules, work.values, work.env_user = fork, rules, values, env_user
    work.result = replace(work.result, lineage=found)


def _static(flags: Sequence[SetFlag]) -> list[SetFlag]:
    return [f for f in flags if not f.dynamic and f.kind != "set-file"]


def _dynamic(flags: Sequence[SetFlag]) -> list[SetFlag]:
    return [f for f in flags if f.dynamic]


def _flag_paths(envs: Sequence[Environment]) -> frozenset[str]:
    """Keys every environment sets with dynamic --set flags (they stay flags)."""
    sets = [{f.key for f in _dynamic(e.set_flags)} for e in envs]
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
    fork, planned = work.prepared()
    result = EnvResult(name=env.name, release=env.release, namespace=env.namespace,
                       values_files=(), values=planned.envs.get(env.name, {}), differences=())
    try:
        fork_values = tree.merge(work.env_user.get(env.name, {}),
                                 _flag_values(_dynamic(env.set_flags), ()))
        before = _render(fork, fork_values, env, f"{work.chart.path}")
    except RenderError as exc:
        return replace(result, error=f"does not render: {exc}")
    work.before[env.name] = before
    flags = _flag_values(_dynamic(env.set_flags), work.rules)
    current = tree.merge(planned.base, planned.envs.get(env.name, {}))
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
        values=_env_part(current, planned.base),
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


def _hoist_repairs(work: _ChartWork, envs: tuple[EnvResult, ...]) -> tuple[EnvResult, ...]:
    """A repair every environment needed belongs in the base file, said once."""
    _, planned = work.prepared()
    if not work.repairs:
        return envs
    env_names = {e.name for e in envs if e.error is None}
    by_path: dict[tuple[str, str], set[str]] = {}
    for d in work.repairs:
        by_path.setdefault((d.path, json.dumps(d.value, sort_keys=True)), set()).add(d.env or "")
    hoisted: list[ValueDecision] = []
    base = planned.base
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
        full = tree.merge(planned.base, planned.envs.get(e.name, {}))
        full = tree.merge(full, e.values)
        new_envs.append(replace(e, values=_env_part(full, base)))
    work.values = replace(planned, base=base,
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


def _values_writes(workdir: Path, works: Sequence[_ChartWork], ctx: Context
                  ) -> dict[str, bytes | None]:
    """The values half of the change set: embedded charts and their values files go, the
    migrated values files come (nested under the alias in the `dependency` style)."""
    writes: dict[str, bytes | None] = {}
    for work in works:
        chart, embedded = work.result, work.chart
        if chart.values is None:
            continue
        writes[chart.path] = None
        for env in embedded.environments:
            for f in env.values_files:
                writes[f] = None
        rules = _rules_for(chart, ctx)
        files: list[tuple[str, dict[str, Any], str | None, str | None]] = [
            ("values.yaml", chart.values.base, embedded.values_file, None)]
        for env in embedded.environments:
            if chart.values.envs.get(env.name):
                files.append((f"values-{env.name}.yaml", chart.values.envs[env.name],
                              env.values_files[-1] if env.values_files else None, env.name))
        for name, content, source, env_key in files:
            decisions = [d for d in chart.values.decisions if d.env == env_key]
            if ctx.style == "dependency":
                text = render_values(nest_values(content, embedded.name), None)
            else:
                text = render_values(content, _read_opt(workdir, source), rules, decisions)
            writes[f"{work.values_dir}/{name}"] = text.encode()
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


# --- deploy references -------------------------------------------------------------------


def _rewrite_all(workdir: Path, repo: RepoRef, refs: Sequence[HelmInvocation],
                 works: Sequence[_ChartWork], writes: Mapping[str, bytes | None], ctx: Context
                 ) -> list[RewriteResult]:
    """Rewrite the deploys of each chart in turn. With several charts, each later chart is
    rewritten in a scratch copy that holds the earlier charts' edits, so that two charts
    deployed from one file end up in one consistent file."""
    results = [_rewrite(workdir, repo, refs, works[0], writes, ctx)]
    if len(works) == 1:
        return results
    with tempfile.TemporaryDirectory(prefix="migrator-rewrite-") as tmp:
        scratch = Path(tmp) / "repo"
        shutil.copytree(workdir, scratch, symlinks=True, ignore=shutil.ignore_patterns(".git"))
        for work in works[1:]:
            _apply(scratch, results[-1].writes)
            results.append(_rewrite(scratch, repo, find_references(scratch), work, writes, ctx))
    merged: dict[str, bytes | None] = {}
    for result in results:
        merged.update(result.writes)  # a later chart's edit of a file includes the earlier ones
    return [replace(results[0], writes=merged), *(replace(r, writes={}) for r in results[1:])]


def _apply(root: Path, writes: Mapping[str, bytes | None]) -> None:
    for rel, content in writes.items():
        target = root / rel
        if content is None:
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)


def _rewrite(workdir: Path, repo: RepoRef, refs: Sequence[HelmInvocation], work: _ChartWork,
             writes: Mapping[str, bytes | None], ctx: Context) -> RewriteResult:
    """Point every deploy of this chart at the central chart, then render each rewritten deploy
    as it will run and fold what it changes into the verdict."""
    chart = work.result
    if chart.values is None or chart.verdict in (Verdict.ERROR, Verdict.SKIPPED):
        return RewriteResult({}, (), ())
    embedded = work.chart
    chart_values = embedded.values_file or ""
    env_values = {e.name: e.values_files for e in chart.environments}
    env_of = {(r.file, r.line): env_for_ref(r, embedded.environments, chart_values)
              for r in refs if points_at(r, embedded.path, workdir)}
    target = RewriteTarget(
        style=ctx.style,
        chart_path=embedded.path,
        chart_ref=ctx.chart_ref,
        chart_name=ctx.catalog.central,
        version=ctx.target_version,
        env_values=env_values,
        # A command whose environment is not one of the chart's (a `helm template` check job)
        # is left to the rewrite's own rules (the only environment, or the job's).
        env_of={k: v for k, v in env_of.items() if v in env_values},
        ci_include=ctx.ci_include,
        argocd=replace(ctx.argocd or ArgoTarget(repo_url=""),
                       repo_url=repo.web_url or repo.url),
        app_name=embedded.name,
    )
    try:
        result = rewrite_references(workdir, refs, target)
    except RepoError as exc:
        work.result = replace(chart, verdict=Verdict.ERROR, reason=f"rewrite failed: {exc}")
        return RewriteResult({}, (), ())
    extra = _verify_deploys(work, result, writes, workdir, ctx)
    _fold(work, extra, result)
    return result


def _verify_deploys(work: _ChartWork, result: RewriteResult,
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
            text = content.decode() if content is not None else _read_text(workdir, rel)
            values = tree.merge(values, render.parse_values(text, rel))
        if ctx.style == "dependency":
            values = values.get(work.chart.name, {})
        values = tree.merge(values, _flag_values(dep.set_flags, work.rules))
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
                                         _flag_values(_dynamic(env.set_flags), ()))
                before = _render(fork, fork_values, deploy_env, work.chart.path)
            after = _render(ctx.target, values, deploy_env, ctx.target.name)
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


def _fold(work: _ChartWork, extra: Mapping[str, list[Difference]], result: RewriteResult
          ) -> None:
    chart = work.result
    envs = tuple(replace(e, differences=(*e.differences, *extra.get(e.name, ())))
                 for e in chart.environments)
    verdict, reason, findings = _verdict(work.chart, chart.lineage, envs)
    if verdict is Verdict.READY and result.untouched:
        ref, why = result.untouched[0]
        verdict = Verdict.REVIEW
        reason = (f"{len(result.untouched)} deploy reference(s) left for a person: "
                  f"{ref.file}:{ref.line} ({why})")
    if chart.verdict is Verdict.BLOCKED and chart.reason.startswith(("does not render", "prod")):
        return
    work.result = replace(chart, environments=envs, verdict=verdict, reason=reason,
                          findings=findings or chart.findings)
