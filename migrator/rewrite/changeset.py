"""The change set of one chart: its values files and every deploy that references it.

Values files are written by editing the fork's own files (comments, order and quoting kept);
deploy references are rewritten by reference style. The embedded chart and the values files it
deployed with are removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from migrator.locate.charts import env_for_ref
from migrator.locate.refs import points_at
from migrator.mapping import Rule
from migrator.model import EmbeddedChart, EnvResult, HelmInvocation, RepoRef, ValuesPlan
from migrator.rewrite.engine import rewrite_references
from migrator.rewrite.target import ArgoTarget, CiInclude, RewriteResult, RewriteTarget, Style
from migrator.rewrite.wrapper import nest_values
from migrator.values.files import render_values


@dataclass(frozen=True)
class Destination:
    """Where and how a migrated chart is referenced: the run's reference settings."""

    style: Style
    chart_ref: str  # how deploys name the central chart
    chart_name: str  # the central chart's name
    version: str  # the target version
    ci_include: CiInclude | None = None
    argocd: ArgoTarget | None = None


def values_dir_for(base_dir: str, chart_name: str, many: bool) -> str:
    """Where a chart's migrated values files go: one folder per chart when a repo has several."""
    return f"{base_dir}/{chart_name}" if many else base_dir


def written_files(env: EnvResult, values_dir: str) -> tuple[str, ...]:
    """The values files the migrated deploy passes for this environment, in order."""
    files = [f"{values_dir}/values.yaml"]
    if env.values:
        files.append(f"{values_dir}/values-{env.name}.yaml")
    return tuple(files)


def values_writes(workdir: Path, chart: EmbeddedChart, values: ValuesPlan, values_dir: str,
                  rules: Sequence[Rule], style: Style) -> dict[str, bytes | None]:
    """The values half of the change set: the embedded chart and its values files go, the
    migrated values files come (nested under the alias in the `dependency` style)."""
    writes: dict[str, bytes | None] = {path: None for path in chart_removal(chart.path)}
    for env in chart.environments:
        for f in env.values_files:
            writes[f] = None
    files: list[tuple[str, dict[str, Any], str | None, str | None]] = [
        ("values.yaml", values.base, chart.values_file, None)]
    for env in chart.environments:
        if values.envs.get(env.name):
            files.append((f"values-{env.name}.yaml", values.envs[env.name],
                          env.values_files[-1] if env.values_files else None, env.name))
    for name, content, source, env_key in files:
        decisions = [d for d in values.decisions if d.env == env_key]
        if style == "dependency":
            text = render_values(nest_values(content, chart.name), None)
        else:
            text = render_values(content, _read_opt(workdir, source), rules, decisions)
        writes[f"{values_dir}/{name}"] = text.encode()
    return writes


# What Helm reads as a chart. A chart at the repository root shares it with everything else
# (README, sources, CI): only these go.
_CHART_PARTS = ("Chart.yaml", "Chart.lock", "values.yaml", "values.schema.json",
                "requirements.yaml", "requirements.lock", ".helmignore", "templates", "charts",
                "crds")


def chart_removal(chart_path: str) -> tuple[str, ...]:
    """The paths removing the embedded chart deletes: its folder, or the chart's own files when
    it sits at the repository root."""
    if chart_path.strip("/") in ("", "."):
        return _CHART_PARTS
    return (chart_path,)


def _read_opt(workdir: Path, rel: str | None) -> str | None:
    if not rel:
        return None
    try:
        # bytes, not text mode: a CRLF values file is written back with CRLF
        return (workdir / rel).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def rewrite_deploys(root: Path, repo: RepoRef, refs: Sequence[HelmInvocation],
                    chart: EmbeddedChart, envs: Sequence[EnvResult], to: Destination
                    ) -> RewriteResult:
    """Point every deploy of `chart` among `refs` (found in `root`) at the central chart."""
    chart_values = chart.values_file or ""
    env_values = {e.name: e.values_files for e in envs}
    env_of = {(r.file, r.line): env_for_ref(r, chart.environments, chart_values)
              for r in refs if points_at(r, chart.path, root)}
    target = RewriteTarget(
        style=to.style,
        chart_path=chart.path,
        chart_ref=to.chart_ref,
        chart_name=to.chart_name,
        version=to.version,
        env_values=env_values,
        # A command whose environment is not one of the chart's (a `helm template` check job)
        # is left to the rewrite's own rules (the only environment, or the job's).
        env_of={k: v for k, v in env_of.items() if v in env_values},
        ci_include=to.ci_include,
        argocd=replace(to.argocd or ArgoTarget(repo_url=""), repo_url=repo.web_url or repo.url),
        app_name=chart.name,
    )
    return rewrite_references(root, refs, target)
