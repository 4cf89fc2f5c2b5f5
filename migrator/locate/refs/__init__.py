"""Locate every place a repository deploys a chart: CI jobs, helmfiles, Argo CD, scripts.

Repositories are data here: files are parsed, never imported or executed.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from migrator.locate.refs.argocd import find_argocd_references
from migrator.locate.refs.gitlabci import find_ci_references
from migrator.locate.refs.helmfile import find_helmfile_references
from migrator.locate.refs.makefile import find_makefile_references
from migrator.locate.refs.python import find_python_references
from migrator.locate.refs.shell import find_shell_references
from migrator.locate.refs.skaffold import find_skaffold_references
from migrator.model import HelmInvocation

__all__ = ["chart_dir", "find_references", "points_at", "values_paths"]

# Sources whose relative paths are read from the declaring file's directory.
_FILE_RELATIVE = ("helmfile", "skaffold", "makefile")


def find_references(repo_root: Path) -> tuple[HelmInvocation, ...]:
    """Every helm command (or declarative release) in the repository's deploy files, in a
    stable order: by file, then line, then context, then environment."""
    found = [
        *find_ci_references(repo_root),
        *find_helmfile_references(repo_root),
        *find_argocd_references(repo_root),
        *find_skaffold_references(repo_root),
        *find_makefile_references(repo_root),
        *find_shell_references(repo_root),
        *find_python_references(repo_root),
    ]
    return tuple(sorted(found, key=lambda r: (r.file, r.line, r.context, r.environment or "")))


def chart_dir(ref: HelmInvocation) -> str | None:
    """The repo-relative directory a local chart reference names, or None for a remote chart
    (`oci://`, `repo/chart`, a URL) or an unresolved one."""
    chart = ref.chart
    if not chart or "://" in chart or "$" in chart or "{{" in chart:
        return None
    base = posixpath.dirname(ref.file) if ref.source in _FILE_RELATIVE else ""
    return posixpath.normpath(posixpath.join(base, chart)).lstrip("/") or "."


def values_paths(ref: HelmInvocation) -> tuple[str, ...]:
    """The reference's values files as repo-relative paths, read the way its tool reads them:
    helmfile and skaffold from the file's directory, Argo CD from the chart path, helm commands
    from the repo root (CI jobs run there; `$CI_PROJECT_DIR/` is already resolved to `./`).
    Files still holding a run-time variable stay as they are, normalised."""
    if ref.source == "argocd" and ref.chart:
        base = ref.chart
    elif ref.source in ("helmfile", "skaffold"):
        base = posixpath.dirname(ref.file)
    else:
        base = ""
    return tuple(posixpath.normpath(posixpath.join(base, f)).lstrip("/") for f in ref.values_files)


def points_at(ref: HelmInvocation, chart_path: str, repo_root: Path | None = None) -> bool:
    """True when the reference deploys the chart at `chart_path` (repo-relative).

    A bare `name/chart` is a repository chart unless that directory exists in the repo, which is
    how helm itself decides.
    """
    resolved = chart_dir(ref)
    if resolved is None:
        return False
    target = posixpath.normpath(chart_path)
    if resolved != target:
        return False
    chart = ref.chart or ""
    looks_remote = not chart.startswith((".", "/")) and chart.count("/") == 1
    if looks_remote and repo_root is not None:
        return (repo_root / resolved).is_dir()
    return True
