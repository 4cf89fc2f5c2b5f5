"""Locate every place a repository deploys a chart: CI jobs, helmfiles, Argo CD, scripts.

Repositories are data here: files are parsed, never imported or executed.
"""

from __future__ import annotations

from pathlib import Path

from migrator.model import HelmInvocation
from migrator.refs.gitlabci import find_ci_references


def find_references(repo_root: Path) -> tuple[HelmInvocation, ...]:
    """Every helm command (or declarative release) in the repository's deploy files, in a
    stable order: by file, then line, then context."""
    found = [*find_ci_references(repo_root)]
    return tuple(sorted(found, key=lambda r: (r.file, r.line, r.context)))
