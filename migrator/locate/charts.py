"""Find every embedded chart of a repository, its values files, and how it is deployed."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from migrator.errors import RepoError, yaml_error
from migrator.locate.refs import points_at, values_paths
from migrator.model import EmbeddedChart, Environment, HelmInvocation

_SKIP_DIRS = {".git", "node_modules", "vendor", ".terraform", "__pycache__"}
DEPLOYING = frozenset({"upgrade", "install"})  # subcommands that deploy a release

# Environment-specific values files, relative to the chart or to the repository root.
_ENV_PATTERNS = (
    re.compile(r"^(?:.*/)?values[-._](?P<env>[A-Za-z0-9_-]+)\.ya?ml$"),
    re.compile(r"^(?:.*/)?values/(?P<env>[A-Za-z0-9_-]+)\.ya?ml$"),
    re.compile(r"^(?:.*/)?(?:env|envs|environments)/(?P<env>[A-Za-z0-9_-]+)/values\.ya?ml$"),
)
_NOT_ENVS = {"schema", "default", "defaults", "common"}


@dataclass(frozen=True)
class Located:
    charts: tuple[EmbeddedChart, ...]
    references: tuple[HelmInvocation, ...]  # deploy commands that point at an embedded chart
    central_references: tuple[HelmInvocation, ...]  # ... that already point at the central one
    wrappers: tuple[str, ...]  # Chart.yaml files that only depend on the central chart


def env_of_file(path: str) -> str | None:
    for pattern in _ENV_PATTERNS:
        match = pattern.match(path)
        if match and match.group("env").lower() not in _NOT_ENVS:
            return match.group("env")
    return None


def walk(repo: Path) -> Iterator[str]:
    """Repo-relative paths of regular files; symlinks are never followed."""
    for root, dirs, files in os.walk(repo, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        rel_root = Path(root).relative_to(repo)
        for name in sorted(files):
            yield (rel_root / name).as_posix()


def read_chart_yaml(repo: Path, rel: str) -> dict[str, Any]:
    try:
        data = YAML(typ="safe", pure=True).load((repo / rel).read_text(encoding="utf-8"))
    except YAMLError as exc:
        raise yaml_error(rel, exc) from exc
    except UnicodeDecodeError as exc:
        raise RepoError(f"{rel}: not a text file") from exc
    if not isinstance(data, dict):
        raise RepoError(f"{rel}: Chart.yaml is not a mapping")
    return data


def locate(repo: Path, refs: Sequence[HelmInvocation], central_name: str) -> Located:
    files = list(walk(repo))
    chart_dirs = _chart_dirs(files)
    charts: list[EmbeddedChart] = []
    wrappers: list[str] = []
    used: list[HelmInvocation] = []
    for chart_dir in chart_dirs:
        rel_chart_yaml = _join(chart_dir, "Chart.yaml")
        meta = read_chart_yaml(repo, rel_chart_yaml)
        deps = tuple(str(d.get("name")) for d in meta.get("dependencies") or []
                     if isinstance(d, dict))
        if central_name in deps and not _has_templates(files, chart_dir):
            wrappers.append(rel_chart_yaml)
            continue
        chart_refs = [r for r in refs if points_at(r, chart_dir, repo)]
        used.extend(chart_refs)
        charts.append(_embedded(repo, files, chart_dir, meta, chart_refs, deps))
    central_refs = tuple(r for r in refs if r not in used and _names_central(r, central_name))
    return Located(tuple(charts), tuple(used), central_refs, tuple(wrappers))


def _join(directory: str, name: str) -> str:
    return name if directory in ("", ".") else f"{directory}/{name}"


def _chart_dirs(files: Sequence[str]) -> list[str]:
    dirs = sorted(str(PurePosixPath(f).parent) for f in files
                  if PurePosixPath(f).name == "Chart.yaml")
    # A chart under another chart's charts/ is a vendored dependency, not a fork.
    return [d for d in dirs if not any(
        d != other and (d + "/").startswith(_join(other, "charts") + "/") for other in dirs)]


def _has_templates(files: Sequence[str], chart_dir: str) -> bool:
    prefix = _join(chart_dir, "templates") + "/"
    return any(f.startswith(prefix) for f in files)


def _names_central(ref: HelmInvocation, central_name: str) -> bool:
    chart = ref.chart or ""
    return chart == central_name or chart.endswith("/" + central_name)


def _embedded(repo: Path, files: Sequence[str], chart_dir: str, meta: dict[str, Any],
              refs: Sequence[HelmInvocation], deps: tuple[str, ...]) -> EmbeddedChart:
    name = str(meta.get("name") or PurePosixPath(chart_dir).name)
    prefix = "" if chart_dir in ("", ".") else chart_dir + "/"
    own = [f for f in files if f.startswith(prefix)]
    lines = 0
    for f in own:
        try:
            lines += (repo / f).read_bytes().count(b"\n")
        except OSError:
            continue
    values_file = _join(chart_dir, "values.yaml")
    app_version = meta.get("appVersion")
    return EmbeddedChart(
        path=chart_dir,
        name=name,
        version=str(meta.get("version", "")),
        app_version=None if app_version is None else str(app_version),
        values_file=values_file if values_file in files else None,
        environments=_environments(files, chart_dir, name, refs, values_file),
        file_count=len(own),
        line_count=lines,
        dependencies=deps,
    )


def _environments(files: Sequence[str], chart_dir: str, name: str,
                  refs: Sequence[HelmInvocation], values_file: str) -> tuple[Environment, ...]:
    # A values file chosen at run time ("values-$ENV.yaml") cannot be read: such a command is
    # rewritten like the others, but environments come from the commands that name their files.
    readable = [r for r in refs if not any("$" in f for f in r.values_files)]
    deploying = [r for r in readable if r.subcommand in DEPLOYING] or readable
    envs: dict[str, Environment] = {}
    for ref in deploying:
        value_files = env_values_files(ref, values_file)
        if env_for_ref(ref, tuple(envs.values()), values_file) is not None:
            continue  # the same deploy again (a Makefile target next to the CI job)
        env = env_name(ref, value_files)
        if env in envs:
            continue
        envs[env] = Environment(
            name=env,
            values_files=value_files,
            release=ref.release or name,
            release_source=f"{ref.file}:{ref.line}" if ref.release else "assumed: chart name",
            namespace=ref.namespace,
            set_flags=ref.set_flags,
        )
    if envs:
        return tuple(envs.values())
    by_env: dict[str, list[str]] = {}
    for f in _candidate_env_files(files, chart_dir):
        found = env_of_file(f)
        if found:
            by_env.setdefault(found, []).append(f)
    if not by_env:
        return (Environment("default", (), name, "assumed: chart name", None),)
    return tuple(Environment(env, tuple(paths), name, "assumed: chart name", None)
                 for env, paths in sorted(by_env.items()))


def env_for_ref(ref: HelmInvocation, envs: Sequence[Environment], chart_values: str
                ) -> str | None:
    """The environment a command (deploy, diff, template, lint) works on: the one deploying
    the same values files (and, for a deploy, the same release and namespace)."""
    files = env_values_files(ref, chart_values)
    for env in envs:
        if env.values_files != files:
            continue
        if ref.subcommand not in DEPLOYING or (
                (ref.release or env.release, ref.namespace) == (env.release, env.namespace)):
            return env.name
    named = env_name(ref, files)
    return named if any(e.name == named for e in envs) else None


def env_values_files(ref: HelmInvocation, chart_values: str) -> tuple[str, ...]:
    """The values files a deploy passes, without the chart's own values.yaml (a no-op)."""
    return tuple(v for v in values_paths(ref) if v != chart_values)


