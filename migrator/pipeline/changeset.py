"""rewrite: the change set of one repo, the values files and every deploy reference.

Values files are written by editing the fork's own files; deploy references are rewritten by
reference style (migrator.rewrite), each rewritten deploy then verified like an environment.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from migrator.errors import RepoError
from migrator.locate.charts import env_for_ref
from migrator.locate.refs import find_references, points_at
from migrator.model import (
    EnvResult,
    HelmInvocation,
    RepoRef,
    Verdict,
)
from migrator.pipeline.work import ChartWork, Context
from migrator.rewrite import (
    ArgoTarget,
    RewriteResult,
    RewriteTarget,
    nest_values,
    rewrite_references,
)
from migrator.values.files import render_values
from migrator.verify.check import fold, verify_deploys


def written_files(env: EnvResult, values_dir: str) -> tuple[str, ...]:
    """The values files the migrated deploy passes for this environment, in order."""
    files = [f"{values_dir}/values.yaml"]
    if env.values:
        files.append(f"{values_dir}/values-{env.name}.yaml")
    return tuple(files)


def values_dir_for(chart_name: str, many: bool, ctx: Context) -> str:
    return f"{ctx.values_dir}/{chart_name}" if many else ctx.values_dir


def values_writes(workdir: Path, works: Sequence[ChartWork], ctx: Context
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
                text = render_values(content, _read_opt(workdir, source), work.rules, decisions)
            writes[f"{work.values_dir}/{name}"] = text.encode()
    return writes


def _read_opt(workdir: Path, rel: str | None) -> str | None:
    if not rel:
        return None
    try:
        return (workdir / rel).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def rewrite_all(workdir: Path, repo: RepoRef, refs: Sequence[HelmInvocation],
                 works: Sequence[ChartWork], writes: Mapping[str, bytes | None], ctx: Context
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


def _rewrite(workdir: Path, repo: RepoRef, refs: Sequence[HelmInvocation], work: ChartWork,
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
    extra = verify_deploys(work, result, writes, workdir, ctx)
    fold(work, extra, result)
    return result
