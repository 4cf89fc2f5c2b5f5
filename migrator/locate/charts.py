"""Find every embedded chart of a repository, its values files, and how it is deployed."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from migrator import yamlguard
from migrator.errors import RepoError
from migrator.locate.refs import points_at, values_paths
from migrator.locate.refs.lenient import HELM
from migrator.locate.refs.yamlpos import load_text, read_text
from migrator.model import (
    EmbeddedChart,
    Environment,
    HelmInvocation,
    Kind,
    Notice,
    Outcome,
)

_SKIP_DIRS = {".git", "node_modules", "vendor", ".terraform", "__pycache__"}
DEPLOYING = frozenset({"upgrade", "install"})  # subcommands that deploy a release

# Environment-specific values files, relative to the chart or to the repository root.
_ENV_PATTERNS = (
    re.compile(r"^(?:.*/)?values[-._](?P<env>[A-Za-z0-9_-]+)\.ya?ml$"),
    re.compile(r"^(?:.*/)?values/(?P<env>[A-Za-z0-9_-]+)\.ya?ml$"),
    re.compile(r"^(?:.*/)?(?:env|envs|environments)/(?P<env>[A-Za-z0-9_-]+)/values\.ya?ml$"),
)
_NOT_ENVS = {"schema", "default", "defaults", "common"}
# Names a values file beside a chart takes when it is an environment's (`chart/stage.yaml`).
WELL_KNOWN_ENVS = frozenset({
    "dev", "develop", "development", "test", "testing", "qa", "stage", "staging", "preprod",
    "prerelease", "uat", "prod", "production", "live", "sandbox", "demo",
})
_ENV_FILE = re.compile(r"^(?:.*/)?(?P<env>[A-Za-z0-9_-]+)\.ya?ml$")


@dataclass(frozen=True)
class Located:
    charts: tuple[EmbeddedChart, ...]
    references: tuple[HelmInvocation, ...]  # deploy commands that point at an embedded chart
    central_references: tuple[HelmInvocation, ...]  # ... that already point at the central one
    wrappers: tuple[str, ...]  # Chart.yaml files that only depend on the central chart
    notices: tuple[Notice, ...] = ()  # what was odd in reading the charts' own files


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


@dataclass(frozen=True)
class ChartYaml:
    """A Chart.yaml as Helm reads it: its metadata, or why Helm would refuse it."""

    meta: dict[str, Any]
    problem: Outcome | None = None
    notices: tuple[Notice, ...] = ()


def read_chart_yaml(repo: Path, rel: str) -> ChartYaml:
    try:
        loaded = load_text(read_text(repo, rel), rel, HELM)
    except RepoError as exc:
        return ChartYaml({}, _invalid(exc.cause, exc.file or rel, exc.line))
    data = loaded.docs[0] if loaded.docs else None
    if not isinstance(data, dict):
        return ChartYaml({}, _invalid("Chart.yaml is not a mapping", rel, None), loaded.notices)
    version = data.get("version")
    line = _version_line(data)
    if version is None or str(version).strip() == "":
        return ChartYaml(data, _invalid("chart.metadata.version is required", rel, line),
                         loaded.notices)
    if "{{" in str(version):
        return ChartYaml(data, _invalid(
            f"chart.metadata.version {str(version)!r} is a template: Helm does not render "
            "Chart.yaml, something must write the version before it runs", rel, line),
            loaded.notices)
    return ChartYaml(data, None, loaded.notices)


def _values_refused(repo: Path, rel: str | None) -> Outcome | None:
    """A values.yaml past `yamlguard`'s limits (an alias bomb, thousands of nested brackets),
    refused before Helm or anything else reads it."""
    if rel is None:
        return None
    try:
        yamlguard.check_text(read_text(repo, rel))
    except yamlguard.YamlLimitError as exc:
        refusal = yamlguard.refused(rel, exc)
        return _invalid(refusal.cause, rel, refusal.line)
    except RepoError:
        return None  # unreadable: Helm says how
    return None


def _invalid(detail: str, file: str, line: int | None) -> Outcome:
    return Outcome(Kind.CHART_INVALID, detail=detail, file=file, line=line)


def _version_line(data: dict[str, Any]) -> int | None:
    """The line of `version:`, else of `name:` (where a missing version belongs)."""
    for key in ("version", "name"):
        line = getattr(data.get(key), "line", None)
        if line is not None:
            return int(line)
    return None


def locate(repo: Path, refs: Sequence[HelmInvocation], central_name: str) -> Located:
    files = list(walk(repo))
    chart_dirs = _chart_dirs(files)
    charts: list[EmbeddedChart] = []
    wrappers: list[str] = []
    used: list[HelmInvocation] = []
    notices: list[Notice] = []
    for chart_dir in chart_dirs:
        rel_chart_yaml = _join(chart_dir, "Chart.yaml")
        read = read_chart_yaml(repo, rel_chart_yaml)
        notices.extend(read.notices)
        meta = read.meta
        deps = tuple(str(d.get("name")) for d in meta.get("dependencies") or []
                     if isinstance(d, dict))
        if central_name in deps and not _has_templates(files, chart_dir):
            wrappers.append(rel_chart_yaml)
            continue
        chart_refs = [r for r in refs if points_at(r, chart_dir, repo)]
        used.extend(chart_refs)
        embedded = _embedded(repo, files, chart_dir, meta, chart_refs, deps)
        problem = read.problem or _values_refused(repo, embedded.values_file)
        charts.append(replace(embedded, problem=problem) if problem else embedded)
    central_refs = tuple(r for r in refs if r not in used and _names_central(r, central_name))
    return Located(tuple(charts), tuple(used), central_refs, tuple(wrappers), tuple(notices))


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
    # A values file chosen at run time ("values-$ENV.yaml"), rendered by helmfile, or absent
    # from the repository cannot be read: environments come from the commands that name files
    # the repository has (a command with run-time files is still rewritten like the others).
    readable = [r for r in refs if _values_known(r, files)]
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
    for f in _bare_env_files(files, chart_dir):
        by_env.setdefault(_bare_env(f) or "", []).append(f)
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
    if value_files:  # the deploy's own values file names it, whatever its name (`stage.yaml`)
        stem = _ENV_FILE.match(value_files[-1])
        if stem and stem.group("env").lower() not in ("values", *_NOT_ENVS):
            return stem.group("env")
    context = ref.context
    if ref.source == "github-actions":  # workflow/job/step: the job says what it deploys
        context = (context.split("/") + ["", ""])[1]
    context = re.sub(r"(^|[-_:])(deploy|release|helm|upgrade)([-_:]|$)", r"\1\3", context)
    return context.strip("-_:") or "default"


def _values_known(ref: HelmInvocation, files: Sequence[str]) -> bool:
    present = set(files)
    return not any("$" in f or "{{" in f or f.endswith(".gotmpl") or f not in present
                   for f in values_paths(ref))


def _bare_env(path: str) -> str | None:
    match = _ENV_FILE.match(path)
    env = match.group("env") if match else None
    return env if env is not None and env.lower() in WELL_KNOWN_ENVS else None


def _bare_env_files(files: Sequence[str], chart_dir: str) -> list[str]:
    """YAML files named after a well-known environment (`stage.yaml`, `prod.yml`) in the chart's
    folder or beside it (not at the repository root, where they are anything)."""
    parent = str(PurePosixPath(chart_dir).parent)
    folders = {chart_dir} | ({parent} if chart_dir not in ("", ".") and parent != "." else set())
    return [f for f in files
            if str(PurePosixPath(f).parent) in folders and _bare_env(f) is not None
            and env_of_file(f) is None]


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
