"""Plan one repository: locate -> lineage -> values -> verify -> change set.

Takes a checked-out repository (the clone cache) and the run's shared context; returns a RepoPlan.
Nothing here writes outside a temporary directory, and nothing from the repository is executed:
charts are rendered by Helm's template engine, deploy files are parsed.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from migrator import __version__, git, tree
from migrator.errors import MigratorError, RenderError, RepoError
from migrator.lineage import match as lineage_stage
from migrator.locate.charts import Located, locate
from migrator.locate.refs import find_references
from migrator.mapping import Rule, chain
from migrator.model import (
    ChartPlan,
    EmbeddedChart,
    RepoPlan,
    RepoRef,
    Verdict,
)
from migrator.pipeline.changeset import rewrite_all, values_dir_for, values_writes, written_files
from migrator.pipeline.upgrade import outdated, plan_upgrade
from migrator.pipeline.work import ChartWork, Context, flag_paths, flag_values, read_text, static
from migrator.values.extract import ValuesInputs, plan_values
from migrator.verify import render
from migrator.verify.check import decide, hoist_repairs, verify_env


def plan_repo(repo: RepoRef, workdir: Path, ctx: Context, commit: str | None = None
              ) -> RepoPlan:
    """`commit` is the checkout's HEAD when the caller already read it."""
    started = time.monotonic()
    if commit is None:
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
        deploys = outdated(located, ctx)
        if deploys:
            upgraded = plan_upgrade(repo, workdir, commit, deploys, ctx)
            return replace(upgraded, plan_hash=_plan_hash(upgraded, ctx))
        return RepoPlan(repo, commit, Verdict.SKIPPED, _skip_reason(located, ctx),
                        references=located.central_references)
    many = len(located.charts) > 1
    works = [_plan_chart(workdir, chart, ctx, values_dir_for(chart.name, many, ctx))
             for chart in located.charts]
    writes = values_writes(workdir, works, ctx)
    rewritten = rewrite_all(workdir, repo, refs, works, writes, ctx)
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


def _plan_chart(workdir: Path, chart: EmbeddedChart, ctx: Context, values_dir: str
                ) -> ChartWork:
    base = ChartPlan(path=chart.path, name=chart.name, verdict=Verdict.ERROR, reason="",
                     release=chart.environments[0].release if chart.environments else None,
                     file_count=chart.file_count, line_count=chart.line_count,
                     app_version=chart.app_version,
                     source_values_files=_source_files(chart))
    work = ChartWork(chart, base, values_dir)
    try:
        _prepare(workdir, work, ctx)
    except RepoError as exc:
        work.result = replace(base, verdict=Verdict.ERROR, reason=str(exc))
        return work
    except RenderError as exc:
        work.result = replace(base, verdict=Verdict.BLOCKED, reason=f"does not render: {exc}")
        return work
    envs = tuple(verify_env(work, env, ctx) for env in chart.environments)
    envs = hoist_repairs(work, envs)
    envs = tuple(replace(e, values_files=written_files(e, values_dir)) for e in envs)
    _, planned = work.prepared()
    values = replace(planned, decisions=(*planned.decisions, *work.repairs))
    verdict, reason, findings = decide(work.result.lineage, envs)
    work.result = replace(work.result, verdict=verdict, reason=reason, values=values,
                          environments=envs, findings=findings)
    return work


def _source_files(chart: EmbeddedChart) -> tuple[str, ...]:
    files = [chart.values_file] if chart.values_file else []
    for env in chart.environments:
        files.extend(f for f in env.values_files if f not in files)
    return tuple(files)


def _prepare(workdir: Path, work: ChartWork, ctx: Context) -> None:
    chart = work.chart
    base_text = read_text(workdir, chart.values_file) if chart.values_file else None
    fork_defaults = (render.parse_values(base_text, chart.values_file)
                     if base_text and chart.values_file else {})
    env_user: dict[str, dict[str, Any]] = {}
    for env in chart.environments:
        merged: dict[str, Any] = {}
        for rel in env.values_files:
            text = read_text(workdir, rel, env.release_source)
            merged = tree.merge(merged, render.parse_values(text, rel))
        # Static --set values move into the values files; dynamic ones stay flags.
        env_user[env.name] = tree.merge(merged, flag_values(static(env.set_flags), ()))
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
        flag_paths=flag_paths(chart.environments),
    ))
    work.fork, work.rules, work.values, work.env_user = fork, rules, values, env_user
    work.result = replace(work.result, lineage=found)


def _plan_hash(plan: RepoPlan, ctx: Context) -> str:
    """Changes when the inputs or what would be proposed change: drives idempotent apply."""
    digest = hashlib.sha256()
    for part in (plan.commit or "", plan.patch or "", plan.verdict.value,
                 ctx.catalog.central, ctx.target_version, __version__):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]