def env_name(ref: HelmInvocation, value_files: Sequence[str]) -> str:
    """The environment a deploy command targets: from its values files, else its CI
    environment, else its job name."""
    for f in reversed(value_files):
        env = env_of_file(f)
        if env:
            return env
    if ref.environment and "$" not in ref.environment:
        return ref.environment.split("/")[-1]
    context = re.sub(r"(^|[-_:])(deploy|release|helm|upgrade)([-_:]|$)", r"\1\3", ref.context)
    return context.strip("-_:") or "default"


def _candidate_env_files(files: Sequence[str], chart_dir: str) -> list[str]:
    """Per-environment files next to the chart, inside it, or in well-known repo-root dirs."""
    parents = {chart_dir}
    parts = PurePosixPath(chart_dir).parts
    parents.update(str(PurePosixPath(*parts[:i])) if i else "." for i in range(len(parts)))
    found = []
    for f in files:
        if not f.endswith((".yaml", ".yml")) or env_of_file(f) is None:
            continue
        anchor = _env_anchor(f)
        if anchor in parents:
            found.append(f)
    return found


def _env_anchor(f: str) -> str:
    """The directory an environment file belongs to: chart dir for values-prod.yaml,
    the parent of env/ for env/prod/values.yaml."""
    p = PurePosixPath(f)
    if p.parent.parent.name in ("env", "envs", "environments"):
        return str(p.parent.parent.parent)
    if p.parent.name == "values":
        return str(p.parent.parent)
    return str(p.parent)
