"""Locate every place a repository deploys a chart: CI jobs, helmfiles, Argo CD, scripts.

Repositories are data here: files are parsed, never imported or executed. Each deploy file is
read on its own: one that cannot be read (malformed, binary, too big, leaving the repository)
becomes a `Notice(UNREADABLE)` naming it, and every other file is still read.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from libcst import ParserSyntaxError
from ruamel.yaml.error import YAMLError

from migrator.errors import MigratorError
from migrator.locate.refs import (
    argocd,
    githubactions,
    gitlabci,
    helmfile,
    inputs,
    jenkins,
    makefile,
    python,
    shell,
    skaffold,
    taskfile,
)
from migrator.locate.refs.filerefs import FileRefs
from migrator.locate.refs.walk import repo_files
from migrator.model import HelmInvocation, Notice, NoticeKind

__all__ = ["References", "chart_dir", "find_references", "points_at", "run_dir",
           "scan_references", "values_paths", "with_missing_values"]

# Sources whose relative paths are read from the declaring file's directory.
_FILE_RELATIVE = ("helmfile", "skaffold", "makefile")

_Reader = Callable[[Path, str], FileRefs]
# (which files, how to read one): a file may be claimed by several (a YAML file is looked at as
# a helmfile and as an Argo CD manifest)
_SOURCES: tuple[tuple[Callable[[str], bool], _Reader], ...] = (
    (gitlabci.wants, gitlabci.read),
    (githubactions.wants, githubactions.read),
    (helmfile.wants, helmfile.read),
    (argocd.wants, argocd.read),
    (skaffold.wants, skaffold.read),
    (makefile.wants, makefile.read),
    (shell.wants, shell.read),
    (jenkins.wants, jenkins.read),
    (taskfile.wants, taskfile.read),
    (inputs.wants_circleci, inputs.read_circleci),
    (python.wants, python.read),
)
# What a file that cannot be read raises: our own refusals, and the parsers' and the OS's.
_UNREADABLE = (MigratorError, YAMLError, ParserSyntaxError, UnicodeDecodeError, OSError,
               RecursionError)


@dataclass(frozen=True)
class References:
    """The deploys of a repository and what was noticed in reading its files."""

    found: tuple[HelmInvocation, ...]
    notices: tuple[Notice, ...]


def scan_references(repo_root: Path) -> References:
    """Every helm command (or declarative release) in the repository's deploy files, in a
    stable order (by file, then line, then context, then environment), and the notices: files
    that could not be read, files read leniently, references left for a person."""
    found: list[HelmInvocation] = []
    notices: list[Notice] = []
    for rel in repo_files(repo_root):
        for claims, read in _SOURCES:
            if not claims(rel):
                continue
            try:
                got = read(repo_root, rel)
            except _UNREADABLE as exc:
                notices.append(_unreadable(rel, exc))
                continue
            found.extend(got.references)
            notices.extend(got.notices)
    ordered = sorted(found, key=lambda r: (r.file, r.line, r.context, r.environment or ""))
    return References(tuple(ordered), tuple(dict.fromkeys(notices)))


def find_references(repo_root: Path) -> tuple[HelmInvocation, ...]:
    """`scan_references` without the notices."""
    return scan_references(repo_root).found


def _unreadable(rel: str, exc: BaseException) -> Notice:
    if isinstance(exc, MigratorError):
        return Notice(NoticeKind.UNREADABLE, f"{exc.cause}: its deploys are unknown",
                      exc.file or rel, exc.line)
    if isinstance(exc, ParserSyntaxError):
        return Notice(NoticeKind.UNREADABLE, f"not valid Python ({exc.message}): its deploys "
                      "are unknown", rel, exc.raw_line)
    if isinstance(exc, UnicodeDecodeError):
        return Notice(NoticeKind.UNREADABLE, "not a UTF-8 text file: its deploys are unknown", rel)
    if isinstance(exc, RecursionError):
        return Notice(NoticeKind.UNREADABLE, "nested too deep to read: its deploys are unknown",
                      rel)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return Notice(NoticeKind.UNREADABLE, f"cannot be read ({problem}): its deploys are unknown",
                  rel)


def with_missing_values(root: Path, refs: References) -> References:
    """`refs` where a deploy naming a values file the repository does not have (made at run
    time, or gone) is left for a person, with a `Notice(MISSING_FILE)`; the environments of its
    chart come from the other deploys (`locate`)."""
    found: list[HelmInvocation] = []
    notices = list(refs.notices)
    for ref in refs.found:
        absent = [f for f in values_paths(ref)
                  if "$" not in f and "{{" not in f and not (root / f).is_file()]
        if absent:
            ref = replace(ref, rewritable=False, why=(
                f"names a values file the repository does not have ({absent[0]}): made at run "
                "time, or gone"))
            notices.extend(
                Notice(NoticeKind.MISSING_FILE, f"values file {f} does not exist in the "
                       "repository (made at run time?): this deploy is left for a person",
                       ref.file, ref.line)
                for f in absent)
        found.append(ref)
    return References(tuple(found), tuple(dict.fromkeys(notices)))


def run_dir(ref: HelmInvocation) -> str:
    """The repo-relative directory the command runs in ("" for the repository root)."""
    if ref.cwd is not None:
        return "" if ref.cwd == "." else ref.cwd
    return posixpath.dirname(ref.file) if ref.source in _FILE_RELATIVE else ""


def chart_dir(ref: HelmInvocation) -> str | None:
    """The repo-relative directory a local chart reference names, or None for a remote chart
    (`oci://`, `repo/chart`, a URL) or an unresolved one."""
    chart = ref.chart
    if not chart or "://" in chart or "$" in chart or "{{" in chart:
        return None
    return posixpath.normpath(posixpath.join(run_dir(ref), chart)).lstrip("/") or "."


def names_archive(ref: HelmInvocation) -> bool:
    """A packaged chart (`dist/app-$TAG.tgz`) or a `helm push` of one: it was built from a chart
    directory by another command (`helm package ./chart`), which is the use that counts."""
    chart = (ref.chart or "").split("?", 1)[0]
    return ref.subcommand == "push" or chart.endswith((".tgz", ".tar.gz"))


def values_paths(ref: HelmInvocation) -> tuple[str, ...]:
    """The reference's values files as repo-relative paths, read the way its tool reads them:
    helmfile, skaffold and make from the file's directory, Argo CD from the chart path, helm
    commands from where they run (`run_dir`: the repo root unless the file moves elsewhere; CI
    jobs run there, `$CI_PROJECT_DIR/` is already resolved to `./`).
    Files still holding a run-time variable stay as they are, normalised."""
    base = ref.chart if ref.source == "argocd" and ref.chart else run_dir(ref)
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
